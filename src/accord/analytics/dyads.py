"""Dyads and trends: who targets whom, how that changes, how fast states attribute, and what responses follow.

The view
    A :class:`DyadFilter` chooses the incidents in view: a period (``year_from`` / ``year_to``, inclusive) on the
    *incident date* — the start date, or the disclosure date when the start is not recorded —, operation types,
    and receiver sectors and categories. A receiver matches when its sector is among the chosen sectors (if any
    are chosen) and its category among the chosen categories (likewise); an incident matches when one of its
    receivers does, and only its matching receivers count. ``attributed_by`` is ``any`` (every public
    attribution: governments, international organisations, companies, media) or ``government`` (states and
    international organisations only). Incidents with no date at all are left out of every view and counted.

The dyad network
    A directed graph (networkx ``DiGraph``): an edge *attributed state → receiver state* for every incident in
    view that a public attribution ascribes to the first and that targeted the second. Per edge: the distinct
    incidents (its weight), the attributions naming the attributed state, mean and maximum intensity over the
    incidents whose intensity is assessed (1–5, see the README), the states (and other parties) that made those
    attributions, and the first and last incident year. A pair where both are the same state is dropped.
    Per node: in- and out-degree (distinct partners) and their weighted forms (incidents summed over edges;
    an incident aimed at two states counts once per edge). Left out and counted: undated incidents, incidents
    no attribution ascribes to a state, incidents with no receiver state, incidents whose only pairs are a
    state with itself, and attributions that name an actor but no state.

Trends per year
    Incidents per year of their incident date (all in view, how many attributed to a state, by operation type,
    mean intensity); public attributions per year of *their own* date (of the incidents matching the other
    filters; the period selects the attribution year), undated ones counted apart.

Time from disclosure to attribution
    Computed by :func:`accord.attribution.coalitions.timing` (its definitions apply unchanged: each party's first
    attribution of an incident, in days from the disclosure date, or from the start date, flagged), over the
    governments and international organisations that attributed the incidents matching the filters; the period
    selects first attributions by their date, as on the coalitions page.

Responses by kind of operation
    For the incidents in view, per operation type: how many drew a response, the responses by type and by EU
    cyber diplomacy toolbox category (the recorded category, else the one the type corresponds to:
    :func:`accord.attribution.precedents.toolbox_of`) and the median days from disclosure (start) to response.

Everything here reads; nothing writes. The pure functions take a :class:`Data` snapshot so they can be worked
by hand in tests; ``*_of(session, ...)`` load the snapshot and call them.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast, get_args

import networkx as nx
import numpy as np
from sqlalchemy import ColumnElement, extract, func, or_, select
from sqlalchemy.orm import Session

from accord.analytics.columns import (
    NONE,
    Att,
    Data,
    Inc,
    Rec,
    Record,
    Resp,
    distinct,
    expand,
    lookup,
    memo,
    quiet_gc,
    record_of,
    spans,
    years,
)
from accord.attribution import coalitions as co
from accord.attribution.precedents import TOOLBOX, days_between, median, toolbox_of
from accord.core.errors import Invalid, Problem
from accord.incidents import schemas
from accord.incidents.models import Attribution, Incident, IncidentReceiver, Response

OPERATION_TYPES: tuple[str, ...] = get_args(schemas.OperationType)
SECTORS: tuple[str, ...] = get_args(schemas.Sector)
CATEGORIES: tuple[str, ...] = get_args(schemas.ReceiverCategory)
RESPONSE_TYPES: tuple[str, ...] = get_args(schemas.ResponseType)
ATTRIBUTED_BY = ("any", "government")
FIRST_YEAR, LAST_YEAR = 1900, 2100
EXAMPLES = 10  # incident ids listed per edge (most intense, then most recent)


# ---------------------------------------------------------------- the filter


@dataclass(frozen=True)
class DyadFilter:
    """Which incidents are in view (see the module docstring). Field names in problems are the API's."""

    year_from: int | None = None
    year_to: int | None = None
    types: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    attributed_by: str = "any"

    def problems(self) -> list[Problem]:
        found = []
        for name in ("year_from", "year_to"):
            year = getattr(self, name)
            if year is not None and not FIRST_YEAR <= year <= LAST_YEAR:
                found.append(Problem(name, f"give a year between {FIRST_YEAR} and {LAST_YEAR}"))
        if self.year_from is not None and self.year_to is not None and self.year_from > self.year_to:
            found.append(Problem("year_to", "must not be before year_from"))
        for name, given, known in (
            ("type", self.types, OPERATION_TYPES),
            ("sector", self.sectors, SECTORS),
            ("category", self.categories, CATEGORIES),
        ):
            found += [
                Problem(name, f"unknown value {v!r}; one of: {', '.join(known)}") for v in given if v not in known
            ]
        if self.attributed_by not in ATTRIBUTED_BY:
            found.append(Problem("attributed_by", f"one of: {', '.join(ATTRIBUTED_BY)}"))
        return found

    def check(self) -> DyadFilter:
        """The filter itself; ``Invalid`` naming each bad field otherwise."""
        problems = self.problems()
        if problems:
            raise Invalid("the analytics filter is not valid", problems)
        return self

    def params(self) -> dict[str, Any]:
        """The filter as query parameters (lists for repeated ones), empty ones dropped."""
        out: dict[str, Any] = {
            "year_from": self.year_from,
            "year_to": self.year_to,
            "type": list(self.types),
            "sector": list(self.sectors),
            "category": list(self.categories),
            "attributed_by": None if self.attributed_by == "any" else self.attributed_by,
        }
        return {k: v for k, v in out.items() if v not in (None, [], "")}

    def in_period(self, date: dt.date | None) -> bool:
        if date is None:
            return False
        return (self.year_from is None or date.year >= self.year_from) and (
            self.year_to is None or date.year <= self.year_to
        )

    def receiver_matches(self, receiver: Rec) -> bool:
        return (not self.sectors or receiver.sector in self.sectors) and (
            not self.categories or receiver.category in self.categories
        )

    def counts_attribution(self, a: Att) -> bool:
        return self.attributed_by == "any" or a.by_state is not None or a.by_organisation is not None


def _incident_conditions(flt: DyadFilter, period: bool) -> list[ColumnElement[bool]]:
    i = Incident
    conds: list[ColumnElement[bool]] = []
    if flt.types:
        conds.append(i.operation_type.in_(flt.types))
    when = func.coalesce(i.start_date, i.disclosure_date)
    undated = i.start_date.is_(None) & i.disclosure_date.is_(None)  # kept, to be counted
    if period and flt.year_from is not None:
        conds.append(or_(when >= dt.date(flt.year_from, 1, 1), undated))
    if period and flt.year_to is not None:
        conds.append(or_(when <= dt.date(flt.year_to, 12, 31), undated))
    return conds


def _columns(table: Any, fields: Iterable[str]) -> list[Any]:
    return [table.c[name] for name in fields]


def load(session: Session, flt: DyadFilter | None = None, *, period: bool = True, responses: bool = True) -> Data:
    """The rows the computations need; operation types (and the period, unless ``period=False``) are applied in
    SQL, everything else by the pure functions. The rows are the database's own (Core rows with the attribute
    names of :class:`Inc`, :class:`Rec`, :class:`Att`, :class:`Resp`; an incident row also carries ``date``):
    copying 500,000 rows into tuples of our own would cost as much as reading them."""
    flt = flt or DyadFilter()
    conds = _incident_conditions(flt, period)
    i = Incident.__table__
    execute = session.connection().execute

    def rows(model: Any, fields: Sequence[str]) -> list[Any]:
        table = model.__table__
        stmt = select(*_columns(table, fields))
        if conds:
            stmt = stmt.join(i, i.c.id == table.c.incident_id).where(*conds)
        return list(execute(stmt).all())

    incident_columns = [*_columns(i, Inc._fields), func.coalesce(i.c.start_date, i.c.disclosure_date).label("date")]
    return Data(
        incidents=cast(list[Inc], execute(select(*incident_columns).where(*conds)).all()),
        receivers=cast(list[Rec], rows(IncidentReceiver, Rec._fields)),
        attributions=cast(list[Att], rows(Attribution, Att._fields)),
        responses=cast(list[Resp], rows(Response, Resp._fields) if responses else []),
    )


# ---------------------------------------------------------------- choosing the incidents in view


@dataclass(frozen=True)
class View:
    """The incidents the filter keeps (dated, in the period) with their matching receivers."""

    incidents: dict[int, Inc]
    receivers: dict[int, list[Rec]]
    matching: set[int]  # incidents matching type / sector / category, dated or not, in the period or not
    undated: int


def _by_incident(rows: Iterable[Any]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        out[row.incident_id].append(row)
    return out


def view(data: Data, flt: DyadFilter) -> View:
    """Apply the filter: types, then receivers by sector / category, then the date and the period.

    The loops below unpack rows by position (the field order of :class:`Inc` and :class:`Rec`): at 100,000
    incidents attribute access alone would cost a tenth of a second."""
    receivers: dict[int, list[Rec]] = defaultdict(list)
    for rec in data.receivers:
        receivers[rec[0]].append(rec)
    kept: dict[int, Inc] = {}
    kept_receivers: dict[int, list[Rec]] = {}
    matching: set[int] = set()
    undated = 0
    types, sectors, categories = set(flt.types), set(flt.sectors), set(flt.categories)
    narrowed = bool(sectors or categories)
    first, last = flt.year_from or dt.MINYEAR, flt.year_to or dt.MAXYEAR
    empty: list[Rec] = []
    for inc in data.incidents:
        iid = inc[0]
        if types and inc[1] not in types:
            continue
        recs = receivers.get(iid, empty)
        if narrowed:
            recs = [r for r in recs if (not sectors or r[3] in sectors) and (not categories or r[2] in categories)]
            if not recs:
                continue
        matching.add(iid)
        when = inc[3] or inc[4]
        if when is None:
            undated += 1
        elif first <= when.year <= last:
            kept[iid] = inc
            kept_receivers[iid] = recs
    return View(kept, kept_receivers, matching, undated)


# ---------------------------------------------------------------- the dyad network


@dataclass(frozen=True)
class Edge:
    """Attributed state → receiver state: the incidents in view linking them."""

    source: str
    target: str
    incidents: int
    attributions: int
    mean_intensity: float | None
    max_intensity: int | None
    assessed: int  # incidents whose intensity is assessed
    attributing_states: list[str]
    other_attributors: list[str]  # organisations' codes and companies' names
    first_year: int
    last_year: int
    reciprocal: bool  # the receiver is also the attributed state of an edge back to the source
    examples: list[int]  # up to EXAMPLES incident ids: most intense, then most recent


@dataclass(frozen=True)
class Node:
    state: str
    out_degree: int  # receiver states it is said to have targeted
    in_degree: int  # attributed states said to have targeted it
    out_incidents: int  # weighted out-degree: incidents summed over its outgoing edges
    in_incidents: int  # weighted in-degree
    attributed_incidents: int  # distinct incidents in view ascribed to it (with a receiver state)
    targeted_incidents: int  # distinct incidents in view aimed at it (ascribed to a state)


@dataclass(frozen=True)
class LeftOut:
    """What the network could not use, and why."""

    undated: int = 0
    unattributed: int = 0  # no attribution in view names a state
    no_receiver_state: int = 0  # no (matching) receiver is a state
    same_state: int = 0  # the only pairs are a state with itself
    attributions_without_state: int = 0  # attributions (of incidents in view) naming an actor but no state


@dataclass(frozen=True)
class Summary:
    incidents_in_view: int
    incidents_in_network: int
    states: int
    dyads: int
    density: float
    reciprocity: float | None  # share of edges whose reverse edge exists


@dataclass(frozen=True)
class DyadReport:
    filter: DyadFilter
    summary: Summary
    edges: list[Edge]  # most incidents first
    nodes: list[Node]  # most incidents (in + out) first
    left_out: LeftOut


def _in_view(r: Record, flt: DyadFilter) -> tuple[np.ndarray, np.ndarray, int]:
    """The filter on the columns (as :func:`view`): incidents kept (by position), receivers that match, undated."""
    kept = np.ones(len(r.incident_id), bool)
    if flt.types:
        kept &= np.isin(r.incident_type, r.labels.codes(flt.types))
    matches = np.ones(len(r.receiver_incident), bool)
    if flt.sectors:
        matches &= np.isin(r.receiver_sector, r.labels.codes(flt.sectors))
    if flt.categories:
        matches &= np.isin(r.receiver_category, r.labels.codes(flt.categories))
    place = r.incident_at(r.receiver_incident)
    if flt.sectors or flt.categories:
        matched = np.zeros(len(kept), bool)
        matched[place[matches & (place >= 0)]] = True
        kept &= matched
    when = np.where(r.start != NONE, r.start, r.disclosure)
    undated = int(np.count_nonzero(kept & (when == NONE)))
    year = years(when)
    kept &= (when != NONE) & (year >= (flt.year_from or dt.MINYEAR)) & (year <= (flt.year_to or dt.MAXYEAR))
    return kept, matches & lookup(kept, place, False), undated


def dyad_graph(data: Data | Record, flt: DyadFilter | None = None) -> tuple[nx.DiGraph, LeftOut]:
    """The directed network of the incidents in view. Edge attributes: ``weight`` (incidents), ``incidents``
    (their ids), ``attributions``, ``states`` and ``others`` (the attributing parties), ``intensity_sum``,
    ``assessed``, ``intensity_max``, ``first`` and ``last`` (incident dates) and ``examples``.

    Computed on the record as columns (:mod:`accord.analytics.columns`); tests/analytics/dyads_reference.py
    computes the same graph row by row, and a test compares the two on random records."""
    flt = (flt or DyadFilter()).check()
    r = data if isinstance(data, Record) else Record(data)
    width = r.width
    kept, matches, undated = _in_view(r, flt)
    # attributions in view, per (incident, attributed state): the entries
    at = r.incident_at(r.att_incident)
    seen = lookup(kept, at, False)
    if flt.attributed_by == "government":
        seen &= (r.att_by >= 0) | (r.att_org >= 0)
    without_state = int(np.count_nonzero(seen & (r.att_state < 0)))
    seen &= r.att_state >= 0
    entry_of = at[seen] * width + r.att_state[seen]
    entries, entry_index, per_entry = np.unique(entry_of, return_inverse=True, return_counts=True)
    entry_incident, entry_state = entries // width, entries % width
    # receiver states of the incidents in view (matching the filter)
    place = r.incident_at(r.receiver_incident)
    aimed = matches & (r.receiver_state >= 0)
    targets = distinct(place[aimed] * width + r.receiver_state[aimed])
    target_incident, target_state = targets // width, targets % width
    owner, found = expand(target_incident, entry_incident)
    target = target_state[found]
    paired = target != entry_state[owner]
    owner, target = owner[paired], target[paired]
    # what could not be used
    named = np.zeros(len(kept), bool)
    named[entry_incident] = True
    aimed_at = np.zeros(len(kept), bool)
    aimed_at[target_incident] = True
    in_pairs = np.zeros(len(kept), bool)
    in_pairs[entry_incident[owner]] = True
    left = LeftOut(
        undated=undated,
        unattributed=int(np.count_nonzero(kept & ~named)),
        no_receiver_state=int(np.count_nonzero(kept & named & ~aimed_at)),
        same_state=int(np.count_nonzero(kept & named & aimed_at & ~in_pairs)),
        attributions_without_state=without_state,
    )
    # one row per (source, target, incident), grouped by edge in the order the incidents were read
    source, incident = entry_state[owner], entry_incident[owner]
    edge = source * width + target
    order = np.lexsort((incident, edge))
    edge, source, target, incident, owner = edge[order], source[order], target[order], incident[order], owner[order]
    intensity = r.intensity[incident]
    assessed = ~np.isnan(intensity)
    scored = np.where(assessed, intensity, 0.0)
    when = np.where(r.start != NONE, r.start, r.disclosure)[incident]
    parties = _parties(r, seen, entry_index, owner, edge, width)
    ids = r.incident_id[incident]
    best = np.lexsort((ids, -when, -scored, edge))  # most intense, then most recent, then lowest id
    g: nx.DiGraph = nx.DiGraph()
    rows = []
    for start, end in spans(edge):
        states, others = parties.get(int(edge[start]), (set(), set()))
        rows.append(
            (
                r.states.values[source[start]],
                r.states.values[target[start]],
                {
                    "weight": end - start,
                    "incidents": ids[start:end].tolist(),
                    "attributions": int(per_entry[owner[start:end]].sum()),
                    "states": states,
                    "others": others,
                    "intensity_sum": int(scored[start:end].sum()),
                    "assessed": int(assessed[start:end].sum()),
                    "intensity_max": int(scored[start:end].max()),
                    "first": dt.date.fromordinal(int(when[start:end].min())),
                    "last": dt.date.fromordinal(int(when[start:end].max())),
                    "examples": ids[best[start : min(end, start + EXAMPLES)]].tolist(),
                },
            )
        )
    rows.sort(key=lambda row: (row[0], row[1]))
    g.add_edges_from(rows)
    g.graph["incidents_in_view"] = int(np.count_nonzero(kept))
    return g, left


def _parties(
    r: Record, seen: np.ndarray, entry_index: np.ndarray, owner: np.ndarray, edge: np.ndarray, width: int
) -> dict[int, tuple[set[str], set[str]]]:
    """Per edge: the states, and the other parties (organisations, companies), whose attributions in view name its
    source for one of its incidents."""
    by, org, company = r.att_by[seen], r.att_org[seen], r.att_company[seen]
    party = np.where(by >= 0, by, np.where(org >= 0, width + org, np.where(company >= 0, width + company, NONE)))
    has = party >= 0
    size = width + len(r.organisations.values)  # party codes: states, then organisations and companies
    per_entry = distinct(entry_index[has] * size + party[has])
    rows_of_entry = np.argsort(owner, kind="stable")
    where, found = expand(owner[rows_of_entry], per_entry // size)
    pairs = distinct(edge[rows_of_entry][found] * size + per_entry[where] % size)
    edges, codes = pairs // size, pairs % size
    names = np.array([*r.states.values, *([None] * (width - len(r.states.values))), *r.organisations.values], object)
    out: dict[int, tuple[set[str], set[str]]] = {}
    for start, end in spans(edges):
        cut = int(np.searchsorted(codes[start:end], width)) + start  # states first: their codes are below width
        out[int(edges[start])] = (set(names[codes[start:cut]].tolist()), set(names[codes[cut:end]].tolist()))
    return out


def _edge(g: nx.DiGraph, source: str, target: str) -> Edge:
    d = g.edges[source, target]
    assessed = d["assessed"]
    return Edge(
        source=source,
        target=target,
        incidents=d["weight"],
        attributions=d["attributions"],
        mean_intensity=round(d["intensity_sum"] / assessed, 2) if assessed else None,
        max_intensity=d["intensity_max"] if assessed else None,
        assessed=assessed,
        attributing_states=sorted(d["states"]),
        other_attributors=sorted(d["others"]),
        first_year=d["first"].year,
        last_year=d["last"].year,
        reciprocal=g.has_edge(target, source),
        examples=d["examples"],
    )


def _nodes(g: nx.DiGraph) -> list[Node]:
    out_ids: dict[str, set[int]] = defaultdict(set)
    in_ids: dict[str, set[int]] = defaultdict(set)
    for source, target, incidents in g.edges(data="incidents"):
        out_ids[source].update(incidents)
        in_ids[target].update(incidents)
    nodes = [
        Node(
            state=n,
            out_degree=g.out_degree(n),
            in_degree=g.in_degree(n),
            out_incidents=g.out_degree(n, weight="weight"),
            in_incidents=g.in_degree(n, weight="weight"),
            attributed_incidents=len(out_ids[n]),
            targeted_incidents=len(in_ids[n]),
        )
        for n in g.nodes
    ]
    nodes.sort(key=lambda n: (-(n.out_incidents + n.in_incidents), n.state))
    return nodes


def report(g: nx.DiGraph, left: LeftOut, flt: DyadFilter) -> DyadReport:
    """Edges, node measures and a summary of a graph built by :func:`dyad_graph`."""
    edges = [_edge(g, s, t) for s, t in g.edges]
    edges.sort(key=lambda e: (-e.incidents, -(e.max_intensity or 0), -(e.mean_intensity or 0), e.source, e.target))
    in_network = {i for _, _, ids in g.edges(data="incidents") for i in ids}
    summary = Summary(
        incidents_in_view=g.graph.get("incidents_in_view", 0),
        incidents_in_network=len(in_network),
        states=g.number_of_nodes(),
        dyads=g.number_of_edges(),
        density=round(nx.density(g), 4) if g.number_of_nodes() > 1 else 0.0,
        reciprocity=round(nx.reciprocity(nx.DiGraph(list(g.edges))), 4) if g.number_of_edges() else None,
    )
    return DyadReport(flt, summary, edges, _nodes(g), left)


def dyads(data: Data | Record, flt: DyadFilter | None = None) -> DyadReport:
    """The dyad network of the data under the filter, as edges (top dyads first), node measures and counts."""
    flt = (flt or DyadFilter()).check()
    g, left = dyad_graph(data, flt)
    return report(g, left, flt)


def dyads_of(session: Session, flt: DyadFilter | None = None) -> DyadReport:
    """:func:`dyads` on the database."""
    flt = (flt or DyadFilter()).check()

    def compute() -> DyadReport:
        return dyads(record_of(session), flt)

    return memo(session, ("dyads", flt), compute)


# ---------------------------------------------------------------- trends per year


@dataclass(frozen=True)
class YearRow:
    year: int
    incidents: int  # incidents in view dated that year
    attributed: int  # … of which a public attribution ascribes to a state
    mean_intensity: float | None
    by_type: dict[str, int]
    attributions: int  # public attributions dated that year (of incidents matching the other filters)
    government_attributions: int  # … made by states and international organisations


@dataclass(frozen=True)
class ResponseRow:
    """The responses that followed one kind of operation (``operation_type`` "all": every kind)."""

    operation_type: str
    incidents: int
    responded: int  # incidents with at least one response
    responses: int
    by_type: dict[str, int]
    by_toolbox: dict[str, int]  # every toolbox category, in the toolbox's order
    median_days: float | None  # disclosure (start) → response, dated responses only


@dataclass(frozen=True)
class TrendLeftOut:
    undated_incidents: int
    undated_attributions: int
    undated_responses: int  # left out of median_days only


@dataclass(frozen=True)
class TrendReport:
    filter: DyadFilter
    years: list[YearRow]
    timing: co.TimingSummary  # without the observations (see coalitions.TimingSummary)
    responses: list[ResponseRow]  # per operation type (most incidents first), then "all"
    left_out: TrendLeftOut


def _span(years: Iterable[int], flt: DyadFilter) -> range:
    found = list(years)
    first = flt.year_from if flt.year_from is not None else min(found, default=None)
    last = flt.year_to if flt.year_to is not None else max(found, default=None)
    if first is None or last is None:
        return range(0)
    return range(first, last + 1)


def _year_rows(v: View, data: Data, flt: DyadFilter) -> tuple[list[YearRow], int]:
    named = {a.incident_id for a in data.attributions if a.attributed_state and flt.counts_attribution(a)}
    per_year: dict[int, list[Inc]] = defaultdict(list)
    for inc in v.incidents.values():
        per_year[inc.date.year].append(inc)  # type: ignore[union-attr]  # in view: dated
    made: Counter[int] = Counter()
    official: Counter[int] = Counter()
    undated = 0
    for a in data.attributions:
        if a.incident_id not in v.matching or not flt.counts_attribution(a):
            continue
        if a.date is None:
            undated += 1
        elif flt.in_period(a.date):
            made[a.date.year] += 1
            official[a.date.year] += a.by_state is not None or a.by_organisation is not None
    rows = []
    for year in _span([*per_year, *made], flt):
        incs = per_year.get(year, [])
        assessed = [i.intensity for i in incs if i.intensity is not None]
        types = Counter(i.operation_type for i in incs)
        rows.append(
            YearRow(
                year=year,
                incidents=len(incs),
                attributed=sum(i.id in named for i in incs),
                mean_intensity=round(statistics.fmean(assessed), 2) if assessed else None,
                by_type=dict(sorted(types.items(), key=lambda kv: (-kv[1], kv[0]))),
                attributions=made[year],
                government_attributions=official[year],
            )
        )
    return rows, undated


def _timing(v: View, data: Data, flt: DyadFilter) -> co.TimingSummary:
    inc = {i.id: i for i in data.incidents if i.id in v.matching}
    rows = [
        co.Row(
            a.id,
            a.incident_id,
            co.Party("state", a.by_state) if a.by_state else co.Party("organisation", a.by_organisation or ""),
            a.date,
            a.joint_group,
            inc[a.incident_id].disclosure_date,
            inc[a.incident_id].start_date,
            inc[a.incident_id].date_precision or "day",
        )
        for a in data.attributions
        if a.incident_id in inc and (a.by_state or a.by_organisation)
    ]
    return co.timing(rows, flt.year_from, flt.year_to).summary()


def _response_row(kind: str, incidents: Sequence[Inc], responses: dict[int, list[Resp]]) -> ResponseRow:
    mine = [r for i in incidents for r in responses.get(i.id, ())]
    toolbox = Counter(toolbox_of(r.type, r.eu_toolbox)[0] for r in mine)
    ref = {i.id: i.disclosure_date or i.start_date for i in incidents}
    days = [d for r in mine if (d := days_between(ref[r.incident_id], r.date)) is not None]
    types = Counter(r.type for r in mine)
    return ResponseRow(
        operation_type=kind,
        incidents=len(incidents),
        responded=sum(1 for i in incidents if responses.get(i.id)),
        responses=len(mine),
        by_type=dict(sorted(types.items(), key=lambda kv: (-kv[1], kv[0]))),
        by_toolbox={c: toolbox.get(c, 0) for c in (*TOOLBOX, *sorted(set(toolbox) - set(TOOLBOX)))},
        median_days=median(days),
    )


def _responses(v: View, data: Data) -> tuple[list[ResponseRow], int]:
    responses = _by_incident(r for r in data.responses if r.incident_id in v.incidents)
    undated = sum(1 for rs in responses.values() for r in rs if r.date is None)
    by_type: dict[str, list[Inc]] = defaultdict(list)
    for inc in v.incidents.values():
        by_type[inc.operation_type].append(inc)
    rows = [_response_row(kind, incs, responses) for kind, incs in by_type.items()]
    rows.sort(key=lambda r: (-r.incidents, r.operation_type))
    rows.append(_response_row("all", list(v.incidents.values()), responses))
    return rows, undated


def trends(data: Data, flt: DyadFilter | None = None) -> TrendReport:
    """Per-year trends, disclosure-to-attribution timing and responses per kind of operation (module docstring).
    ``data`` must hold every year (loaded with ``period=False``): attributions are counted by their own date."""
    flt = (flt or DyadFilter()).check()
    v = view(data, flt)
    years, undated_attributions = _year_rows(v, data, flt)
    responses, undated_responses = _responses(v, data)
    left = TrendLeftOut(v.undated, undated_attributions, undated_responses)
    return TrendReport(flt, years, _timing(v, data, flt), responses, left)


def trends_of(session: Session, flt: DyadFilter | None = None) -> TrendReport:
    """:func:`trends` on the database."""
    flt = (flt or DyadFilter()).check()

    def compute() -> TrendReport:
        with quiet_gc():
            return trends(load(session, flt, period=False), flt)

    return memo(session, ("trends", flt), compute)


# ---------------------------------------------------------------- small aggregates for the dashboard


def attributions_per_year(session: Session) -> list[tuple[int, int]]:
    """(year, public attributions dated that year), oldest first, years without any included as 0; undated
    attributions are left out. (Cheaper than :func:`trends` when only this series is wanted.)"""
    year = extract("year", Attribution.date)
    rows = session.execute(
        select(year, func.count()).where(Attribution.date.is_not(None)).group_by(year).order_by(year)
    )
    counts = {int(y): int(n) for y, n in rows}
    if not counts:
        return []
    return [(y, counts.get(y, 0)) for y in range(min(counts), max(counts) + 1)]


def attribution_pairs(session: Session, limit: int = 10) -> list[dict[str, Any]]:
    """Most frequent attributing state → attributed state pairs, counted in distinct incidents (who blames whom,
    as opposed to the dyad network's who is said to target whom)."""
    n = func.count(func.distinct(Attribution.incident_id))
    rows = session.execute(
        select(Attribution.by_state, Attribution.attributed_state, n)
        .where(Attribution.by_state.is_not(None), Attribution.attributed_state.is_not(None))
        .group_by(Attribution.by_state, Attribution.attributed_state)
        .order_by(n.desc(), Attribution.by_state, Attribution.attributed_state)
        .limit(limit)
    )
    return [{"by": by, "against": against, "incidents": int(count)} for by, against, count in rows]
