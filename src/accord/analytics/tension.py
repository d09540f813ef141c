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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.analytics.dyads import FIRST_YEAR, LAST_YEAR, Att, Data, load, memo, quiet_gc
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


# The builders below read rows by position (the field order of Inc, Rec, Att and Resp in
# accord.analytics.dyads) and read the attributions in one pass: at 100,000 incidents and 300,000 attributions
# attribute access and a second pass would each cost a noticeable share of the time.

_MISSING = dt.date.min  # "no attribution seen yet" in Scan.first (None means: seen, but undated)


@dataclass
class Scan:
    """One pass over the attributions: what the operation and the attribution events need."""

    first: dict[tuple[int, str], dt.date | None]  # (incident, attributed state) → first dated attribution
    acts: dict[tuple[Any, ...], list[Any]]  # act key → [date, id, incident, form weight, form, records, group]
    parties: dict[str, set[str]]  # joint group → governments and organisations in it
    undated: int  # state-to-state attributions without a date
    non_state: int  # attributions by an organisation or a company, or naming no state


def scan(attributions: Sequence[Att]) -> Scan:
    """Read every attribution once (see :func:`operation_events` and :func:`attribution_events`)."""
    first: dict[tuple[int, str], dt.date | None] = {}
    acts: dict[tuple[Any, ...], list[Any]] = {}
    parties: dict[str, set[str]] = {}
    undated = non_state = 0
    weights = ATTRIBUTION_WEIGHTS
    for aid, incident_id, by_state, by_org, _company, state, date, group, form in attributions:
        if state is not None:
            seen = (incident_id, state)
            known = first.get(seen, _MISSING)
            if known is _MISSING or (date is not None and (known is None or date < known)):
                first[seen] = date
        if group is not None and (by_state or by_org):
            parties.setdefault(group, set()).add(by_state or f"org:{by_org}")
        if not by_state or not state or by_state == state:
            non_state += not by_state or not state
            continue
        if date is None:
            undated += 1
            continue
        weight = weights.get(form, 1.0)
        key = (by_state, state, group) if group is not None else (by_state, state, form, date)
        act = acts.get(key)
        if act is None:
            acts[key] = [date, aid, incident_id, weight, form, 1, group]
            continue
        act[5] += 1
        if date < act[0] or (date == act[0] and aid < act[1]):
            act[0], act[1], act[2] = date, aid, incident_id
        if weight > act[3] or (weight == act[3] and form < act[4]):
            act[3], act[4] = weight, form
    return Scan(first, acts, parties, undated, non_state)


def operation_events(data: Data, found: Scan | None = None) -> tuple[list[Event], int]:
    """An operation event per incident, attributed state and receiver state (and how many could not be dated)."""
    found = found or scan(data.attributions)
    receivers: dict[int, set[str]] = {}
    for r in data.receivers:
        if r[1]:
            receivers.setdefault(r[0], set()).add(r[1])
    incidents = {i[0]: i for i in data.incidents}
    out: list[Event] = []
    undated = 0
    for (incident_id, state), attributed in found.first.items():
        inc = incidents.get(incident_id)
        targets = receivers.get(incident_id)
        if inc is None or not targets or targets == {state}:
            continue
        public = inc[4] or inc[3]  # disclosure, else start
        when = max(public, attributed) if public and attributed else public or attributed
        if when is None:
            undated += 1
            continue
        weight = float(inc[2] if inc[2] is not None else UNASSESSED_INTENSITY)
        ref = f"incident:{incident_id}"
        for target in targets:
            if target != state:
                out.append(Event("operation", inc[1], state, target, when, weight, incident_id, False, ref))
    return out, undated


def attribution_events(data: Data, found: Scan | None = None) -> tuple[list[Event], int, int]:
    """An attribution event per state's public statement naming another state: one per joint statement (joint
    group), else per form and day — a statement naming several incidents is recorded once per incident. The
    event keeps the act's first record (earliest date, lowest id) and its heaviest form."""
    found = found or scan(data.attributions)
    out = []
    for (by_state, state, *_), (date, aid, incident_id, weight, form, records, group) in found.acts.items():
        joint = group is not None and len(found.parties.get(group, ())) > 1
        weight *= JOINT_FACTOR if joint else 1.0
        ref = f"attribution:{aid}"
        out.append(Event("attribution", form, by_state, state, date, weight, incident_id, joint, ref, records))
    return out, found.undated, found.non_state


class _Act:
    """One measure recorded once per incident it names: its first record (earliest date, lowest id) and how
    many records."""

    __slots__ = ("date", "incident_id", "incidents", "rid")

    def __init__(self, date: dt.date, rid: int, incident_id: int) -> None:
        self.date, self.rid, self.incident_id, self.incidents = date, rid, incident_id, 1

    def add(self, date: dt.date, rid: int, incident_id: int) -> None:
        self.incidents += 1
        if (date, rid) < (self.date, self.rid):
            self.date, self.rid, self.incident_id = date, rid, incident_id


def response_events(data: Data) -> tuple[list[Event], int, int]:
    """A response (or capacity-building, de-escalating) event per state's measure naming another state: one per
    type and day — a measure naming several incidents is recorded once per incident."""
    seen: dict[tuple[str, str, str, dt.date], _Act] = {}
    undated = non_state = 0
    for r in data.responses:
        by_state, against, date, kind_of = r[2], r[4], r[5], r[6]
        if not by_state or not against or by_state == against:
            non_state += not by_state or not against
            continue
        if date is None:
            undated += 1
            continue
        key = (by_state, against, kind_of, date)
        if key in seen:
            seen[key].add(date, r[0], r[1])
        else:
            seen[key] = _Act(date, r[0], r[1])
    out = []
    for (by_state, against, kind_of, _), act in seen.items():
        if kind_of in DEESCALATION_WEIGHTS:
            kind, weight = "de-escalation", -DEESCALATION_WEIGHTS[kind_of]
        else:
            kind, weight = "response", RESPONSE_WEIGHTS.get(kind_of, 1.0)
        ref = f"response:{act.rid}"
        out.append(
            Event(kind, kind_of, by_state, against, act.date, weight, act.incident_id, False, ref, act.incidents)
        )
    return out, undated, non_state


def agreement_events(agreements: Iterable[Agreement]) -> list[Event]:
    weight = -DEESCALATION_WEIGHTS["agreement"]
    return [
        Event("de-escalation", "agreement", g.a, g.b, g.date, weight, ref=f"instrument:{g.code}") for g in agreements
    ]


def events(
    data: Data, agreements: Iterable[Agreement] = ()
) -> tuple[dict[tuple[str, str], list[Event]], TensionLeftOut]:
    """Every pair's events (in no particular order) and what was left out."""
    found = scan(data.attributions)
    ops, undated_ops = operation_events(data, found)
    atts, undated_atts, non_state_atts = attribution_events(data, found)
    resps, undated_resps, non_state_resps = response_events(data)
    by_pair: dict[tuple[str, str], list[Event]] = {}
    for found in (ops, atts, resps, agreement_events(agreements)):
        for e in found:
            a, b = e[2] or "", e[3] or ""
            key = (a, b) if a <= b else (b, a)
            known = by_pair.get(key)
            if known is None:
                by_pair[key] = [e]
            else:
                known.append(e)
    left = TensionLeftOut(undated_ops, undated_atts, undated_resps, non_state_atts, non_state_resps)
    return by_pair, left


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


def ranked(
    by_pair: dict[tuple[str, str], list[Event]], at: dt.date, limit: int, state: str | None = None
) -> list[DyadTension]:
    """The most tense pairs at ``at`` (index > 0; involving ``state`` if given), most tense first."""
    scores = []
    factors: dict[dt.date, float] = {}
    for key, found in by_pair.items():
        if state is not None and state not in key:
            continue
        now = index_at(found, at, factors)
        if now > 0:
            scores.append((-_r(now), key))
    scores.sort()
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


def events_of(session: Session) -> tuple[dict[tuple[str, str], list[Event]], TensionLeftOut]:
    """Every pair's events from the database (receivers, attributions, responses and bilateral agreements),
    remembered while the record is unchanged (:func:`accord.analytics.dyads.memo`)."""

    def compute() -> tuple[dict[tuple[str, str], list[Event]], TensionLeftOut]:
        with quiet_gc():
            return events(load(session, lean=True), agreements_of(session))

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
