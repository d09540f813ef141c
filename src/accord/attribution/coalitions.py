"""Coalitions and timing of public attributions: who attributed jointly with whom, and how long it took.

Parties are the governments and international organisations that made attributions (companies and media
are left out). Attributions that share a ``joint_group`` were made jointly: one joint statement, which may
name several incidents.

Coalitions
    An attribution is *joint* when its joint group holds at least one other party; otherwise it was made
    *alone* (that includes a group in which one state's agencies spoke together). Two parties form a pair
    when they share a joint group; a pair's ``joint_attributions`` is the number of joint groups they share,
    its ``incidents`` the incidents both attributed within those groups. The co-attribution graph has a node
    per party that ever attributed jointly and an edge per pair, weighted by ``joint_attributions``.

Timing
    For each party and incident, the party's *first* attribution of that incident is an observation:
    ``days`` = its date − the incident's disclosure date. Where the incident has no disclosure date, its start
    date is used instead and the observation is flagged (``from_start``; ``approximate`` too when the start
    is known only to the month or year). Negative values (an attribution dated before the recorded
    disclosure) are kept. A party's figures are the count, the median and the quartiles of its observations
    (quartiles by linear interpolation, Python's ``statistics.quantiles(method="inclusive")``; with one
    observation both quartiles equal it); ``same_day`` counts attributions made on the day of disclosure,
    i.e. the incident was disclosed by the attribution itself. The per-year trend groups observations by the
    year of the attribution.

The year range (``year_from`` / ``year_to``, both optional and inclusive) selects attributions by their
date: joint groups and pairs by the date of the attributions in them, timing observations by the date of
the first attribution (which is found over all years first). Undated attributions are left out. Nothing
here writes.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from accord.core.errors import Invalid, Problem
from accord.incidents.models import Attribution, Incident

KINDS = ("state", "organisation", "company")


@dataclass(frozen=True)
class Party:
    """Who attributed or responded: a state (ISO code), an international organisation (its code) or a company
    (its name). Coalitions and timing count states and organisations only."""

    kind: str
    code: str

    @property
    def sort_key(self) -> tuple[int, str]:
        return (KINDS.index(self.kind), self.code)


@dataclass(frozen=True)
class Row:
    """One attribution, as coalitions and timing see it."""

    id: int
    incident_id: int
    party: Party
    date: dt.date | None
    joint_group: str | None = None
    disclosure_date: dt.date | None = None
    start_date: dt.date | None = None
    date_precision: str = "day"
    incident_name: str = ""


# ---------------------------------------------------------------- result shapes


@dataclass(frozen=True)
class IncidentRef:
    id: int
    name: str


@dataclass(frozen=True)
class Pair:
    a: Party
    b: Party
    joint_attributions: int
    groups: list[str]
    incidents: list[IncidentRef]
    first: dt.date | None
    last: dt.date | None


@dataclass(frozen=True)
class PartyCounts:
    party: Party
    attributions: int
    alone: int
    joint: int
    joint_attributions: int  # distinct joint groups with another party
    partners: int
    incidents: int


@dataclass(frozen=True)
class GraphNode:
    id: str
    kind: str
    joint_attributions: int
    partners: int


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    weight: int


@dataclass(frozen=True)
class Coalitions:
    year_from: int | None
    year_to: int | None
    joint_groups: int  # joint groups with at least two parties
    pairs: list[Pair]
    parties: list[PartyCounts]
    nodes: list[GraphNode]
    edges: list[GraphEdge]


@dataclass(frozen=True)
class Observation:
    incident_id: int
    incident: str
    party: Party
    attribution_id: int
    reference: dt.date
    reference_kind: str  # disclosure | start
    approximate: bool
    date: dt.date
    days: int


@dataclass(frozen=True)
class Stats:
    count: int
    median: float | None
    q1: float | None
    q3: float | None
    min: int | None
    max: int | None
    same_day: int
    from_start: int


@dataclass(frozen=True)
class PartyTiming:
    party: Party
    stats: Stats


@dataclass(frozen=True)
class YearTiming:
    year: int
    stats: Stats


@dataclass(frozen=True)
class TimingSummary:
    """A :class:`Timing` without its observations: the figures a trends report carries (one observation per party
    and incident would be hundreds of thousands on a large node; ``/api/v1/attribution/timing`` lists them)."""

    year_from: int | None
    year_to: int | None
    overall: Stats
    parties: list[PartyTiming]
    years: list[YearTiming]
    undated: int  # first attributions of incidents with neither a disclosure nor a start date


@dataclass(frozen=True)
class Timing:
    year_from: int | None
    year_to: int | None
    overall: Stats
    parties: list[PartyTiming]
    years: list[YearTiming]
    observations: list[Observation]
    undated: int  # first attributions of incidents with neither a disclosure nor a start date

    def summary(self) -> TimingSummary:
        return TimingSummary(self.year_from, self.year_to, self.overall, self.parties, self.years, self.undated)


# ---------------------------------------------------------------- small statistics


def _r(x: float) -> float:
    return round(float(x), 1)


def stats(observations: Sequence[Observation]) -> Stats:
    """Count, median, quartiles, range of the observations' days; how many were same-day, from the start date."""
    days = sorted(o.days for o in observations)
    same_day = sum(d == 0 for d in days)
    from_start = sum(o.reference_kind == "start" for o in observations)
    if not days:
        return Stats(0, None, None, None, None, None, 0, 0)
    if len(days) == 1:
        q1 = med = q3 = float(days[0])
    else:
        q1, med, q3 = statistics.quantiles(days, n=4, method="inclusive")
    return Stats(len(days), _r(med), _r(q1), _r(q3), days[0], days[-1], same_day, from_start)


def check_years(year_from: int | None, year_to: int | None) -> None:
    if year_from is not None and year_to is not None and year_from > year_to:
        raise Invalid("the year range is empty", [Problem("year_to", "must not be before year_from")])


def in_years(date: dt.date | None, year_from: int | None, year_to: int | None) -> bool:
    if year_from is None and year_to is None:
        return True
    if date is None:
        return False
    return (year_from is None or date.year >= year_from) and (year_to is None or date.year <= year_to)


# ---------------------------------------------------------------- coalitions (pure)


def _groups(rows: Iterable[Row]) -> dict[str, dict[Party, set[int]]]:
    """joint group → party → incidents it attributed in that group."""
    groups: dict[str, dict[Party, set[int]]] = defaultdict(lambda: defaultdict(set))
    for r in rows:
        if r.joint_group:
            groups[r.joint_group][r.party].add(r.incident_id)
    return groups


def coalitions(rows: Sequence[Row], year_from: int | None = None, year_to: int | None = None) -> Coalitions:
    """Pairs, per-party counts and the co-attribution graph of the rows dated within the year range."""
    check_years(year_from, year_to)
    rows = [r for r in rows if in_years(r.date, year_from, year_to)]
    names = {r.incident_id: r.incident_name for r in rows}
    groups = _groups(rows)
    dates: dict[str, list[dt.date]] = defaultdict(list)
    for r in rows:
        if r.joint_group and r.date:
            dates[r.joint_group].append(r.date)
    shared: dict[tuple[Party, Party], list[str]] = defaultdict(list)
    for group in sorted(groups):
        members = sorted(groups[group], key=lambda p: p.sort_key)
        for a, b in combinations(members, 2):
            shared[(a, b)].append(group)
    pairs = []
    for (a, b), names_of_groups in shared.items():
        incidents = sorted({i for g in names_of_groups for i in groups[g][a] & groups[g][b]})
        when = [d for g in names_of_groups for d in dates[g]]
        pairs.append(
            Pair(
                a,
                b,
                len(names_of_groups),
                names_of_groups,
                [IncidentRef(i, names[i]) for i in incidents],
                min(when, default=None),
                max(when, default=None),
            )
        )
    pairs.sort(key=lambda p: (-p.joint_attributions, -len(p.incidents), p.a.sort_key, p.b.sort_key))
    parties = party_counts(rows, groups)
    nodes, edges = graph(pairs, parties)
    return Coalitions(year_from, year_to, sum(len(m) > 1 for m in groups.values()), pairs, parties, nodes, edges)


def party_counts(rows: Sequence[Row], groups: dict[str, dict[Party, set[int]]]) -> list[PartyCounts]:
    by_party: dict[Party, list[Row]] = defaultdict(list)
    for r in rows:
        by_party[r.party].append(r)
    out = []
    for party, mine in by_party.items():
        joint_groups = {r.joint_group for r in mine if r.joint_group and len(groups[r.joint_group]) > 1}
        joint = sum(r.joint_group in joint_groups for r in mine)
        partners = {p for g in joint_groups for p in groups[g]} - {party}
        out.append(
            PartyCounts(
                party=party,
                attributions=len(mine),
                alone=len(mine) - joint,
                joint=joint,
                joint_attributions=len(joint_groups),
                partners=len(partners),
                incidents=len({r.incident_id for r in mine}),
            )
        )
    out.sort(key=lambda c: (-c.attributions, -c.joint, c.party.sort_key))
    return out


def graph(pairs: Sequence[Pair], parties: Sequence[PartyCounts]) -> tuple[list[GraphNode], list[GraphEdge]]:
    """The co-attribution graph as plain lists: nodes (parties that attributed jointly) and weighted edges."""
    nodes = [GraphNode(c.party.code, c.party.kind, c.joint_attributions, c.partners) for c in parties if c.partners > 0]
    nodes.sort(key=lambda n: (-n.joint_attributions, n.id))
    edges = [GraphEdge(p.a.code, p.b.code, p.joint_attributions) for p in pairs]
    return nodes, edges


# ---------------------------------------------------------------- timing (pure)


def first_attributions(rows: Iterable[Row]) -> list[tuple[Row, dt.date]]:
    """Each party's first dated attribution of each incident (earliest date, then lowest id), with its date."""
    first: dict[tuple[Party, int], tuple[dt.date, int, Row]] = {}
    for r in rows:
        if r.date is None:
            continue
        key = (r.party, r.incident_id)
        if key not in first or (r.date, r.id) < first[key][:2]:
            first[key] = (r.date, r.id, r)
    return [(r, date) for date, _, r in first.values()]


def observations(rows: Iterable[Row]) -> tuple[list[Observation], list[Row]]:
    """Each party's first attribution of each incident, measured from disclosure (or start); and the first
    attributions that could not be measured (incident without dates)."""
    out, undated = [], []
    for r, date in first_attributions(rows):
        if r.disclosure_date is not None:
            ref, kind, approximate = r.disclosure_date, "disclosure", False
        elif r.start_date is not None:
            ref, kind, approximate = r.start_date, "start", r.date_precision != "day"
        else:
            undated.append(r)
            continue
        days = (date - ref).days
        out.append(Observation(r.incident_id, r.incident_name, r.party, r.id, ref, kind, approximate, date, days))
    out.sort(key=lambda o: (o.date, o.party.sort_key, o.incident_id))
    return out, undated


def timing(rows: Sequence[Row], year_from: int | None = None, year_to: int | None = None) -> Timing:
    """Days from disclosure to attribution, per party and per year, for first attributions within the years."""
    check_years(year_from, year_to)
    found, unmeasured = observations(rows)
    found = [o for o in found if in_years(o.date, year_from, year_to)]
    undated = sum(in_years(r.date, year_from, year_to) for r in unmeasured)
    by_party: dict[Party, list[Observation]] = defaultdict(list)
    by_year: dict[int, list[Observation]] = defaultdict(list)
    for o in found:
        by_party[o.party].append(o)
        by_year[o.date.year].append(o)
    parties = [PartyTiming(p, stats(obs)) for p, obs in by_party.items()]
    parties.sort(key=lambda t: (-t.stats.count, t.stats.median or 0.0, t.party.sort_key))
    years = [YearTiming(y, stats(by_year[y])) for y in sorted(by_year)]
    return Timing(year_from, year_to, stats(found), parties, years, found, undated)


# ---------------------------------------------------------------- reading the database


def load_rows(session: Session) -> list[Row]:
    """Every attribution made by a state or an international organisation, with its incident's dates."""
    a, i = Attribution, Incident
    stmt = (
        select(a.id, a.incident_id, a.by_state, a.by_organisation, a.date, a.joint_group)
        .add_columns(i.disclosure_date, i.start_date, i.date_precision, i.name)
        .join(i, i.id == a.incident_id)
        .where(or_(a.by_state.is_not(None), a.by_organisation.is_not(None)))
        .order_by(a.id)
    )
    rows = []
    for aid, incident_id, state, org, date, group, disclosed, started, precision, name in session.execute(stmt):
        party = Party("state", state) if state else Party("organisation", org)
        rows.append(Row(aid, incident_id, party, date, group, disclosed, started, precision or "day", name))
    return rows


def coalitions_of(session: Session, *, year_from: int | None = None, year_to: int | None = None) -> Coalitions:
    """Joint attributions as coalition pairs, per-party counts and a graph (see the module docstring)."""
    check_years(year_from, year_to)
    return coalitions(load_rows(session), year_from, year_to)


def timing_of(session: Session, *, year_from: int | None = None, year_to: int | None = None) -> Timing:
    """Days from disclosure to attribution per party and per year (see the module docstring)."""
    check_years(year_from, year_to)
    return timing(load_rows(session), year_from, year_to)
