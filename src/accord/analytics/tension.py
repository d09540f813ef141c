"""The tension index of a pair of states over time: what raised tension between them, decayed with time.

The dyad is *unordered* ({A, B}, written with the codes in alphabetical order): tension is a property of the
relationship — an operation by either against the other, or a sanction by either against the other, strains
it for both, and a briefing on one state asks how tense its relations are, not who started. Who did what to
whom is kept on every contribution (``by`` → ``towards``), and the directed view is the dyad network
(:mod:`accord.analytics.dyads`).

    index(A, B, t) = max(0, Σ_e s_e · w_e · 2^(−(t − t_e) / H)),   over the events e of the pair with t_e ≤ t

with H = 365 days (the half-life: a contribution halves every year), t_e the event's date, s_e = +1 for
escalation and −1 for de-escalation, and the weights w_e:

    operation      an incident publicly ascribed to A (by anyone) and aimed at B: its intensity (1–5; 1 when
                   not assessed). Dated when it was both public and ascribed: the later of its disclosure date
                   (start date when none) and the first dated attribution naming A.
    attribution    a state's public attribution naming the other state: political statement, indictment or
                   sanctions listing 1, technical advisory 0.5; ×1.5 when joint (its joint group holds another
                   government or organisation). Attributions by organisations and companies are not between two
                   states and do not count; the data records no level (head of state or government), so none is
                   weighed.
    response       a measure by one state against the other: sanctions, indictment, expulsion 3; countermeasure
                   2; démarche 1.5; statement 1.

One act counts once: the record holds a statement or a measure that names several incidents once per incident,
so attributions by a state naming the same state count once per joint group (else once per form and day), and
responses once per type and day (the heaviest form is kept; ``incidents`` says how many incidents the act
names).
    de-escalation  (s = −1) an agreement between the two — an instrument that exactly these two states committed
                   to (signed, ratified, acceded, endorsed; not withdrawn), dated by the later commitment — 3;
                   capacity building by one for the other (a response of type ``capacity_building`` naming the
                   other state) 1.

An indictment is both a public attribution (form ``indictment``) and a response; both count, as both are
recorded. Undated records cannot be placed in time and are left out (counted). Crisis cases are not counted:
they are this node's own, TLP-marked records, not the public record. The index is clipped at 0: tension does
not go below none. ``trend`` is index(t) − index(t − 365 days). Series are sampled at the end of every
quarter (and at t). Deterministic for a given database and date; nothing here writes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.analytics.columns import (
    NONE,
    Data,
    Record,
    distinct,
    expand,
    lengths,
    lookup,
    memo,
    quiet_gc,
    record_of,
    runs,
    span,
)
from accord.analytics.dyads import FIRST_YEAR, LAST_YEAR
from accord.core.errors import Invalid, Problem
from accord.directory.models import State
from accord.norms.models import Commitment

HALF_LIFE_DAYS = 365
YEAR = dt.timedelta(days=365)
UNASSESSED_INTENSITY = 1
JOINT_FACTOR = 1.5
ATTRIBUTION_WEIGHTS = {
    "political_statement": 1.0,
    "indictment": 1.0,
    "sanctions_listing": 1.0,
    "technical_advisory": 0.5,
}
RESPONSE_WEIGHTS = {
    "sanctions": 3.0,
    "indictment": 3.0,
    "expulsion": 3.0,
    "countermeasure": 2.0,
    "demarche": 1.5,
    "statement": 1.0,
}
DEESCALATION_WEIGHTS = {"agreement": 3.0, "capacity_building": 1.0}
DRIVERS = 5
_DECAY = math.log(2) / HALF_LIFE_DAYS


class Event(NamedTuple):
    """One contribution to a pair's tension, before decay (``weight`` is signed)."""

    kind: str  # operation | attribution | response | de-escalation
    what: str  # operation type, attribution form, response type, agreement
    by: str | None  # the state that acted (None for an agreement)
    towards: str | None
    date: dt.date
    weight: float
    incident_id: int | None = None
    joint: bool = False
    ref: str = ""  # attribution:12, response:7, instrument:CODE, incident:3 (the first record of the act)
    incidents: int = 1  # incidents the one act names (a statement or measure recorded once per incident)

    @property
    def pair(self) -> tuple[str, str]:
        return pair(self.by or "", self.towards or "")


def pair(a: str, b: str) -> tuple[str, str]:
    """The unordered dyad {a, b} as (first, second) in alphabetical order."""
    return (a, b) if a <= b else (b, a)


def decayed(weight: float, date: dt.date, at: dt.date) -> float:
    """weight · 2^(−days / H) for an event on ``date`` seen at ``at``; 0 before it happened."""
    days = (at - date).days
    return 0.0 if days < 0 else weight * math.exp(-_DECAY * days)


def index_at(events: Iterable[Event], at: dt.date, factors: dict[dt.date, float] | None = None) -> float:
    """The tension index of one pair's events at ``at`` (module docstring). ``factors`` caches the decay factor
    of each date (many events share a date) across calls for the same ``at``."""
    found = {} if factors is None else factors
    day, total = at.toordinal(), 0.0
    for e in events:
        factor = found.get(e[4])
        if factor is None:
            days = day - e[4].toordinal()
            factor = found[e[4]] = math.exp(-_DECAY * days) if days >= 0 else 0.0
        total += e[5] * factor
    return max(0.0, total)


# ---------------------------------------------------------------- events from the record (pure)


@dataclass(frozen=True)
class Agreement:
    """An instrument exactly two states committed to (see the module docstring)."""

    code: str
    a: str
    b: str
    date: dt.date


@dataclass(frozen=True)
class TensionLeftOut:
    undated_operations: int = 0  # ascribed incidents with no date to place them
    undated_attributions: int = 0
    undated_responses: int = 0
    non_state_attributions: int = 0  # by an organisation or a company, or naming no state
    non_state_responses: int = 0  # by an organisation, or against no state


# The events are computed on the record as columns (accord.analytics.columns): grouping by sorting arrays.
# tests/analytics/tension_reference.py computes the same events row by row with dictionaries; a test compares the
# two on random records.

KINDS = ("operation", "attribution", "response", "de-escalation")
_LATE = np.iinfo(np.int64).max  # an undated attribution sorts after every dated one


@dataclass
class _Part:
    """Events of one kind as columns."""

    kind: int
    what: np.ndarray
    by: np.ndarray
    towards: np.ndarray
    day: np.ndarray
    weight: np.ndarray
    incident: np.ndarray
    joint: np.ndarray
    ref: np.ndarray  # incident, attribution or response id; for an agreement, its place in the instrument list
    incidents: np.ndarray


def _part(kind: int, **columns: Any) -> _Part:
    size = len(columns["day"])
    full = {k: np.broadcast_to(np.asarray(v), (size,)) for k, v in columns.items()}
    return _Part(kind, **full)


def _operations(r: Record, width: int) -> tuple[_Part, int]:
    """An operation event per incident, attributed state and receiver state (and how many could not be dated)."""
    targets = distinct(r.receiver_incident[r.receiver_state >= 0] * width + r.receiver_state[r.receiver_state >= 0])
    target_incident, target_state = targets // width, targets % width
    named = r.att_state >= 0
    key = r.att_incident[named] * width + r.att_state[named]
    day = np.where(r.att_day[named] == NONE, _LATE, r.att_day[named])
    order = np.lexsort((day, key))
    first = order[runs(key[order])]  # the first (dated) attribution of each incident and attributed state
    incident, state = key[first] // width, key[first] % width
    ascribed = np.where(day[first] == _LATE, NONE, day[first])
    place = r.incident_at(incident)
    known = place >= 0
    disclosed, started = lookup(r.disclosure, place, NONE), lookup(r.start, place, NONE)
    public = np.where(disclosed != NONE, disclosed, started)
    when = np.where(public == NONE, ascribed, np.where(ascribed == NONE, public, np.maximum(public, ascribed)))
    owner, found = expand(target_incident, np.where(known, incident, NONE))
    target = target_state[found]
    aimed = target != state[owner]
    owner, target = owner[aimed], target[aimed]
    elsewhere = np.zeros(len(incident), bool)
    elsewhere[owner] = True  # aimed at a state other than the attributed one
    undated = int(np.count_nonzero(elsewhere & (when == NONE)))
    dated = when[owner] != NONE
    owner, target = owner[dated], target[dated]
    at = place[owner]
    part = _part(
        0,
        what=r.incident_type[at],
        by=state[owner],
        towards=target,
        day=when[owner],
        weight=np.where(np.isnan(r.intensity[at]), UNASSESSED_INTENSITY, r.intensity[at]),
        incident=incident[owner],
        joint=False,
        ref=incident[owner],
        incidents=1,
    )
    return part, undated


def _attributions(r: Record, width: int) -> tuple[_Part, int, int]:
    """An attribution event per act (see the module docstring), with the undated and non-state counts."""
    between = (r.att_by >= 0) & (r.att_state >= 0)
    non_state = int(np.count_nonzero(~between))
    acts = between & (r.att_by != r.att_state)
    undated = int(np.count_nonzero(acts & (r.att_day == NONE)))
    acts &= r.att_day != NONE
    groups = int(r.att_group.max(initial=0)) + 1
    member = (r.att_group >= 0) & ((r.att_by >= 0) | (r.att_org >= 0))
    party = np.where(r.att_by >= 0, r.att_by, width + r.att_org)[member]  # a state, or an organisation
    parties_width = width + int(r.att_org.max(initial=NONE)) + 1
    parties = distinct(r.att_group[member] * parties_width + party) // parties_width
    joint_group = np.bincount(parties, minlength=groups) > 1
    by, state, day, group, form = (
        r.att_by[acts],
        r.att_state[acts],
        r.att_day[acts],
        r.att_group[acts],
        r.att_form[acts],
    )
    first_day, days = span(day)
    labels = len(r.labels.values)
    within = np.where(group >= 0, group, groups + form * days + (day - first_day))
    key = (by * width + state) * (groups + labels * days) + within
    starts = runs(np.sort(key))
    first = np.lexsort((r.att_id[acts], day, key))[starts]  # earliest day, then lowest id
    weights = np.array([ATTRIBUTION_WEIGHTS.get(v, 1.0) for v in r.labels.values] or [1.0])
    rank = np.argsort(np.argsort(np.array(r.labels.values or [""], dtype=object)))
    heaviest = np.lexsort((rank[form], -weights[form], key))[starts]  # then the first form by name
    joint = (group[first] >= 0) & joint_group[np.maximum(group[first], 0)]
    records = lengths(starts, len(key))
    part = _part(
        1,
        what=form[heaviest],
        by=by[first],
        towards=state[first],
        day=day[first],
        weight=weights[form[heaviest]] * np.where(joint, JOINT_FACTOR, 1.0),
        incident=r.att_incident[acts][first],
        joint=joint,
        ref=r.att_id[acts][first],
        incidents=records,
    )
    return part, undated, non_state


def _responses(r: Record, width: int) -> tuple[_Part, int, int]:
    """A response (or de-escalating capacity-building) event per measure: one per type and day."""
    between = (r.resp_by >= 0) & (r.resp_against >= 0)
    non_state = int(np.count_nonzero(~between))
    acts = between & (r.resp_by != r.resp_against)
    undated = int(np.count_nonzero(acts & (r.resp_day == NONE)))
    acts &= r.resp_day != NONE
    by, against, day, kind_of = r.resp_by[acts], r.resp_against[acts], r.resp_day[acts], r.resp_type[acts]
    first_day, days = span(day)
    labels = len(r.labels.values)
    key = ((by * width + against) * labels + kind_of) * days + (day - first_day)
    starts = runs(np.sort(key))
    first = np.lexsort((r.resp_id[acts], key))[starts]
    values = r.labels.values
    weights = np.array(
        [-DEESCALATION_WEIGHTS[v] if v in DEESCALATION_WEIGHTS else RESPONSE_WEIGHTS.get(v, 1.0) for v in values]
        or [1.0]
    )
    calming = np.array([v in DEESCALATION_WEIGHTS for v in values] or [False])
    part = _part(
        2,
        what=kind_of[first],
        by=by[first],
        towards=against[first],
        day=day[first],
        weight=weights[kind_of[first]],
        incident=r.resp_incident[acts][first],
        joint=False,
        ref=r.resp_id[acts][first],
        incidents=lengths(starts, len(key)),
    )
    part.kind = np.where(calming[kind_of[first]], 3, 2)  # type: ignore[assignment]
    return part, undated, non_state


class PairEvents(Mapping[tuple[str, str], list[Event]]):
    """Every pair's events, held as columns: ``events[pair]`` gives one pair's :class:`Event` list (made when asked
    for), :meth:`indices` every pair's index at a date in one pass."""

    def __init__(
        self, states: Sequence[str], labels: Sequence[str], parts: Sequence[_Part], instruments: Sequence[str]
    ) -> None:
        self._states, self._labels, self._instruments = list(states), list(labels), list(instruments)
        cols = {
            name: np.concatenate([np.broadcast_to(np.asarray(getattr(p, name)), (len(p.day),)) for p in parts])
            for name in ("kind", "what", "by", "towards", "day", "weight", "incident", "joint", "ref", "incidents")
        }
        self._cols = cols
        width = max(len(states), 1)
        name_rank = np.argsort(np.argsort(np.array(states or [""], dtype=object)))
        by, towards = cols["by"], cols["towards"]
        first = name_rank[by] <= name_rank[towards]
        low, high = np.where(first, by, towards), np.where(first, towards, by)
        keys, self._pair = np.unique(low * width + high, return_inverse=True)
        self._keys = [(states[k // width], states[k % width]) for k in keys.tolist()]
        self._places = {key: i for i, key in enumerate(self._keys)}
        self._order = np.argsort(self._pair, kind="stable")
        self._starts = np.searchsorted(self._pair[self._order], np.arange(len(self._keys) + 1))

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._places

    def __getitem__(self, key: tuple[str, str]) -> list[Event]:
        i = self._places[key]
        rows = self._order[self._starts[i] : self._starts[i + 1]]
        c = {name: col[rows].tolist() for name, col in self._cols.items()}
        out = []
        for n in range(len(rows)):
            kind, what = KINDS[c["kind"][n]], self._labels[c["what"][n]]
            incident = c["incident"][n]
            out.append(
                Event(
                    kind,
                    what,
                    self._states[c["by"][n]],
                    self._states[c["towards"][n]],
                    dt.date.fromordinal(c["day"][n]),
                    float(c["weight"][n]),
                    None if incident < 0 else incident,
                    bool(c["joint"][n]),
                    _ref(kind, what, c["ref"][n], self._instruments),
                    c["incidents"][n],
                )
            )
        return out

    def indices(self, at: dt.date) -> dict[tuple[str, str], float]:
        """Every pair's index at ``at`` (before clipping at zero), summed over its events up to ``at``."""
        day, cols = at.toordinal(), self._cols
        age = day - cols["day"]
        values = np.where(age >= 0, cols["weight"] * np.exp(-_DECAY * np.maximum(age, 0)), 0.0)
        totals = np.bincount(self._pair, weights=values, minlength=len(self._keys))
        return dict(zip(self._keys, totals.tolist(), strict=True))


def _ref(kind: str, what: str, ref: int, instruments: Sequence[str]) -> str:
    if what == "agreement":
        return f"instrument:{instruments[ref]}"
    prefix = {"operation": "incident", "attribution": "attribution"}.get(kind, "response")
    return f"{prefix}:{ref}"


def events(data: Data | Record, agreements: Iterable[Agreement] = ()) -> tuple[PairEvents, TensionLeftOut]:
    """Every pair's events and what was left out."""
    r = data if isinstance(data, Record) else Record(data)
    found = list(agreements)
    states = r.states.copy()  # the record may be shared: agreements may name states it does not hold
    by, towards = states.of([g.a for g in found]), states.of([g.b for g in found])
    width = max(len(states.values), 1)
    ops, undated_ops = _operations(r, width)
    atts, undated_atts, non_state_atts = _attributions(r, width)
    resps, undated_resps, non_state_resps = _responses(r, width)
    labels = [*r.labels.values, "agreement"]
    deals = _part(
        3,
        what=len(labels) - 1,
        by=by,
        towards=towards,
        day=np.array([g.date.toordinal() for g in found], np.int64),
        weight=-DEESCALATION_WEIGHTS["agreement"],
        incident=NONE,
        joint=False,
        ref=np.arange(len(found)),
        incidents=1,
    )
    left = TensionLeftOut(undated_ops, undated_atts, undated_resps, non_state_atts, non_state_resps)
    return PairEvents(states.values, labels, [ops, atts, resps, deals], [g.code for g in found]), left


# ---------------------------------------------------------------- result shapes


@dataclass(frozen=True)
class Contribution:
    """One event and what it adds to the index at the date asked for (``value``: signed, decayed)."""

    kind: str
    what: str
    by: str | None
    towards: str | None
    date: dt.date
    weight: float
    value: float
    incident_id: int | None
    joint: bool
    ref: str
    incidents: int  # incidents the act names


@dataclass(frozen=True)
class DyadTension:
    """A pair's tension at ``at``: ``other`` is the counterpart when asked about one state (else ``b``)."""

    a: str
    b: str
    other: str
    at: dt.date
    index: float
    previous: float  # the index a year before
    trend: float  # index − previous
    events: int  # events up to ``at``
    last_event: dt.date | None
    drivers: list[Contribution]  # the largest contributions at ``at`` (by size, de-escalation included)


@dataclass(frozen=True)
class Point:
    date: dt.date
    index: float
    escalation: float  # the sum of the positive contributions
    deescalation: float  # the sum of the negative ones (≤ 0)


@dataclass(frozen=True)
class DyadSeries:
    """A pair's index over time (quarter ends, then ``at``) and every contribution up to ``at``."""

    tension: DyadTension
    half_life_days: int
    points: list[Point]
    contributions: list[Contribution]  # newest first


@dataclass(frozen=True)
class TensionOverview:
    at: dt.date
    half_life_days: int
    dyads: list[DyadTension]
    pairs_with_events: int
    left_out: TensionLeftOut


# ---------------------------------------------------------------- computing (pure)


def describe(c: Contribution, names: Mapping[str, str] | None = None) -> str:
    """A contribution in words, e.g. ``sanctions by US against CN`` (states named from ``names`` if given)."""
    by, towards = ((names or {}).get(x or "", x or "") for x in (c.by, c.towards))
    what = c.what.replace("_", " ")
    several = f" (naming {c.incidents} incidents)" if c.incidents > 1 else ""
    if c.kind == "operation":
        return f"operation ({what}) ascribed to {by}, against {towards}"
    if c.kind == "attribution":
        return f"{'joint ' if c.joint else ''}attribution ({what}) by {by} naming {towards}{several}"
    if c.what == "agreement":
        return f"agreement between {by} and {towards}"
    if c.what == "capacity_building":
        return f"capacity building by {by} for {towards}{several}"
    return f"{what} by {by} against {towards}{several}"


def _r(x: float) -> float:
    return round(x, 3) + 0.0  # + 0.0: never -0.0


def contributions(found: Sequence[Event], at: dt.date) -> list[Contribution]:
    """The events up to ``at`` with their decayed values, newest first."""
    out = [
        Contribution(
            e.kind,
            e.what,
            e.by,
            e.towards,
            e.date,
            e.weight,
            _r(decayed(e.weight, e.date, at)),
            e.incident_id,
            e.joint,
            e.ref,
            e.incidents,
        )
        for e in found
        if e.date <= at
    ]
    out.sort(key=lambda c: (c.date, c.ref), reverse=True)
    return out


def drivers(found: Sequence[Event], at: dt.date, top: int = DRIVERS) -> list[Contribution]:
    """The ``top`` contributions largest in size at ``at`` (ties: newer first)."""
    ranked = sorted(contributions(found, at), key=lambda c: (-abs(c.value), -c.date.toordinal(), c.ref))
    return ranked[:top]


def tension(key: tuple[str, str], found: Sequence[Event], at: dt.date, other: str | None = None) -> DyadTension:
    now, before = index_at(found, at), index_at(found, at - YEAR)
    past = [e for e in found if e.date <= at]
    return DyadTension(
        a=key[0],
        b=key[1],
        other=other or key[1],
        at=at,
        index=_r(now),
        previous=_r(before),
        trend=_r(now - before),
        events=len(past),
        last_event=max((e.date for e in past), default=None),
        drivers=drivers(found, at),
    )


def quarter_ends(first: dt.date, at: dt.date) -> list[dt.date]:
    """The last day of every quarter from ``first``'s quarter up to ``at``, then ``at`` itself."""
    out = []
    year, quarter = first.year, (first.month - 1) // 3
    while True:
        month = 3 * quarter + 3
        end = dt.date(year, month, 31 if month in (3, 12) else 30)
        if end >= at:
            break
        out.append(end)
        year, quarter = (year + 1, 0) if quarter == 3 else (year, quarter + 1)
    return [*out, at]


def series(key: tuple[str, str], found: Sequence[Event], at: dt.date) -> DyadSeries:
    """The index of one pair at every quarter end and at ``at``, with its contributions."""
    points = []
    past = [e for e in found if e.date <= at]
    if past:
        for when in quarter_ends(min(e.date for e in past), at):
            values = [decayed(e.weight, e.date, when) for e in past]
            up = sum(v for v in values if v > 0)
            down = sum(v for v in values if v < 0)
            points.append(Point(when, _r(max(0.0, up + down)), _r(up), _r(down)))
    return DyadSeries(tension(key, found, at), HALF_LIFE_DAYS, points, contributions(found, at))


def ranked(by_pair: PairEvents, at: dt.date, limit: int, state: str | None = None) -> list[DyadTension]:
    """The most tense pairs at ``at`` (index > 0; involving ``state`` if given), most tense first."""
    scores = sorted(
        (-_r(now), key) for key, now in by_pair.indices(at).items() if now > 0 and (state is None or state in key)
    )
    out = []
    for _, key in scores[:limit]:
        other = None if state is None else (key[1] if key[0] == state else key[0])
        out.append(tension(key, by_pair[key], at, other))
    return out


# ---------------------------------------------------------------- the database


def agreements_of(session: Session) -> list[Agreement]:
    """Instruments that exactly two states committed to (not withdrawn), dated by the later commitment."""
    rows = session.execute(
        select(Commitment.instrument_code, Commitment.state_code, Commitment.date).where(
            Commitment.status != "withdrawn"
        )
    )
    states: dict[str, dict[str, dt.date | None]] = defaultdict(dict)
    for code, state, date in rows:
        known = states[code].get(state)
        if state not in states[code] or (date is not None and (known is None or date < known)):
            states[code][state] = date
    out = []
    for code, committed in sorted(states.items()):
        dates = list(committed.values())
        if len(committed) == 2 and all(d is not None for d in dates):
            a, b = sorted(committed)
            out.append(Agreement(code, a, b, max(d for d in dates if d is not None)))
    return out


def events_of(session: Session) -> tuple[PairEvents, TensionLeftOut]:
    """Every pair's events from the database (receivers, attributions, responses and bilateral agreements),
    remembered while the record is unchanged (:func:`accord.analytics.columns.memo`)."""

    def compute() -> tuple[PairEvents, TensionLeftOut]:
        with quiet_gc():
            return events(record_of(session), agreements_of(session))

    return memo(session, ("tension-events",), compute)


def _at(at: dt.date | None) -> dt.date:
    """The date asked for (today by default); ``Invalid`` naming ``at`` outside 1900–2100."""
    when = at or dt.date.today()
    if not FIRST_YEAR <= when.year <= LAST_YEAR:
        raise Invalid("the date is out of range", [Problem("at", f"give a date between {FIRST_YEAR} and {LAST_YEAR}")])
    return when


def check_state(session: Session, code: str, field: str = "state") -> str:
    """``code`` upper-cased if it is a state the node knows; ``Invalid`` naming ``field`` otherwise."""
    found = code.strip().upper()
    if len(found) != 2 or not found.isalpha() or session.get(State, found) is None:
        raise Invalid(f"no state {code!r}", [Problem(field, "must be the ISO 3166-1 alpha-2 code of a known state")])
    return found


def overview(
    session: Session, *, at: dt.date | None = None, limit: int = 10, state: str | None = None
) -> TensionOverview:
    """The ``limit`` most tense pairs at ``at`` (today by default) — those involving ``state`` if given, with
    ``other`` its counterpart —, with what was left out."""
    when = _at(at)
    by_pair, left = events_of(session)
    found = ranked(by_pair, when, limit, state=state.strip().upper() if state else None)
    return TensionOverview(when, HALF_LIFE_DAYS, found, len(by_pair), left)


def top_tense_dyads(session: Session, *, at: dt.date | None = None, limit: int = 10) -> list[DyadTension]:
    """The ``limit`` most tense pairs at ``at`` (today by default), most tense first; ``other`` is ``b``."""
    return overview(session, at=at, limit=limit).dyads


def state_tension(session: Session, state_code: str, *, at: dt.date | None = None, top: int = 5) -> list[DyadTension]:
    """The ``top`` most tense pairs involving ``state_code`` at ``at`` (today by default), most tense first; each
    with ``other`` (the counterpart), ``index``, ``trend`` (change over the last year) and ``drivers``."""
    return overview(session, at=at, limit=top, state=state_code).dyads


def dyad_series(session: Session, a: str, b: str, *, at: dt.date | None = None) -> DyadSeries:
    """One pair's index over time with every contribution (the pair is unordered: (a, b) = (b, a)); ``Invalid``
    naming ``a`` or ``b`` for an unknown state or a state paired with itself."""
    first, second = check_state(session, a, "a"), check_state(session, b, "b")
    if first == second:
        raise Invalid("a pair needs two states", [Problem("b", "must differ from a")])
    key = pair(first, second)
    by_pair, _ = events_of(session)
    return series(key, by_pair.get(key, []), _at(at))
