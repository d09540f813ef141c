"""REST API of attribution insights: precedents of an incident, coalitions of attributing states, timing.

    GET /api/v1/incidents/{id}/precedents   the most similar past incidents and what followed them   (read)
    GET /api/v1/attribution/coalitions      who attributed jointly with whom; per-party counts; graph  (read)
    GET /api/v1/attribution/timing          days from disclosure to attribution per party and year    (read)

Public read like the rest of the knowledge base. ``?format=csv`` returns one of the tables as CSV
(``table=`` chooses which). The definitions (similarity formula, joint attribution, timing) are in the
docstrings of :mod:`accord.attribution.precedents` and :mod:`accord.attribution.coalitions`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from accord.attribution import coalitions as co
from accord.attribution import precedents as pr
from accord.auth.access import read_access
from accord.core.types import country_name
from accord.web.deps import DbSession

router = APIRouter(prefix="/api/v1", tags=["attribution insights"])

Reader = Annotated[Any, Depends(read_access("read"))]
IncidentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Year = Annotated[int | None, Query(ge=1900, le=2100, description="first / last year (inclusive) of attribution dates")]
Format = Annotated[Literal["json", "csv"], Query(description="csv: the table named by `table`")]
WHICH = "the table CSV returns (with format=csv)"
CSV_OK = {200: {"content": {"application/json": {}, "text/csv": {}}}}


# ---------------------------------------------------------------- CSV


def _cell(value: Any) -> Any:
    # a text cell starting with = + - @ would be read as a formula by spreadsheets
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return "" if value is None else value


def csv_response(name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


def party_name(p: co.Party | None) -> str:
    if p is None:
        return ""
    return (country_name(p.code) or p.code) if p.kind == "state" else p.code


def _parties(parties: Iterable[co.Party]) -> str:
    return "; ".join(p.code for p in parties)


# ---------------------------------------------------------------- precedents


def _precedent_rows(report: pr.PrecedentReport) -> Iterable[list[Any]]:
    for n, p in enumerate(report.precedents, 1):
        i = p.incident
        attributors = dict.fromkeys(a.by for a in p.attributions if a.by is not None)
        yield [
            n,
            i.id,
            i.slug,
            i.name,
            i.start_date,
            i.disclosure_date,
            i.operation_type,
            i.intensity,
            p.score,
            *(p.components[k] for k in pr.WEIGHTS),
            "; ".join(p.why),
            len(p.attributions),
            _parties(attributors),
            len(p.responses),
            "; ".join(sorted({r.toolbox for r in p.responses})),
        ]


def _toolbox_rows(report: pr.PrecedentReport) -> Iterable[list[Any]]:
    for g in report.followed.toolbox:
        yield [
            g.category,
            g.label,
            g.responses,
            g.incidents,
            g.recorded,
            g.mapped,
            "; ".join(f"{t}: {n}" for t, n in g.types.items()),
            g.median_days,
            "; ".join(f"{e.incident} ({e.type}, {party_name(e.by)})" for e in g.examples),
        ]


@router.get(
    "/incidents/{incident_id}/precedents",
    response_model=pr.PrecedentReport,
    summary="The most similar past incidents and what followed them",
    responses={**CSV_OK, 404: {"description": "no such incident"}},
)
def precedents(
    session: DbSession,
    _user: Reader,
    incident_id: IncidentId,
    limit: Annotated[int, Query(ge=1, le=pr.MAX_LIMIT)] = 10,
    include_later: Annotated[bool, Query(description="compare with later incidents too, not only earlier")] = False,
    format: Format = "json",
    table: Annotated[Literal["precedents", "toolbox"], Query(description=WHICH)] = "precedents",
) -> Any:
    report = pr.precedent_report(session, incident_id, limit, include_later=include_later)
    if format == "json":
        return report
    if table == "toolbox":
        header = ["category", "label", "responses", "incidents", "recorded", "mapped", "types", "median_days"]
        return csv_response(f"precedents-{incident_id}-toolbox", [*header, "examples"], _toolbox_rows(report))
    header = ["rank", "incident_id", "slug", "name", "start_date", "disclosure_date", "operation_type", "intensity"]
    header += ["score", *(f"{k}_component" for k in pr.WEIGHTS), "why", "attributions", "attributed_by"]
    return csv_response(f"precedents-{incident_id}", [*header, "responses", "toolbox"], _precedent_rows(report))


# ---------------------------------------------------------------- coalitions


@router.get(
    "/attribution/coalitions",
    response_model=co.Coalitions,
    summary="Joint attributions: coalition pairs, per-party counts (alone / jointly), co-attribution graph",
    responses={**CSV_OK, 422: {"description": "year_to before year_from"}},
)
def coalitions(
    session: DbSession,
    _user: Reader,
    year_from: Year = None,
    year_to: Year = None,
    format: Format = "json",
    table: Annotated[Literal["pairs", "parties"], Query(description=WHICH)] = "pairs",
) -> Any:
    found = co.coalitions_of(session, year_from=year_from, year_to=year_to)
    if format == "json":
        return found
    if table == "parties":
        header = ["party", "kind", "name", "attributions", "alone", "joint", "joint_attributions", "partners"]
        rows = (
            [
                c.party.code,
                c.party.kind,
                party_name(c.party),
                c.attributions,
                c.alone,
                c.joint,
                c.joint_attributions,
                c.partners,
                c.incidents,
            ]
            for c in found.parties
        )
        return csv_response("coalition-parties", [*header, "incidents"], rows)
    header = ["party_a", "kind_a", "party_b", "kind_b", "joint_attributions", "incidents", "incident_names"]
    rows = (
        [
            p.a.code,
            p.a.kind,
            p.b.code,
            p.b.kind,
            p.joint_attributions,
            len(p.incidents),
            "; ".join(i.name for i in p.incidents),
            "; ".join(p.groups),
            p.first,
            p.last,
        ]
        for p in found.pairs
    )
    return csv_response("coalition-pairs", [*header, "joint_groups", "first", "last"], rows)


# ---------------------------------------------------------------- timing

STATS = ["count", "median", "q1", "q3", "min", "max", "same_day", "from_start"]


def _stats(s: co.Stats) -> list[Any]:
    return [getattr(s, k) for k in STATS]


@router.get(
    "/attribution/timing",
    response_model=co.Timing,
    summary="Days from disclosure to attribution: median and quartiles per attributing party and per year",
    responses={**CSV_OK, 422: {"description": "year_to before year_from"}},
)
def timing(
    session: DbSession,
    _user: Reader,
    year_from: Year = None,
    year_to: Year = None,
    format: Format = "json",
    table: Annotated[Literal["parties", "years", "observations"], Query(description=WHICH)] = "parties",
) -> Any:
    found = co.timing_of(session, year_from=year_from, year_to=year_to)
    if format == "json":
        return found
    if table == "years":
        return csv_response("timing-years", ["year", *STATS], ([y.year, *_stats(y.stats)] for y in found.years))
    if table == "observations":
        header = ["incident_id", "incident", "party", "kind", "attribution_id", "reference", "reference_kind"]
        rows = (
            [
                o.incident_id,
                o.incident,
                o.party.code,
                o.party.kind,
                o.attribution_id,
                o.reference,
                o.reference_kind,
                o.approximate,
                o.date,
                o.days,
            ]
            for o in found.observations
        )
        return csv_response("timing-observations", [*header, "approximate", "date", "days"], rows)
    rows = ([t.party.code, t.party.kind, party_name(t.party), *_stats(t.stats)] for t in found.parties)
    return csv_response("timing-parties", ["party", "kind", "name", *STATS], rows)
