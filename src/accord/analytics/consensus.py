"""Consensus finder: in a forum, who already supports each provision, who does not, and whom to persuade first.

Forum
    The members of an organisation as of a date (memberships joined on or before it and not yet left; members
    recorded with another role — suspended, observer, partner — are listed apart and do not count), the UN
    (its recorded members, 193 in the bundled data; if the node has no UN memberships, the states whose
    ``un_status`` is ``member``), or a custom list of ISO codes. Without a date: the current members.

Support
    A member *supports* a provision when, as of the date asked, its standing on the provision's instrument (the
    latest commitment event, as in :mod:`accord.analytics.alignment`) is ``signed``, ``ratified``, ``acceded``
    or ``endorsed`` — ``basis="bound"`` drops ``signed``: only states bound by a treaty, or that endorsed a
    political instrument (the full commitment such an instrument admits). It also supports a provision it
    publicly invoked (a norm finding it claimed). An instrument as a whole is supported on its commitments
    alone. The data records commitments per instrument, not per provision (reservations are text), so every
    provision of an instrument has the same supporters but for invocations. Every other member has *no
    recorded support* — which is not opposition: silence, abstention and disagreement cannot be told apart.

Thresholds (of all members, not of those present and voting)
    consensus = every member; two-thirds = ⌈2n/3⌉; majority = ⌊n/2⌋ + 1. A provision is *short* by
    ``deficit = max(0, required − supporters)``. Under consensus every member without recorded support blocks
    it; otherwise no single member blocks, but ``n − required + 1`` of them (the blocking minority) do
    together, and a provision is short exactly when its members without recorded support reach that number.

Persuasion set (a covering problem)
    For a package of provisions negotiated together, the smallest set S of members such that every provision p
    reaches its threshold once the members of S support it: for every p, ``|S ∩ N_p| ≥ d_p`` with ``N_p`` the
    members without recorded support for p and ``d_p`` its deficit — set multicover, each member used at most
    once. Among the smallest sets, the one whose members are closest in alignment to the package's supporters:
    the members supporting every provision of the package (if none does, those supporting at least one), with
    ``distance(s) = 1 − mean similarity of s to them`` (weighted Jaccard, :mod:`accord.analytics.alignment`;
    1 when there is nobody to compare with).

    Exact (integer programming, :func:`scipy.optimize.milp`, i.e. HiGHS branch and bound)::

        phase 1   minimise Σ_s x_s             subject to  Σ_{s ∈ N_p} x_s ≥ d_p  for every short p,  x ∈ {0,1}
        phase 2   minimise Σ_s distance(s)·x_s subject to  the same, and Σ_s x_s = k*  (k* from phase 1)

    — lexicographic: size first, then distance; further ties are the solver's choice. Members whose moves help
    the same provisions are interchangeable in phase 1, so it has one integer variable per such group (how many
    of it move, 0…|group|): real forums have few groups (the UN and four instruments: 14), and the symmetry
    that slows branch and bound down is gone. Both phases share a time limit (:data:`EXACT_TIME_LIMIT`); a set
    not proven optimal says so (``optimal=False`` and its ``status``).

    Greedy: repeatedly take the member whose move helps the most provisions still short (ties: smaller
    distance, then code), until none is short. It is within a factor ``H(k) = 1 + 1/2 + … + 1/k ≤ 1 + ln k`` of
    the optimum, ``k`` the most short provisions one member's move helps (at most the package size) — the
    classical bound of greedy set multicover with each set used at most once (Dobson 1982; Rajagopalan &
    Vazirani 1993; Vazirani, *Approximation Algorithms*, 2001, §13.2). For a single provision, or under
    consensus (every holdout of a short provision must move), greedy is optimal. A lower bound —
    max(largest deficit, ⌈total deficit / k⌉, members every set must contain) — proves it optimal when met.

    ``method="auto"`` runs both when the problem has at most :data:`EXACT_GROUPS` groups of interchangeable
    members (every forum: the UN has 193 members) and reports the exact set when it is proven optimal, else the
    smaller of the two (the exact one on ties); beyond, greedy alone (a cover of thousands of members with random
    overlaps is beyond HiGHS in seconds, greedy takes milliseconds).

Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from accord.analytics import alignment
from accord.core.errors import Invalid, Problem
from accord.directory.models import Membership, Organisation, State
from accord.norms.models import Instrument, Provision

THRESHOLDS = {
    "consensus": "every member",
    "two_thirds": "two thirds of the members",
    "majority": "more than half of the members",
}
SUPPORT = {
    "signed": frozenset({"signed", "ratified", "acceded", "endorsed"}),
    "bound": frozenset({"ratified", "acceded", "endorsed"}),
}
METHODS = ("auto", "exact", "greedy")
CUSTOM = "custom"
UN = "UN"
MAX_ITEMS = 200
MAX_CUSTOM = 400
EXACT_GROUPS = 400  # groups of interchangeable members up to which "auto" runs the exact solver too
EXACT_TIME_LIMIT = 2.0  # seconds for both phases (phase 2 gets at least 0.2 s)


# ---------------------------------------------------------------- forums


@dataclass(frozen=True)
class Forum:
    """Who decides: the members counted (sorted codes) and those recorded with another role."""

    key: str  # organisation code, or "custom"
    name: str
    at: dt.date | None
    members: list[str]
    not_counted: dict[str, str] = field(default_factory=dict)  # code → role (suspended, observer, partner)
    basis: str = "membership"  # membership | un_status | custom
    size: int = -1  # len(members), filled in

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", len(self.members))


def forum_members(
    session: Session, forum: str | None = UN, *, states: Sequence[str] = (), at: dt.date | None = None
) -> Forum:
    """The forum ``forum`` (an organisation code, ``"UN"`` or ``"custom"`` with ``states``) as of ``at``."""
    key = (forum or UN).strip()
    if key.lower() == CUSTOM:
        return _custom(session, states, at)
    org = session.get(Organisation, key) or session.get(Organisation, key.upper())
    if org is None:
        if key.upper() == UN:
            return _un_by_status(session, at)
        raise Invalid("unknown forum", [Problem("forum", f"no organisation {key!r}; give its code or 'custom'")])
    stmt = select(Membership.state_code, Membership.role).where(Membership.organisation_code == org.code)
    if at is None:
        stmt = stmt.where(Membership.left.is_(None))
    else:
        stmt = stmt.where(
            or_(Membership.joined.is_(None), Membership.joined <= at),
            or_(Membership.left.is_(None), Membership.left > at),
        )
    members: set[str] = set()
    others: dict[str, str] = {}
    for code, role in session.execute(stmt):
        if role == "member":
            members.add(code)
        else:
            others[code] = role
    if not members and not others and org.code == UN:
        return _un_by_status(session, at)
    others = {c: r for c, r in sorted(others.items()) if c not in members}
    return Forum(org.code, org.name, at, sorted(members), others)


def _un_by_status(session: Session, at: dt.date | None) -> Forum:
    stmt = select(State.code).where(State.un_status == "member")
    if at is not None:
        stmt = stmt.where(or_(State.un_admission.is_(None), State.un_admission <= at))
    codes = sorted(session.scalars(stmt))
    return Forum(UN, "United Nations", at, codes, {}, "un_status")


def _custom(session: Session, states: Sequence[str], at: dt.date | None) -> Forum:
    codes = list(dict.fromkeys(c.strip().upper() for c in states if c and c.strip()))
    if not codes:
        raise Invalid("no states", [Problem("states", "a custom forum needs at least one state code")])
    if len(codes) > MAX_CUSTOM:
        raise Invalid("too many states", [Problem("states", f"at most {MAX_CUSTOM} states")])
    known = set(session.scalars(select(State.code).where(State.code.in_(codes))))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise Invalid("unknown states", [Problem("states", f"not in the directory: {', '.join(unknown[:20])}")])
    return Forum(CUSTOM, "Custom list", at, sorted(codes), {}, "custom")


# ---------------------------------------------------------------- provisions and instruments


@dataclass(frozen=True)
class Item:
    """A candidate provision (``INSTRUMENT/code``) or a whole instrument (``INSTRUMENT``)."""

    ref: str
    instrument: str
    provision: str | None
    title: str
    kind: str  # the instrument's kind


def resolve_items(session: Session, refs: Iterable[str]) -> list[Item]:
    """``INSTRUMENT/code``, ``INSTRUMENT/*`` (every provision) or ``INSTRUMENT``; unknown ones are reported."""
    wanted = [r.strip() for r in refs if r and r.strip()]
    if not wanted:
        raise Invalid("nothing to look at", [Problem("provisions", "name at least one provision or instrument")])
    instruments = {
        code: (short or name, kind)
        for code, name, short, kind in session.execute(
            select(Instrument.code, Instrument.name, Instrument.short_name, Instrument.kind)
        )
    }
    provisions: dict[str, list[tuple[str, str]]] = {}
    for inst, code, title in session.execute(
        select(Provision.instrument_code, Provision.code, Provision.title).order_by(
            Provision.instrument_code, Provision.position, Provision.id
        )
    ):
        provisions.setdefault(inst, []).append((code, title))
    items: dict[str, Item] = {}
    unknown: list[str] = []
    for ref in wanted:
        inst, slash, code = ref.partition("/")
        if inst not in instruments:
            unknown.append(ref)
        elif not slash:
            items.setdefault(inst, Item(inst, inst, None, instruments[inst][0], instruments[inst][1]))
        elif code == "*":
            for pcode, title in provisions.get(inst, []):
                items.setdefault(f"{inst}/{pcode}", Item(f"{inst}/{pcode}", inst, pcode, title, instruments[inst][1]))
        elif (found := next((t for c, t in provisions.get(inst, []) if c == code), None)) is not None:
            items.setdefault(ref, Item(ref, inst, code, found, instruments[inst][1]))
        else:
            unknown.append(ref)
    if unknown:
        reason = f"unknown provision or instrument: {', '.join(unknown[:20])}"
        raise Invalid("unknown provisions", [Problem("provisions", reason)])
    if len(items) > MAX_ITEMS:
        raise Invalid("package too large", [Problem("provisions", f"at most {MAX_ITEMS} provisions in a package")])
    return list(items.values())


# ---------------------------------------------------------------- support


def required(threshold: str, members: int) -> int:
    """Supporters a provision needs among ``members``."""
    if threshold == "consensus":
        return members
    if threshold == "two_thirds":
        return math.ceil(2 * members / 3)
    if threshold == "majority":
        return members // 2 + 1
    raise Invalid("unknown threshold", [Problem("threshold", f"one of {', '.join(THRESHOLDS)}")])


@dataclass(frozen=True)
class ItemSupport:
    item: Item
    supporters: list[str]
    no_record: list[str]  # members without recorded support
    invoked_only: list[str]  # supporters counted only because they invoked the provision
    required: int
    deficit: int
    blocking_minority: int  # members without support enough to keep it short
    blockers: list[str]  # consensus: every member without recorded support; otherwise none alone
    passes: bool


def supporters_of(
    record: alignment.Record, members: Sequence[str], items: Sequence[Item], *, at: dt.date | None, basis: str
) -> dict[str, tuple[set[str], set[str]]]:
    """item ref → (members supporting it, those of them counted only through an invocation)."""
    if basis not in SUPPORT:
        raise Invalid("unknown basis", [Problem("basis", f"one of {', '.join(SUPPORT)}")])
    standing = record.standing(at)
    invoked = record.invoked(at)
    out: dict[str, tuple[set[str], set[str]]] = {}
    for item in items:
        committed = {m for m in members if standing.get(m, {}).get(item.instrument) in SUPPORT[basis]}
        by_invocation = {m for m in members if item.provision and item.ref in invoked.get(m, ())} - committed
        out[item.ref] = (committed | by_invocation, by_invocation)
    return out


def item_support(
    items: Sequence[Item], members: Sequence[str], support: Mapping[str, tuple[set[str], set[str]]], threshold: str
) -> list[ItemSupport]:
    n = len(members)
    need = required(threshold, n)
    out = []
    for item in items:
        backing, invoked_only = support[item.ref]
        missing = [m for m in members if m not in backing]
        out.append(
            ItemSupport(
                item=item,
                supporters=sorted(backing),
                no_record=missing,
                invoked_only=sorted(invoked_only),
                required=need,
                deficit=max(0, need - len(backing)),
                blocking_minority=n - need + 1,
                blockers=missing if threshold == "consensus" else [],
                passes=len(backing) >= need,
            )
        )
    return out


# ---------------------------------------------------------------- the covering problem


@dataclass(frozen=True)
class CoverProblem:
    """Set multicover: ``deficits`` (item → members still needed, short items only), ``candidates`` (member →
    short items it does not support) and each member's alignment ``distance`` to the supporters."""

    deficits: dict[str, int]
    candidates: dict[str, frozenset[str]]
    distance: dict[str, float]

    @property
    def reach(self) -> int:
        """k: the most short items one member's move helps."""
        return max((len(s) for s in self.candidates.values()), default=0)

    @property
    def forced(self) -> set[str]:
        """Members every persuasion set contains: those of a provision that needs all its holdouts."""
        holdouts: dict[str, set[str]] = {p: set() for p in self.deficits}
        for s, refs in self.candidates.items():
            for p in refs:
                holdouts[p].add(s)
        return set().union(*(h for p, h in holdouts.items() if len(h) == self.deficits[p]))

    @property
    def lower_bound(self) -> int:
        """No persuasion set is smaller: max(largest deficit, ⌈total deficit / k⌉, members forced)."""
        if not self.deficits:
            return 0
        k = max(self.reach, 1)
        return max(max(self.deficits.values()), math.ceil(sum(self.deficits.values()) / k), len(self.forced))

    @property
    def guarantee(self) -> float:
        """H(k): greedy's set is at most this many times the smallest."""
        return sum(1 / i for i in range(1, self.reach + 1)) if self.reach else 1.0


def cover_problem(support: Sequence[ItemSupport], distance: Mapping[str, float]) -> CoverProblem:
    deficits = {s.item.ref: s.deficit for s in support if s.deficit > 0}
    candidates: dict[str, set[str]] = {}
    for s in support:
        if s.deficit > 0:
            for m in s.no_record:
                candidates.setdefault(m, set()).add(s.item.ref)
    return CoverProblem(
        deficits,
        {m: frozenset(refs) for m, refs in sorted(candidates.items())},
        {m: float(distance.get(m, 1.0)) for m in sorted(candidates)},
    )


@dataclass(frozen=True)
class Cover:
    """A persuasion set: the members whose move brings every provision of the package to the threshold."""

    method: str  # exact | greedy
    states: list[str]
    size: int
    distance: float  # Σ distance of its members
    optimal: bool | None  # exact: proven; greedy: True when it meets the lower bound, else None (unknown)
    status: str
    seconds: float
    gains: dict[str, list[str]]  # member → short items its move helps
    complete: bool  # every provision reaches the threshold with this set


def _gains(problem: CoverProblem, chosen: Sequence[str]) -> dict[str, list[str]]:
    return {s: sorted(problem.candidates[s]) for s in chosen}


def _infeasible(problem: CoverProblem) -> list[str]:
    return [p for p, d in problem.deficits.items() if sum(p in c for c in problem.candidates.values()) < d]


def solve_greedy(problem: CoverProblem) -> Cover:
    """The greedy persuasion set (see the module docstring), members in the order taken.

    Gains only fall as provisions reach their threshold, so a heap with lazy updates finds the best member:
    O((members + coefficients) · log members) in all.
    """
    start = time.perf_counter()
    remaining = dict(problem.deficits)
    holders: dict[str, list[str]] = {p: [] for p in remaining}
    for s, refs in problem.candidates.items():
        for p in refs:
            holders[p].append(s)
    gain = {s: len(refs) for s, refs in problem.candidates.items()}
    heap = [(-g, problem.distance[s], s) for s, g in gain.items()]
    heapq.heapify(heap)
    chosen: list[str] = []
    taken: set[str] = set()
    while any(v > 0 for v in remaining.values()):
        best = None
        while heap:
            neg, _, s = heapq.heappop(heap)
            if s in taken:
                continue
            if -neg != gain[s]:  # stale: push back with its current gain
                heapq.heappush(heap, (-gain[s], problem.distance[s], s))
                continue
            best = s
            break
        if best is None or gain[best] == 0:
            status = f"infeasible: {', '.join(p for p, v in remaining.items() if v > 0)} cannot reach the threshold"
            return _cover("greedy", problem, chosen, False, status, start)
        chosen.append(best)
        taken.add(best)
        for p in problem.candidates[best]:
            if remaining[p] > 0:
                remaining[p] -= 1
                if remaining[p] == 0:
                    for other in holders[p]:
                        gain[other] -= 1
    optimal = True if len(chosen) == problem.lower_bound else None
    return _cover("greedy", problem, chosen, optimal, "complete", start)


def _cover(
    method: str, problem: CoverProblem, chosen: Sequence[str], optimal: bool | None, status: str, start: float
) -> Cover:
    return Cover(
        method=method,
        states=list(chosen),
        size=len(chosen),
        distance=round(sum(problem.distance[s] for s in chosen), 6),
        optimal=optimal,
        status=status,
        seconds=round(time.perf_counter() - start, 6),
        gains=_gains(problem, chosen),
        complete=not status.startswith(("infeasible", "no solution")),
    )


def _groups(problem: CoverProblem) -> list[list[str]]:
    """Members whose moves help the same short provisions are interchangeable but for their distance: one group
    each, members ordered by (distance, code)."""
    by: dict[frozenset[str], list[str]] = defaultdict(list)
    for s, refs in problem.candidates.items():
        by[refs].append(s)
    groups = [sorted(g, key=lambda m: (problem.distance[m], m)) for g in by.values()]
    return sorted(groups, key=lambda g: min(g))


def solve_exact(problem: CoverProblem, *, time_limit: float = EXACT_TIME_LIMIT) -> Cover:
    """The smallest persuasion set, closest in alignment among the smallest (two MILP phases, HiGHS).

    Interchangeable members (their moves help the same provisions) are grouped: phase 1 has one integer
    variable per group — how many of it move —, which removes the symmetry that slows branch and bound down;
    phase 2 one binary per member, and of each group the closest members are kept (the same total distance).
    """
    start = time.perf_counter()
    if not problem.deficits:
        return _cover("exact", problem, [], True, "optimal", start)
    if missing := _infeasible(problem):
        return _cover("exact", problem, [], False, f"infeasible: {', '.join(missing)} cannot reach it", start)
    items = sorted(problem.deficits)
    row = {p: i for i, p in enumerate(items)}
    need = np.array([problem.deficits[p] for p in items], dtype=float)
    groups = _groups(problem)
    incidence = _incidence([problem.candidates[g[0]] for g in groups], row)
    sizes = np.array([len(g) for g in groups], dtype=float)
    ones = np.ones(len(groups))
    cover = LinearConstraint(incidence, lb=need, ub=np.inf)
    first = milp(ones, constraints=[cover], integrality=ones, bounds=Bounds(0, sizes), options=_options(time_limit))
    if first.x is None:
        return _cover("exact", problem, [], False, f"no solution within {time_limit:g} s ({first.message})", start)
    size = int(round(float(first.fun)))
    counts = [int(round(v)) for v in first.x]
    left = max(time_limit - (time.perf_counter() - start), 0.2)
    second = _closest(problem, groups, incidence, need, size, left)
    if second is not None and second.x is not None:  # how many of each group; its closest members (same cost)
        spread = [j for j, g in enumerate(groups) for _ in g]
        counts = [0] * len(groups)
        for j, value in zip(spread, second.x, strict=True):
            counts[j] += int(value > 0.5)
    chosen = [m for g, k in zip(groups, counts, strict=True) for m in g[:k]]
    chosen.sort(key=lambda m: (problem.distance[m], m))
    if first.status != 0:
        status = f"time limit reached ({time_limit:g} s): best set found, not proven smallest"
    elif second is None or second.status != 0:
        status = f"smallest size proven; time limit reached ({time_limit:g} s) before the closest such set was"
    else:
        status = "optimal"
    return _cover("exact", problem, chosen, status == "optimal", status, start)


def _incidence(columns: Sequence[frozenset[str]], row: Mapping[str, int]) -> sparse.csr_array:
    """Provisions × columns: 1 where the column's move helps the provision."""
    rows = [row[p] for refs in columns for p in refs]
    cols = [j for j, refs in enumerate(columns) for _ in refs]
    return sparse.csr_array((np.ones(len(rows)), (rows, cols)), shape=(len(row), len(columns)))


def _closest(
    problem: CoverProblem,
    groups: list[list[str]],
    incidence: sparse.csr_array,
    need: np.ndarray,
    size: int,
    seconds: float,
) -> Any:
    """Phase 2: among the sets of ``size`` members, the one with the smallest total distance."""
    spread = [j for j, g in enumerate(groups) for _ in g]  # the group (column of ``incidence``) of each member
    n = len(spread)
    cover = LinearConstraint(incidence[:, spread], lb=need, ub=np.inf)
    exactly = LinearConstraint(np.ones((1, n)), lb=size, ub=size)
    constraints = [cover, exactly]
    cost = np.array([problem.distance[m] for g in groups for m in g])
    integral = np.ones(n)
    return milp(cost, constraints=constraints, integrality=integral, bounds=Bounds(0, 1), options=_options(seconds))


def _options(seconds: float) -> dict[str, float | bool]:
    return {"time_limit": float(seconds), "disp": False, "mip_rel_gap": 1e-9}


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class Holdout:
    """A member without recorded support for at least one provision of the package."""

    code: str
    missing: list[str]  # item refs it does not support
    short: list[str]  # … of which are short of the threshold
    distance: float  # alignment distance to the package's supporters
    persuade: bool  # in the chosen persuasion set


@dataclass(frozen=True)
class ConsensusReport:
    forum: Forum
    at: dt.date | None
    threshold: str
    basis: str
    required: int
    items: list[ItemSupport]
    package_supporters: list[str]  # members supporting every provision of the package
    reference: str  # whom distances are measured to: "all" (package supporters), "any", or "none"
    holdouts: list[Holdout]
    method: str
    lower_bound: int
    guarantee: float  # H(k)
    exact: Cover | None
    greedy: Cover | None
    chosen: str | None  # which cover ``persuade`` is: exact | greedy | None (nothing short)
    persuade: list[str]


def distances_to(
    record: alignment.Record,
    members: Sequence[str],
    support: Mapping[str, tuple[set[str], set[str]]],
    at: dt.date | None,
) -> tuple[dict[str, float], str, list[str]]:
    """Each member's distance to the package's supporters, which group that is, and the package supporters."""
    groups = [s for s, _ in support.values()]
    every = sorted(set(members).intersection(*groups)) if groups else []
    anyone = sorted(set(members).intersection(*[set().union(*groups)])) if groups else []
    reference, kind = (every, "all") if every else ((anyone, "any") if anyone else ([], "none"))
    if not reference:
        return dict.fromkeys(members, 1.0), kind, every
    vec = alignment.vectors(record, list(members), at)
    sim = np.nan_to_num(alignment.similarity_matrix(vec.values)[0], nan=0.0)
    index = {m: i for i, m in enumerate(members)}
    ref_idx = np.array([index[r] for r in reference])
    out = {}
    for m, i in index.items():
        others = ref_idx[ref_idx != i]
        out[m] = round(1.0 - float(sim[i, others].mean()), 6) if others.size else 1.0
    return out, kind, every


def consensus(
    session: Session,
    *,
    provisions: Sequence[str],
    forum: str | None = UN,
    states: Sequence[str] = (),
    threshold: str = "consensus",
    at: dt.date | None = None,
    method: str = "auto",
    basis: str = "signed",
    time_limit: float = EXACT_TIME_LIMIT,
) -> ConsensusReport:
    """Support for ``provisions`` in the forum, who holds out, and the persuasion set (module docstring)."""
    if threshold not in THRESHOLDS:
        raise Invalid("unknown threshold", [Problem("threshold", f"one of {', '.join(THRESHOLDS)}")])
    if method not in METHODS:
        raise Invalid("unknown method", [Problem("method", f"one of {', '.join(METHODS)}")])
    if basis not in SUPPORT:
        raise Invalid("unknown basis", [Problem("basis", f"one of {', '.join(SUPPORT)}")])
    the_forum = forum_members(session, forum, states=states, at=at)
    items = resolve_items(session, provisions)
    record = alignment.load_record(session)
    members = the_forum.members
    support = supporters_of(record, members, items, at=at, basis=basis)
    per_item = item_support(items, members, support, threshold)
    distance, reference, every = distances_to(record, members, support, at)
    problem = cover_problem(per_item, distance)
    exact, greedy = _solve(problem, method, time_limit)
    chosen = _choose(exact, greedy) if problem.deficits else None
    persuade = (exact if chosen == "exact" else greedy).states if chosen else []  # type: ignore[union-attr]
    return ConsensusReport(
        forum=the_forum,
        at=at,
        threshold=threshold,
        basis=basis,
        required=required(threshold, len(members)),
        items=per_item,
        package_supporters=every,
        reference=reference,
        holdouts=_holdouts(per_item, distance, set(persuade)),
        method=method,
        lower_bound=problem.lower_bound,
        guarantee=round(problem.guarantee, 4),
        exact=exact,
        greedy=greedy,
        chosen=chosen,
        persuade=persuade,
    )


def _solve(problem: CoverProblem, method: str, time_limit: float) -> tuple[Cover | None, Cover | None]:
    if method == "exact":
        return solve_exact(problem, time_limit=time_limit), None
    if method == "greedy" or len(_groups(problem)) > EXACT_GROUPS:
        return None, solve_greedy(problem)
    return solve_exact(problem, time_limit=time_limit), solve_greedy(problem)


def _choose(exact: Cover | None, greedy: Cover | None) -> str:
    """The exact set when proven optimal; otherwise the smaller complete one (exact on ties)."""
    if exact is not None and exact.optimal:
        return "exact"
    found = [c for c in (exact, greedy) if c is not None and c.complete]
    if not found:
        return "exact" if exact is not None else "greedy"
    return min(found, key=lambda c: (c.size, c.distance, c.method != "exact")).method


def _holdouts(per_item: Sequence[ItemSupport], distance: Mapping[str, float], persuade: set[str]) -> list[Holdout]:
    missing: dict[str, list[str]] = {}
    short: dict[str, list[str]] = {}
    for s in per_item:
        for m in s.no_record:
            missing.setdefault(m, []).append(s.item.ref)
            if s.deficit > 0:
                short.setdefault(m, []).append(s.item.ref)
    rows = [
        Holdout(m, refs, short.get(m, []), round(distance.get(m, 1.0), 4), m in persuade) for m, refs in missing.items()
    ]
    return sorted(rows, key=lambda h: (not h.persuade, -len(h.short), -len(h.missing), h.distance, h.code))
