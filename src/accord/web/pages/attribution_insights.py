"""Attribution insights pages: coalitions and timing of attributions (``/attributions/coalitions``, with a year
filter, tables and charts) and the precedents of an incident (``/incidents/{ref}/precedents``).

Public read like the other knowledge-base pages. The figures come from :mod:`accord.attribution.coalitions`
and :mod:`accord.attribution.precedents`; charts are drawn by /static/js/attribution.js from a JSON block.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from accord.attribution import coalitions as co
from accord.attribution import precedents as pr
from accord.core.errors import NotFound, Problem
from accord.web.deps import DbSession
from accord.web.pages.common import render, state_names
from accord.web.pages.lookups import actors_by_id, incident_by_ref
from accord.web.templating import query

router = APIRouter()
CHART_PAIRS = 12  # pairs and parties drawn on the coalition charts (the tables list them all)
CHART_PARTIES = 12
CHART_MIN_COUNT = 2  # a party needs this many observations to appear on the timing chart
TABLE_PAIRS = 20
LIMITS = (5, 10, 20)
SECTION = [("/attributions", "All attributions"), ("/attributions/coalitions", "Coalitions and timing")]


def _years(request: Request) -> tuple[int | None, int | None, dict[str, str], list[Problem]]:
    """year_from / year_to from the query string; bad values are reported and ignored."""
    values: dict[str, int | None] = {}
    raw: dict[str, str] = {}
    problems = []
    for name in ("year_from", "year_to"):
        text = (request.query_params.get(name) or "").strip()[:10]
        raw[name] = text
        values[name] = None
        if not text:
            continue
        if text.isdecimal() and 1900 <= int(text) <= 2100:
            values[name] = int(text)
        else:
            problems.append(Problem(name, "give a year between 1900 and 2100"))
    first, last = values["year_from"], values["year_to"]
    if first is not None and last is not None and first > last:
        problems.append(Problem("year_to", "must not be before year_from"))
        last = None
    return first, last, raw, problems


def party_label(p: co.Party, names: dict[str, str]) -> str:
    return names.get(p.code, p.code) if p.kind == "state" else p.code


def coalition_chart(found: co.Coalitions, timing: co.Timing, names: dict[str, str]) -> dict[str, Any]:
    """The figures the four charts draw (attribution.js): top pairs, alone vs jointly, median days, per year."""
    pairs = found.pairs[:CHART_PAIRS]
    parties = found.parties[:CHART_PARTIES]
    timed = [t for t in timing.parties if t.stats.count >= CHART_MIN_COUNT][:CHART_PARTIES]
    return {
        "pairs": {
            "labels": [f"{party_label(p.a, names)} + {party_label(p.b, names)}" for p in pairs],
            "short": [f"{p.a.code} + {p.b.code}" for p in pairs],  # for narrow screens
            "values": [p.joint_attributions for p in pairs],
        },
        "parties": {
            "labels": [party_label(c.party, names) for c in parties],
            "alone": [c.alone for c in parties],
            "joint": [c.joint for c in parties],
        },
        "timing": {
            "labels": [party_label(t.party, names) for t in timed],
            "median": [t.stats.median for t in timed],
            "iqr": [[t.stats.q1, t.stats.q3] for t in timed],
            "counts": [t.stats.count for t in timed],
        },
        "years": year_series(timing.years),
    }


def export_links(params: dict[str, str]) -> dict[str, str]:
    """CSV and JSON addresses of the page's tables, with the same year range."""
    links = {
        f"{what}_{table}": f"/api/v1/attribution/{what}?" + query(params, format="csv", table=table)
        for what, table in (
            ("coalitions", "pairs"),
            ("coalitions", "parties"),
            ("timing", "parties"),
            ("timing", "years"),
            ("timing", "observations"),
        )
    }
    return links | {f"{what}_json": f"/api/v1/attribution/{what}?" + query(params) for what in ("coalitions", "timing")}


def year_series(years: list[co.YearTiming]) -> dict[str, list[Any]]:
    """Median days and counts per year, every year from the first to the last (none: null median, count 0)."""
    found = {y.year: y.stats for y in years}
    span = range(min(found), max(found) + 1) if found else range(0)
    return {
        "labels": list(span),
        "median": [found[y].median if y in found else None for y in span],
        "counts": [found[y].count if y in found else 0 for y in span],
    }


@router.get("/attributions/coalitions", response_class=HTMLResponse, include_in_schema=False)
def coalitions_page(request: Request, session: DbSession) -> HTMLResponse:
    first, last, raw, problems = _years(request)
    found = co.coalitions_of(session, year_from=first, year_to=last)
    timing = co.timing_of(session, year_from=first, year_to=last)
    names = state_names(session)
    params = {k: str(v) for k, v in (("year_from", first), ("year_to", last)) if v is not None}
    return render(
        request,
        "attribution/coalitions.html",
        {
            "found": found,
            "timing": timing,
            "names": names,
            "raw": raw,
            "problems": problems,
            "filtered": bool(params),
            "chart": coalition_chart(found, timing, names),
            "table_pairs": TABLE_PAIRS,
            "chart_min_count": CHART_MIN_COUNT,
            "section": SECTION,
            "api": export_links(params),
        },
    )


@router.get("/incidents/{ref}/precedents", response_class=HTMLResponse, include_in_schema=False)
def precedents_page(request: Request, session: DbSession, ref: str) -> HTMLResponse:
    incident = incident_by_ref(session, ref)
    if incident is None:
        raise NotFound(f"no incident {ref!r}")
    raw_limit = request.query_params.get("limit", "")
    limit = int(raw_limit) if raw_limit in {str(n) for n in LIMITS} else 10
    include_later = request.query_params.get("scope") == "all"
    report = pr.precedent_report(session, incident.id, limit, include_later=include_later)
    actor_ids = [a.attributed_actor_id for p in report.precedents for a in p.attributions]
    params = {"limit": str(limit), "include_later": "true" if include_later else ""}
    return render(
        request,
        "attribution/precedents.html",
        {
            "i": incident,
            "report": report,
            "names": state_names(session),
            "actors": actors_by_id(session, actor_ids),
            "limit": limit,
            "limits": LIMITS,
            "include_later": include_later,
            "weights": pr.WEIGHTS,
            "type_families": pr.FAMILIES,
            "csv": {
                table: f"/api/v1/incidents/{incident.id}/precedents?" + query(params, format="csv", table=table)
                for table in ("precedents", "toolbox")
            },
            "json_url": f"/api/v1/incidents/{incident.id}/precedents?" + query(params),
        },
    )
