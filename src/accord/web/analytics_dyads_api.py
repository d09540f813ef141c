"""REST API of dyads, trends and the tension index.

    GET /api/v1/analytics/dyads              attributed state → receiver state network: edges, nodes, left out  (read)
    GET /api/v1/analytics/trends             per-year trends, disclosure-to-attribution timing, responses      (read)
    GET /api/v1/analytics/tension            the most tense pairs of states at a date (or one state's pairs)   (read)
    GET /api/v1/analytics/tension/{a}/{b}    one pair's index over time and every contribution                 (read)

Public read like the rest of the knowledge base. ``?format=csv`` returns one of the tables (``table=``). Filters
of the first two: ``year_from``, ``year_to``, ``type``, ``sector``, ``category`` (repeat them or separate values
with commas) and ``attributed_by`` (``any`` | ``government``). Definitions: :mod:`accord.analytics.dyads` and
:mod:`accord.analytics.tension`. Bad values are 422 problem+json naming the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from accord.analytics import dyads as dy
from accord.analytics import tension as tn
from accord.attribution.precedents import TOOLBOX
from accord.auth.access import read_access
from accord.core.types import country_name
from accord.web.attribution_insights_api import STATS, csv_response, party_name
from accord.web.deps import DbSession

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

Reader = Annotated[Any, Depends(read_access("read"))]
Year = Annotated[int | None, Query(description="first / last year (inclusive) of the incident date")]
Values = Annotated[list[str], Query(description="one or more values (repeat the parameter or separate with commas)")]
Format = Annotated[Literal["json", "csv"], Query(description="csv: the table named by `table`")]
At = Annotated[dt.date | None, Query(description="the date the index is computed for (default: today)")]
StateCode = Annotated[str, Path(min_length=1, max_length=10, description="ISO 3166-1 alpha-2 code")]
WHICH = "the table CSV returns (with format=csv)"
CSV_OK = {200: {"content": {"application/json": {}, "text/csv": {}}}, 422: {"description": "a bad filter"}}
Report = TypeVar("Report")
Table = tuple[str, Sequence[str], Iterable[Sequence[Any]]]  # a CSV download: file name (no ".csv"), header, rows


def split(values: Iterable[str]) -> tuple[str, ...]:
    """Repeated and comma-separated values, trimmed, in order, each once."""
    out = [v.strip() for value in values for v in value.split(",")]
    return tuple(dict.fromkeys(v for v in out if v))


def dyad_filter(
    year_from: Year = None,
    year_to: Year = None,
    type: Values = [],  # noqa: B006 — FastAPI copies defaults
    sector: Values = [],  # noqa: B006
    category: Values = [],  # noqa: B006
    attributed_by: Annotated[str, Query(description="any | government (states and organisations)")] = "any",
) -> dy.DyadFilter:
    """The filter from the query string; 422 naming each bad field."""
    return dy.DyadFilter(year_from, year_to, split(type), split(sector), split(category), attributed_by).check()


Filter = Annotated[dy.DyadFilter, Depends(dyad_filter)]


def _name(code: str | None) -> str:
    return (country_name(code) or code) if code else ""


def report_route(path: str, model: type, summary: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A GET route answering with ``model`` as JSON, or one of its tables as CSV (see :func:`answer`)."""
    return router.get(path, response_model=model, summary=summary, responses=CSV_OK)


def answer(found: Report, format: str, table: Callable[[Report], Table]) -> Report | Response:
    """``found`` as JSON, or with ``format=csv`` the table ``table`` makes of it, as a download."""
    return found if format == "json" else csv_response(*table(found))


# ---------------------------------------------------------------- dyads

EDGE_COLUMNS = ["source", "source_name", "target", "target_name", "incidents", "attributions", "mean_intensity"]
EDGE_COLUMNS += ["max_intensity", "assessed", "attributing_states", "other_attributors", "first_year", "last_year"]
EDGE_COLUMNS += ["reciprocal", "example_incidents"]
NODE_COLUMNS = ["state", "name", "out_degree", "in_degree", "out_incidents", "in_incidents"]
NODE_COLUMNS += ["attributed_incidents", "targeted_incidents"]


def edge_row(e: dy.Edge) -> list[Any]:
    return [
        e.source,
        _name(e.source),
        e.target,
        _name(e.target),
        e.incidents,
        e.attributions,
        e.mean_intensity,
        e.max_intensity,
        e.assessed,
        "; ".join(e.attributing_states),
        "; ".join(e.other_attributors),
        e.first_year,
        e.last_year,
        e.reciprocal,
        "; ".join(str(i) for i in e.examples),
    ]


def node_row(n: dy.Node) -> list[Any]:
    return [
        n.state,
        _name(n.state),
        n.out_degree,
        n.in_degree,
        n.out_incidents,
        n.in_incidents,
        n.attributed_incidents,
        n.targeted_incidents,
    ]


DYAD_TABLES: dict[str, Callable[[dy.DyadReport], Table]] = {
    "edges": lambda r: ("dyads", EDGE_COLUMNS, (edge_row(e) for e in r.edges)),
    "nodes": lambda r: ("dyad-nodes", NODE_COLUMNS, (node_row(n) for n in r.nodes)),
}


@report_route(
    "/dyads",
    dy.DyadReport,
    "Directed network of attributed operations (attributed state → receiver state), with node measures",
)
def dyads(
    session: DbSession,
    _user: Reader,
    flt: Filter,
    format: Format = "json",
    table: Annotated[Literal["edges", "nodes"], Query(description=WHICH)] = "edges",
) -> Any:
    return answer(dy.dyads_of(session, flt), format, DYAD_TABLES[table])


# ---------------------------------------------------------------- trends


def _years_table(found: dy.TrendReport) -> Table:
    header = ["year", "incidents", "attributed", "mean_intensity", "attributions", "government_attributions"]
    rows = (
        [
            y.year,
            y.incidents,
            y.attributed,
            y.mean_intensity,
            y.attributions,
            y.government_attributions,
            *(y.by_type.get(t, 0) for t in dy.OPERATION_TYPES),
        ]
        for y in found.years
    )
    return "trends-years", [*header, *dy.OPERATION_TYPES], rows


def _responses_table(found: dy.TrendReport) -> Table:
    header = ["operation_type", "incidents", "responded", "responses", "median_days"]
    rows = (
        [
            r.operation_type,
            r.incidents,
            r.responded,
            r.responses,
            r.median_days,
            *(r.by_type.get(t, 0) for t in dy.RESPONSE_TYPES),
            *(r.by_toolbox.get(c, 0) for c in TOOLBOX),
        ]
        for r in found.responses
    )
    return "trends-responses", [*header, *dy.RESPONSE_TYPES, *TOOLBOX], rows


def _timing_table(found: dy.TrendReport) -> Table:
    rows = (
        [t.party.code, t.party.kind, party_name(t.party), *(getattr(t.stats, k) for k in STATS)]
        for t in found.timing.parties
    )
    return "trends-timing", ["party", "kind", "name", *STATS], rows


def _timing_years_table(found: dy.TrendReport) -> Table:
    rows = ([y.year, *(getattr(y.stats, k) for k in STATS)] for y in found.timing.years)
    return "trends-timing-years", ["year", *STATS], rows


TREND_TABLES: dict[str, Callable[[dy.TrendReport], Table]] = {
    "years": _years_table,
    "timing": _timing_table,
    "timing_years": _timing_years_table,
    "responses": _responses_table,
}


@report_route(
    "/trends",
    dy.TrendReport,
    "Trends per year, days from disclosure to attribution, responses per kind of operation",
)
def trends(
    session: DbSession,
    _user: Reader,
    flt: Filter,
    format: Format = "json",
    table: Annotated[Literal["years", "timing", "timing_years", "responses"], Query(description=WHICH)] = "years",
) -> Any:
    return answer(dy.trends_of(session, flt), format, TREND_TABLES[table])


# ---------------------------------------------------------------- tension

TENSION_COLUMNS = ["a", "a_name", "b", "b_name", "other", "at", "index", "previous", "trend", "events", "last_event"]
TENSION_COLUMNS += ["top_driver", "top_driver_date", "top_driver_value"]


def tension_row(d: tn.DyadTension) -> list[Any]:
    top = d.drivers[0] if d.drivers else None
    driver = [tn.describe(top), top.date, top.value] if top else ["", "", ""]
    return [
        d.a,
        _name(d.a),
        d.b,
        _name(d.b),
        d.other,
        d.at,
        d.index,
        d.previous,
        d.trend,
        d.events,
        d.last_event,
        *driver,
    ]


@report_route(
    "/tension",
    tn.TensionOverview,
    "The most tense pairs of states at a date (tension index), or the pairs of one state",
)
def tension(
    session: DbSession,
    _user: Reader,
    at: At = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 10,
    state: Annotated[str | None, Query(max_length=10, description="only the pairs of this state")] = None,
    format: Format = "json",
) -> Any:
    code = tn.check_state(session, state) if state else None
    name = f"tension-{code}" if code else "tension"
    found = tn.overview(session, at=at, limit=limit, state=code)
    return answer(found, format, lambda r: (name, TENSION_COLUMNS, (tension_row(d) for d in r.dyads)))


CONTRIBUTION_COLUMNS = ["date", "kind", "what", "by", "towards", "weight", "value", "joint", "incident_id", "ref"]


def _pair_name(found: tn.DyadSeries) -> str:
    return f"tension-{found.tension.a}-{found.tension.b}"


def _points_table(found: tn.DyadSeries) -> Table:
    points = ([p.date, p.index, p.escalation, p.deescalation] for p in found.points)
    return _pair_name(found), ["date", "index", "escalation", "deescalation"], points


def _contributions_table(found: tn.DyadSeries) -> Table:
    rows = (
        [c.date, c.kind, c.what, c.by, c.towards, c.weight, c.value, c.joint, c.incident_id, c.ref]
        for c in found.contributions
    )
    return f"{_pair_name(found)}-contributions", CONTRIBUTION_COLUMNS, rows


PAIR_TABLES: dict[str, Callable[[tn.DyadSeries], Table]] = {
    "points": _points_table,
    "contributions": _contributions_table,
}


@report_route(
    "/tension/{a}/{b}",
    tn.DyadSeries,
    "One pair's tension index over time (quarter ends) and every contribution",
)
def tension_pair(
    session: DbSession,
    _user: Reader,
    a: StateCode,
    b: StateCode,
    at: At = None,
    format: Format = "json",
    table: Annotated[Literal["points", "contributions"], Query(description=WHICH)] = "points",
) -> Any:
    return answer(tn.dyad_series(session, a, b, at=at), format, PAIR_TABLES[table])
