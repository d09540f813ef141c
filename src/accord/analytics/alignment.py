"""Alignment of states: how alike their recorded commitments are, the blocs they form, how that changed.

Commitment vector
    One entry per instrument: the state's *standing* on it as of the date asked (its events dated on or before
    that day; the latest event wins, ties by rank — :func:`accord.norms.service.current_status`), scored

    ==========================================  =====
    ratified, acceded                           1.0   bound by a treaty or protocol
    endorsed                                    1.0   the full commitment a political instrument or a set of
                                                      voluntary norms admits
    signed                                      0.5   intent to be bound, not yet bound
    withdrawn, or no record                     0.0
    ==========================================  =====

    plus one entry per provision the state publicly *invoked* (a norm finding it claimed: "incident X breached
    GGE norm (f)") — the only recorded *positions*; score 1.0 once invoked. An event whose date is unknown counts
    from the day its instrument opened for signature (else was adopted): the earliest day it can have happened.

Similarity (weighted Jaccard, also called Ruzicka)
    ``sim(a, b) = Σ_i min(a_i, b_i) / Σ_i max(a_i, b_i)`` — the share of the two states' combined commitment
    that they hold in common, in [0, 1]. Why this one: an instrument neither state is recorded on adds nothing
    (silence is not agreement, and not opposition either — simple matching or Euclidean distance would call two
    states that joined nothing "aligned"); the levels enter linearly (signed vs ratified is half a match); and
    ``1 − sim`` is a metric, which the clustering and the embedding below rely on. Cosine also ignores joint
    absences but is not a metric and has no such reading. When neither state has any recorded commitment the
    similarity is undefined (``None``: "no record"); it counts as 0 for clustering. Every similarity comes with
    ``shared`` — the number of entries both are recorded on (score > 0) — and ``either`` — recorded on by at
    least one: a similarity of 1.0 on one shared instrument says less than on six.

Blocs
    Agglomerative clustering of the distances ``1 − sim`` with average linkage (UPGMA:
    :func:`scipy.cluster.hierarchy.linkage`, ``method="average"``; Ward would need Euclidean distances), cut at
    distance ``cut`` (default 0.5): two groups merge while the mean distance between their members is at most
    ``cut``, i.e. a bloc's sub-groups share on average at least half their commitments. Blocs are numbered by
    size (largest first), ties by their first member's code.

Embedding (for the chart)
    Classical multidimensional scaling (Torgerson): ``B = −½ J D⁽²⁾ J`` with ``J`` the centring matrix, the two
    largest eigenpairs give the coordinates ``v √λ``; ``explained`` is their share of the positive eigenvalues.
    Axes have no meaning of their own; each is oriented so its largest coordinate is positive (deterministic).

Alignment over time
    The same matrix at two dates (``since`` and ``at``); pairs are ranked by ``|sim_at − sim_since|`` (an
    undefined similarity counts as 0), and a state's similarity to chosen partners at several dates.

What the data cannot tell: commitments are recorded per instrument, not per provision (reservations are text);
votes and statements in forums are not recorded; a state with no recorded commitment is not opposed to anything.
Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.linalg
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.core.errors import NotFound
from accord.directory.models import State
from accord.incidents.models import NormFinding
from accord.norms.models import Commitment, Instrument, Provision
from accord.norms.service import current_status

LEVELS = {"ratified": 1.0, "acceded": 1.0, "endorsed": 1.0, "signed": 0.5, "withdrawn": 0.0}
POSITION_LEVEL = 1.0
POSITION_PREFIX = "invoked:"
DEFAULT_CUT = 0.5
LINKAGE = "average"
CHANGES_LIMIT = 25


# ---------------------------------------------------------------- what is recorded


@dataclass(frozen=True)
class Event:
    """One commitment event; ``effective`` is the day it counts from (``None``: always)."""

    state: str
    instrument: str
    status: str
    date: dt.date | None
    effective: dt.date | None


@dataclass(frozen=True)
class Invocation:
    """A state publicly invoked a provision (claimed an incident breached it): a recorded position."""

    state: str
    provision: str  # INSTRUMENT/code
    date: dt.date | None


@dataclass
class Record:
    """Everything alignment reads, loaded once: instruments (code → short name), events and invocations."""

    instruments: dict[str, str]
    events: list[Event]
    invocations: list[Invocation]
    states: list[str] = field(default_factory=list)  # every state of the directory, by code

    @property
    def undated(self) -> int:
        return sum(1 for e in self.events if e.date is None)

    @cached_property
    def _by_state(self) -> dict[str, list[Event]]:
        out: dict[str, list[Event]] = defaultdict(list)
        for e in self.events:
            out[e.state].append(e)
        return out

    def standing(self, at: dt.date | None, states: Iterable[str] | None = None) -> dict[str, dict[str, str]]:
        """state → instrument → status as of ``at`` (``None``: everything recorded), for ``states`` (default:
        every state with a recorded event)."""
        wanted = self._by_state if states is None else {s: self._by_state.get(s, []) for s in states}
        grouped: dict[tuple[str, str], list[tuple[str, dt.date | None]]] = defaultdict(list)
        for events in wanted.values():
            for e in events:
                if at is None or e.effective is None or e.effective <= at:
                    grouped[(e.state, e.instrument)].append((e.status, e.effective))
        out: dict[str, dict[str, str]] = defaultdict(dict)
        for (state, instrument), events in grouped.items():
            status = current_status(events)
            if status is not None:
                out[state][instrument] = status
        return out

    def invoked(self, at: dt.date | None) -> dict[str, set[str]]:
        """state → provisions it invoked on or before ``at`` (undated invocations always count)."""
        out: dict[str, set[str]] = defaultdict(set)
        for i in self.invocations:
            if at is None or i.date is None or i.date <= at:
                out[i.state].add(i.provision)
        return out


def load_record(session: Session) -> Record:
    """Instruments, commitment events, states' invocations of provisions and the directory's state codes."""
    opened: dict[str, dt.date | None] = {}
    names: dict[str, str] = {}
    for code, name, short, opening, adopted in session.execute(
        select(
            Instrument.code, Instrument.name, Instrument.short_name, Instrument.opened_for_signature, Instrument.adopted
        ).order_by(Instrument.code)
    ):
        names[code] = short or name
        opened[code] = opening or adopted
    events = [
        Event(state, inst, status, date, date if date is not None else opened.get(inst))
        for state, inst, status, date in session.execute(
            select(Commitment.state_code, Commitment.instrument_code, Commitment.status, Commitment.date)
        )
    ]
    invocations = [
        Invocation(state, f"{inst}/{code}", date)
        for state, inst, code, date in session.execute(
            select(NormFinding.claimed_by_state, Provision.instrument_code, Provision.code, NormFinding.date)
            .join(Provision, Provision.id == NormFinding.provision_id)
            .where(NormFinding.claimed_by_state.is_not(None))
        )
    ]
    states = list(session.scalars(select(State.code).order_by(State.code)))
    return Record(names, events, invocations, states)


# ---------------------------------------------------------------- vectors and similarity


@dataclass(frozen=True)
class Vectors:
    """The commitment vectors of ``codes`` (rows) over ``features`` (instrument codes, then ``invoked:…``)."""

    at: dt.date | None
    codes: list[str]
    features: list[str]
    values: np.ndarray  # shape (len(codes), len(features))
    statuses: dict[str, dict[str, str]]  # code → instrument → status, for display


def vectors(
    record: Record, codes: Sequence[str], at: dt.date | None = None, features: Sequence[str] | None = None
) -> Vectors:
    """Commitment vectors as of ``at``; ``features`` fixes the columns (default: every instrument, then the
    provisions any of ``codes`` invoked by ``at``)."""
    standing = record.standing(at, codes)
    invoked = record.invoked(at)
    if features is None:
        positions = sorted({p for c in codes for p in invoked.get(c, ())})
        features = list(record.instruments) + [POSITION_PREFIX + p for p in positions]
    column = {f: j for j, f in enumerate(features)}
    values = np.zeros((len(codes), len(features)))
    for i, code in enumerate(codes):
        for instrument, status in standing.get(code, {}).items():
            if instrument in column:
                values[i, column[instrument]] = LEVELS.get(status, 0.0)
        for p in invoked.get(code, ()):
            if POSITION_PREFIX + p in column:
                values[i, column[POSITION_PREFIX + p]] = POSITION_LEVEL
    return Vectors(at, list(codes), list(features), values, {c: dict(standing.get(c, {})) for c in codes})


def weighted_jaccard(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float | None:
    """``Σ min / Σ max`` of two non-negative vectors; ``None`` when both are zero (no record)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    top = float(np.maximum(x, y).sum())
    return None if top == 0 else float(np.minimum(x, y).sum()) / top


def similarity_matrix(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All pairwise weighted-Jaccard similarities (``nan`` where undefined) and shared-entry counts.

    Computed once per distinct vector (many states hold exactly the same commitments), then spread out.
    """
    x = np.asarray(values, dtype=float)
    if x.shape[0] == 0:
        return np.zeros((0, 0)), np.zeros((0, 0), dtype=int)
    distinct, row = np.unique(x, axis=0, return_inverse=True)
    row = row.reshape(-1)
    mins = np.minimum(distinct[:, None, :], distinct[None, :, :]).sum(axis=2)
    maxs = np.maximum(distinct[:, None, :], distinct[None, :, :]).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = np.where(maxs > 0, mins / np.where(maxs > 0, maxs, 1.0), np.nan)
    recorded = distinct > 0
    shared = (recorded[:, None, :] & recorded[None, :, :]).sum(axis=2)
    pick = np.ix_(row, row)
    return sim[pick], shared[pick]


def distances(sim: np.ndarray) -> np.ndarray:
    """``1 − sim``, undefined similarities counting as 0 (distance 1), zero on the diagonal."""
    d = 1.0 - np.nan_to_num(sim, nan=0.0)
    np.fill_diagonal(d, 0.0)
    return np.clip(d, 0.0, 1.0)


# ---------------------------------------------------------------- blocs and embedding


def bloc_labels(sim: np.ndarray, codes: Sequence[str], cut: float = DEFAULT_CUT) -> list[int]:
    """Bloc number (1 = largest) of each state: average-linkage clustering of ``1 − sim`` cut at ``cut``."""
    n = len(codes)
    if n == 0:
        return []
    if n == 1:
        return [1]
    tree = linkage(squareform(distances(sim), checks=False), method=LINKAGE)
    raw = fcluster(tree, t=cut, criterion="distance")
    members: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(raw):
        members[int(label)].append(i)
    order = sorted(members.values(), key=lambda m: (-len(m), min(codes[i] for i in m)))
    labels = [0] * n
    for number, group in enumerate(order, 1):
        for i in group:
            labels[i] = number
    return labels


def embedding(distance: np.ndarray, weights: Sequence[float] | np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Classical MDS in two dimensions: coordinates (n × 2) and the share of the positive eigenvalues kept.

    ``weights`` (multiplicities) give the same coordinates as repeating each point that many times — the
    alignment computes the embedding once per distinct commitment vector, which is much smaller than the
    number of states.
    """
    n = distance.shape[0]
    if n < 2:
        return np.zeros((n, 2)), 1.0
    m = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    w = m / m.sum()
    centring = np.eye(n) - np.outer(np.ones(n), w)  # I − 1wᵀ: centred on the weighted mean
    b = -0.5 * centring @ (distance**2) @ centring.T
    root = np.sqrt(m)
    scaled = root[:, None] * b * root[None, :]  # M½ B M½: symmetric, the eigenvalues of the repeated set
    # SciPy's LAPACK driver: numpy's eigh was 100× slower on these small matrices on a busy machine
    eigenvalues, eigenvectors = scipy.linalg.eigh((scaled + scaled.T) / 2, driver="evr")
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
    positive = eigenvalues[eigenvalues > 1e-9]
    kept = np.clip(eigenvalues[:2], 0.0, None)
    coords = eigenvectors[:, :2] * np.sqrt(kept) / root[:, None]
    if coords.shape[1] < 2:
        coords = np.hstack([coords, np.zeros((n, 2 - coords.shape[1]))])
    for j in range(2):  # orient each axis: its largest coordinate (in absolute value) is positive
        k = int(np.argmax(np.abs(coords[:, j])))
        if coords[k, j] < 0:
            coords[:, j] = -coords[:, j]
    explained = float(kept.sum() / positive.sum()) if positive.size else 1.0
    return coords, explained


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group identical non-zero vectors: (group of each row, first row of each group). Every zero vector is a
    group of its own — two states with no record are not at distance 0 from each other (their similarity is
    undefined, counted as distance 1)."""
    groups = np.empty(len(values), dtype=int)
    first: dict[bytes, int] = {}
    heads: list[int] = []
    for i, row in enumerate(values):
        key = row.tobytes() if row.any() else f"zero-{i}".encode()
        if key not in first:
            first[key] = len(heads)
            heads.append(i)
        groups[i] = first[key]
    return groups, np.asarray(heads, dtype=int)


def embed(values: np.ndarray, sim: np.ndarray) -> tuple[np.ndarray, float]:
    """The embedding of every row of ``values``, computed once per distinct vector."""
    groups, heads = _distinct(values)
    counts = np.bincount(groups, minlength=len(heads))
    coords, explained = embedding(distances(sim[np.ix_(heads, heads)]), counts)
    return coords[groups], explained


# ---------------------------------------------------------------- result shapes


@dataclass(frozen=True)
class StatePoint:
    code: str
    bloc: int
    x: float
    y: float
    recorded: int  # entries of its vector above zero
    statuses: dict[str, str]  # instrument → status as of the date


@dataclass(frozen=True)
class Bloc:
    number: int
    members: list[str]
    cohesion: float | None  # mean pairwise similarity inside the bloc (None for a single state)
    profile: dict[str, float]  # feature → share of members recorded on it (score > 0), most common first


@dataclass(frozen=True)
class PairSimilarity:
    a: str
    b: str
    similarity: float | None
    shared: int
    either: int


@dataclass(frozen=True)
class PairChange:
    a: str
    b: str
    before: float | None
    after: float | None
    change: float


@dataclass(frozen=True)
class StateChange:
    code: str
    mean_change: float  # mean |Δ similarity| to the other states compared
    gained: int  # other states it became more similar to
    lost: int  # … less similar to


@dataclass(frozen=True)
class Alignment:
    """The alignment of a set of states as of ``at``: points for the chart, blocs, the matrix, changes."""

    at: dt.date | None
    since: dt.date | None
    cut: float
    linkage: str
    features: list[str]
    states: list[StatePoint]
    blocs: list[Bloc]
    matrix: list[list[float | None]]  # rows and columns in the order of ``states``
    shared: list[list[int]]
    explained: float
    changes: list[PairChange]
    movers: list[StateChange]  # states whose alignment moved most between ``since`` and ``at``
    no_record: list[str]  # states with no recorded commitment as of ``at``
    undated_events: int


def _value(v: float) -> float | None:
    return None if math.isnan(v) else round(float(v), 4)


def _rounded(matrix: np.ndarray) -> list[list[float | None]]:
    """A similarity matrix as nested lists, 4 places, ``None`` where undefined."""
    out = np.round(matrix, 4).astype(object)
    out[np.isnan(matrix)] = None
    return out.tolist()


def _blocs(codes: Sequence[str], labels: Sequence[int], sim: np.ndarray, vec: Vectors) -> list[Bloc]:
    groups: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        groups[label].append(i)
    out = []
    for number in sorted(groups):
        idx = groups[number]
        inner = [sim[i, j] for k, i in enumerate(idx) for j in idx[k + 1 :]]
        cohesion = _value(float(np.mean(np.nan_to_num(inner, nan=0.0)))) if inner else None
        share = (vec.values[idx] > 0).mean(axis=0)
        profile = {vec.features[j]: round(float(share[j]), 4) for j in np.argsort(-share, kind="stable") if share[j]}
        out.append(Bloc(number, sorted(codes[i] for i in idx), cohesion, profile))
    return out


def movers(
    before: np.ndarray, after: np.ndarray, codes: Sequence[str], limit: int = CHANGES_LIMIT
) -> list[StateChange]:
    """The states whose similarities to the others moved most on average (undefined counts as 0)."""
    n = len(codes)
    if n < 2:
        return []
    delta = np.nan_to_num(after, nan=0.0) - np.nan_to_num(before, nan=0.0)
    np.fill_diagonal(delta, 0.0)
    mean = np.abs(delta).sum(axis=1) / (n - 1)
    order = [i for i in np.lexsort((np.asarray(codes), -mean)) if mean[i] > 1e-9][:limit]
    return [
        StateChange(codes[i], round(float(mean[i]), 4), int((delta[i] > 1e-9).sum()), int((delta[i] < -1e-9).sum()))
        for i in order
    ]


def changes(
    before: np.ndarray, after: np.ndarray, codes: Sequence[str], limit: int = CHANGES_LIMIT
) -> list[PairChange]:
    """The pairs whose similarity moved most between two matrices (undefined counts as 0), largest first."""
    delta = np.nan_to_num(after, nan=0.0) - np.nan_to_num(before, nan=0.0)
    iu = np.triu_indices(len(codes), k=1)
    moved = np.abs(delta[iu])
    picked = [k for k in np.lexsort((iu[1], iu[0], -moved)) if moved[k] > 1e-9][:limit]
    return [
        PairChange(
            codes[iu[0][k]],
            codes[iu[1][k]],
            _value(before[iu[0][k], iu[1][k]]),
            _value(after[iu[0][k], iu[1][k]]),
            round(float(delta[iu[0][k], iu[1][k]]), 4),
        )
        for k in picked
    ]


def alignment_of(
    record: Record,
    codes: Sequence[str],
    *,
    at: dt.date | None = None,
    since: dt.date | None = None,
    cut: float = DEFAULT_CUT,
    changes_limit: int = CHANGES_LIMIT,
) -> Alignment:
    """Similarities, blocs and embedding of ``codes`` as of ``at``; with ``since``, the pairs that moved most."""
    codes = list(dict.fromkeys(codes))
    vec = vectors(record, codes, at)
    sim, shared = similarity_matrix(vec.values)
    labels = bloc_labels(sim, codes, cut)
    coords, explained = embed(vec.values, sim)
    recorded = (vec.values > 0).sum(axis=1)
    points = [
        StatePoint(
            c,
            labels[i],
            round(float(coords[i, 0]), 4),
            round(float(coords[i, 1]), 4),
            int(recorded[i]),
            vec.statuses[c],
        )
        for i, c in enumerate(codes)
    ]
    moved: list[PairChange] = []
    moving: list[StateChange] = []
    if since is not None:
        # both dates over the same columns: the provisions invoked by either date
        columns = list(dict.fromkeys([*vec.features, *vectors(record, codes, since).features]))
        before = similarity_matrix(vectors(record, codes, since, columns).values)[0]
        after = similarity_matrix(vectors(record, codes, at, columns).values)[0]
        moved = changes(before, after, codes, changes_limit)
        moving = movers(before, after, codes, changes_limit)
    return Alignment(
        at=at,
        since=since,
        cut=cut,
        linkage=LINKAGE,
        features=vec.features,
        states=points,
        blocs=_blocs(codes, labels, sim, vec),
        matrix=_rounded(sim),
        shared=shared.astype(int).tolist(),
        explained=round(explained, 4),
        changes=moved,
        movers=moving,
        no_record=[c for i, c in enumerate(codes) if recorded[i] == 0],
        undated_events=record.undated,
    )


def similar_to(found: Alignment, code: str) -> list[PairSimilarity]:
    """Every other state of ``found`` with its similarity to ``code``: most similar first (undefined last)."""
    index = {p.code: i for i, p in enumerate(found.states)}
    if code not in index:
        raise NotFound(f"{code} is not among the states compared")
    i = index[code]
    recorded = {p.code: p.recorded for p in found.states}
    rows = [
        PairSimilarity(code, p.code, found.matrix[i][j], found.shared[i][j], _either_count(found, i, j, recorded))
        for j, p in enumerate(found.states)
        if j != i
    ]
    return sorted(rows, key=lambda r: (r.similarity is None, -(r.similarity or 0.0), -r.shared, r.b))


def _either_count(found: Alignment, i: int, j: int, recorded: dict[str, int]) -> int:
    a, b = found.states[i], found.states[j]
    return recorded[a.code] + recorded[b.code] - found.shared[i][j]


def pairs(found: Alignment) -> Iterable[PairSimilarity]:
    """Every unordered pair of ``found`` (row order), for exports."""
    recorded = {p.code: p.recorded for p in found.states}
    for i, a in enumerate(found.states):
        for j in range(i + 1, len(found.states)):
            b = found.states[j]
            yield PairSimilarity(
                a.code, b.code, found.matrix[i][j], found.shared[i][j], _either_count(found, i, j, recorded)
            )


def over_time(
    record: Record, code: str, others: Sequence[str], dates: Sequence[dt.date]
) -> dict[str, list[float | None]]:
    """``code``'s similarity to each of ``others`` at each of ``dates`` (``None`` where undefined)."""
    out: dict[str, list[float | None]] = {o: [] for o in others}
    codes = [code, *others]
    for day in dates:
        vec = vectors(record, codes, day)
        for k, other in enumerate(others, 1):
            out[other].append(_round(weighted_jaccard(vec.values[0], vec.values[k])))
    return out


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


# ---------------------------------------------------------------- for other capabilities


def closest_states(
    session: Session, state_code: str, *, at: dt.date | None = None, limit: int = 5
) -> list[tuple[str, float]]:
    """The states most aligned with ``state_code`` as of ``at`` (``None``: everything recorded), with their
    weighted-Jaccard similarity (rounded to 4 places), most similar first; ties by the number of instruments both
    are recorded on (more first), then by code. Every state of the directory is a candidate; states with nothing
    in common with it (similarity 0) are left out, so the list may be shorter than ``limit``, and it is empty for
    a state with no recorded commitment. Raises :class:`NotFound` for an unknown state.
    """
    record = load_record(session)
    if state_code not in record.states:
        raise NotFound(f"no state {state_code!r}")
    codes = [state_code, *(c for c in record.states if c != state_code)]
    vec = vectors(record, codes, at)
    x = vec.values
    top = np.maximum(x, x[0]).sum(axis=1)
    low = np.minimum(x, x[0]).sum(axis=1)
    shared = ((x > 0) & (x[0] > 0)).sum(axis=1)
    ranked = sorted(
        (k for k in range(1, len(codes)) if low[k] > 0),
        key=lambda k: (-round(float(low[k] / top[k]), 12), -int(shared[k]), codes[k]),
    )
    return [(codes[k], round(float(low[k] / top[k]), 4)) for k in ranked[: max(limit, 0)]]
