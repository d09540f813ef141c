"""Analytics pages: the dyad network (``/analytics/dyads``), trends (``/analytics/trends``) and the tension index
(``/analytics/tension``, one pair at ``/analytics/tension/{A}-{B}``).

Public read like the other knowledge-base pages. Filters are a GET form; bad values are reported and left out,
the rest still applies. Figures come from :mod:`accord.analytics.dyads` and :mod:`accord.analytics.tension`;
charts are drawn by /static/js/analytics_dyads.js from a JSON block, the network as an SVG drawn here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.analytics import dyads as dy
from accord.analytics import tension as tn
from accord.attribution.precedents import TOOLBOX, TOOLBOX_LABELS
from accord.core.errors import Invalid, NotFound, Problem
from accord.incidents.models import Incident
from accord.web.deps import DbSession
from accord.web.pages.common import render, state_names

router = APIRouter()
SECTION = [  # the analytics pages (alignment and consensus: accord.web.pages.analytics_alignment)
    ("/analytics/dyads", "Dyads"),
    ("/analytics/trends", "Trends"),
    ("/analytics/tension", "Tension"),
    ("/analytics/alignment", "Alignment and blocs"),
    ("/analytics/consensus", "Consensus finder"),
]
CHART_DYADS = 12  # dyads and states on the bar charts (the tables list them all)
CHART_STATES = 12
TABLE_DYADS = 25
NETWORK_EDGES = 24  # edges drawn on the network figure
TIMING_PARTIES = 15
TENSION_LIMITS = (10, 20, 50)


def qs(params: dict[str, Any], **changes: Any) -> str:
    """A query string with repeated parameters for lists; empty values dropped."""
    merged = {**params, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "", [])}, doseq=True)


def incident_names(session: Session, ids: set[int]) -> dict[int, str]:
    """id → name of the incidents a page links to, in one query."""
    if not ids:
        return {}
    rows = session.execute(select(Incident.id, Incident.name).where(Incident.id.in_(sorted(ids))))
    return {i: name for i, name in rows}


# ---------------------------------------------------------------- the filter form


@dataclass(frozen=True)
class FilterForm:
    """The filter as the form shows it: what was typed, what applies, what was wrong."""

    flt: dy.DyadFilter
    raw: dict[str, str]
    problems: list[Problem]

    @property
    def params(self) -> dict[str, Any]:
        return self.flt.params()

    @property
    def filtered(self) -> bool:
        return bool(self.params)


def _year(text: str, name: str, problems: list[Problem]) -> int | None:
    if not text:
        return None
    if text.isdecimal() and dy.FIRST_YEAR <= int(text) <= dy.LAST_YEAR:
        return int(text)
    problems.append(Problem(name, f"give a year between {dy.FIRST_YEAR} and {dy.LAST_YEAR}"))
    return None


def _choices(request: Request, name: str, known: tuple[str, ...], problems: list[Problem]) -> tuple[str, ...]:
    given = [v.strip() for value in request.query_params.getlist(name) for v in value.split(",") if v.strip()]
    unknown = [v for v in given if v not in known]
    if unknown:
        problems.append(Problem(name, f"unknown value {unknown[0][:40]!r}"))
    return tuple(v for v in known if v in given)


def filter_form(request: Request) -> FilterForm:
    """The filter from the query string; bad values are reported and ignored."""
    problems: list[Problem] = []
    raw = {name: (request.query_params.get(name) or "").strip()[:10] for name in ("year_from", "year_to")}
    first = _year(raw["year_from"], "year_from", problems)
    last = _year(raw["year_to"], "year_to", problems)
    if first is not None and last is not None and first > last:
        problems.append(Problem("year_to", "must not be before year_from"))
        last = None
    by = request.query_params.get("attributed_by") or "any"
    if by not in dy.ATTRIBUTED_BY:
        problems.append(Problem("attributed_by", "choose any or government"))
        by = "any"
    flt = dy.DyadFilter(
        first,
        last,
        _choices(request, "type", dy.OPERATION_TYPES, problems),
        _choices(request, "sector", dy.SECTORS, problems),
        _choices(request, "category", dy.CATEGORIES, problems),
        by,
    )
    return FilterForm(flt, raw, problems)


def filter_context(form: FilterForm, action: str) -> dict[str, Any]:
    return {
        "form": form,
        "flt": form.flt,
        "action": action,
        "options": {"type": dy.OPERATION_TYPES, "sector": dy.SECTORS, "category": dy.CATEGORIES},
        "section": SECTION,
    }


# ---------------------------------------------------------------- the network figure (SVG)

ROW = 26
TOP = 34
WIDTH = 720
LEFT_X, RIGHT_X = 200, 520
SHADES = {1: "#9fb6d3", 2: "#6f93bf", 3: "#3f6ea6", 4: "#1f3a5f", 5: "#7a1f1f"}


def _shade(edge: dy.Edge) -> str:
    return SHADES.get(round(edge.mean_intensity), "#9fb6d3") if edge.mean_intensity is not None else "#b8c0ca"


def network(edges: list[dy.Edge], names: dict[str, str]) -> dict[str, Any] | None:
    """A two-column flow figure of the strongest dyads: attributed states on the left, receiver states on the
    right, one curve per dyad, as wide as its incidents and as dark as its mean intensity."""
    drawn = edges[:NETWORK_EDGES]
    if not drawn:
        return None
    out_w: dict[str, int] = {}
    in_w: dict[str, int] = {}
    for e in drawn:
        out_w[e.source] = out_w.get(e.source, 0) + e.incidents
        in_w[e.target] = in_w.get(e.target, 0) + e.incidents
    left = sorted(out_w, key=lambda s: (-out_w[s], s))
    right = sorted(in_w, key=lambda s: (-in_w[s], s))
    rows = max(len(left), len(right))
    height = TOP + rows * ROW + 10
    ly = {s: TOP + i * ROW + ROW / 2 + (rows - len(left)) * ROW / 2 for i, s in enumerate(left)}
    ry = {s: TOP + i * ROW + ROW / 2 + (rows - len(right)) * ROW / 2 for i, s in enumerate(right)}
    most = max(e.incidents for e in drawn)
    paths = []
    for e in reversed(drawn):  # the strongest drawn last, on top
        y1, y2 = ly[e.source], ry[e.target]
        mid = (LEFT_X + RIGHT_X) / 2
        intensity = f", mean intensity {e.mean_intensity:g}" if e.mean_intensity is not None else ""
        paths.append(
            {
                "d": f"M{LEFT_X + 8},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {RIGHT_X - 8},{y2:.1f}",
                "width": round(1.5 + 8.5 * e.incidents / most, 1),
                "colour": _shade(e),
                "title": f"{names.get(e.source, e.source)} → {names.get(e.target, e.target)}: "
                f"{e.incidents} incident{'s' if e.incidents != 1 else ''}{intensity}",
            }
        )
    return {
        "width": WIDTH,
        "height": height,
        "left": [{"code": s, "name": names.get(s, s), "y": ly[s], "n": out_w[s]} for s in left],
        "right": [{"code": s, "name": names.get(s, s), "y": ry[s], "n": in_w[s]} for s in right],
        "paths": paths,
        "left_x": LEFT_X,
        "right_x": RIGHT_X,
        "shown": len(drawn),
        "shades": SHADES,
    }


# ---------------------------------------------------------------- /analytics/dyads


def dyads_chart(found: dy.DyadReport, names: dict[str, str]) -> dict[str, Any]:
    edges = found.edges[:CHART_DYADS]
    nodes = found.nodes[:CHART_STATES]
    return {
        "dyads": {
            "labels": [f"{names.get(e.source, e.source)} → {names.get(e.target, e.target)}" for e in edges],
            "short": [f"{e.source} → {e.target}" for e in edges],
            "incidents": [e.incidents for e in edges],
            "maxIntensity": [e.max_intensity for e in edges],
        },
        "states": {
            "labels": [names.get(n.state, n.state) for n in nodes],
            "short": [n.state for n in nodes],
            "out": [n.attributed_incidents for n in nodes],
            "in": [n.targeted_incidents for n in nodes],
        },
    }


@router.get("/analytics/dyads", response_class=HTMLResponse, include_in_schema=False)
def dyads_page(request: Request, session: DbSession) -> HTMLResponse:
    form = filter_form(request)
    found = dy.dyads_of(session, form.flt)
    names = state_names(session)
    examples = {i for e in found.edges[:TABLE_DYADS] for i in e.examples[:3]}
    params = form.params
    return render(
        request,
        "analytics/dyads.html",
        {
            **filter_context(form, "/analytics/dyads"),
            "found": found,
            "names": names,
            "incidents": incident_names(session, examples),
            "chart": dyads_chart(found, names),
            "network": network(found.edges, names),
            "table_dyads": TABLE_DYADS,
            "csv": {t: "/api/v1/analytics/dyads?" + qs(params, format="csv", table=t) for t in ("edges", "nodes")},
            "json_url": "/api/v1/analytics/dyads?" + qs(params),
            "qs": qs,
        },
    )


# ---------------------------------------------------------------- /analytics/trends


def trends_chart(found: dy.TrendReport, names: dict[str, str]) -> dict[str, Any]:
    years = found.years
    types = [t for t in dy.OPERATION_TYPES if any(y.by_type.get(t) for y in years)]
    timing = found.timing.years
    rows = [r for r in found.responses if r.operation_type != "all"]
    return {
        "years": {
            "labels": [y.year for y in years],
            "types": [{"label": t.replace("_", " "), "data": [y.by_type.get(t, 0) for y in years]} for t in types],
            "attributions": [y.attributions for y in years],
        },
        "timing": {
            "labels": [y.year for y in timing],
            "median": [y.stats.median for y in timing],
            "counts": [y.stats.count for y in timing],
        },
        "responses": {
            "labels": [r.operation_type.replace("_", " ") for r in rows],
            "toolbox": [{"label": TOOLBOX_LABELS[c], "data": [r.by_toolbox.get(c, 0) for r in rows]} for c in TOOLBOX],
        },
    }


@router.get("/analytics/trends", response_class=HTMLResponse, include_in_schema=False)
def trends_page(request: Request, session: DbSession) -> HTMLResponse:
    form = filter_form(request)
    found = dy.trends_of(session, form.flt)
    names = state_names(session)
    params = form.params
    tables = ("years", "timing", "timing_years", "responses")
    return render(
        request,
        "analytics/trends.html",
        {
            **filter_context(form, "/analytics/trends"),
            "found": found,
            "names": names,
            "chart": trends_chart(found, names),
            "types": [t for t in dy.OPERATION_TYPES if any(y.by_type.get(t) for y in found.years)],
            "toolbox": [(c, TOOLBOX_LABELS[c]) for c in TOOLBOX],
            "timing_parties": TIMING_PARTIES,
            "csv": {t: "/api/v1/analytics/trends?" + qs(params, format="csv", table=t) for t in tables},
            "json_url": "/api/v1/analytics/trends?" + qs(params),
        },
    )


# ---------------------------------------------------------------- /analytics/tension


def _tension_form(request: Request) -> tuple[dt.date | None, int, str, dict[str, str], list[Problem]]:
    """at, limit and state from the query string; bad values are reported and ignored."""
    raw = {k: (request.query_params.get(k) or "").strip()[:12] for k in ("at", "limit", "state")}
    problems = []
    at = None
    if raw["at"]:
        try:
            at = dt.date.fromisoformat(raw["at"])
        except ValueError:
            problems.append(Problem("at", "give a date as YYYY-MM-DD"))
        if at is not None and not dy.FIRST_YEAR <= at.year <= dy.LAST_YEAR:
            problems.append(Problem("at", f"give a date between {dy.FIRST_YEAR} and {dy.LAST_YEAR}"))
            at = None
    limit = int(raw["limit"]) if raw["limit"] in {str(n) for n in TENSION_LIMITS} else TENSION_LIMITS[0]
    return at, limit, raw["state"].upper(), raw, problems


def tension_chart(dyads: list[tn.DyadTension], names: dict[str, str]) -> dict[str, Any]:
    return {
        "tension": {
            "labels": [f"{names.get(d.a, d.a)} – {names.get(d.b, d.b)}" for d in dyads],
            "short": [f"{d.a} – {d.b}" for d in dyads],
            "index": [d.index for d in dyads],
            "previous": [d.previous for d in dyads],
        }
    }


WEIGHTS = {
    "operation": "its intensity, 1–5 (1 when not assessed)",
    "attribution": "political statement, indictment, sanctions listing 1; technical advisory 0.5; ×1.5 when joint",
    "response": ", ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in tn.RESPONSE_WEIGHTS.items()),
    "de-escalation": "an agreement only the two committed to −3; capacity building for the other −1",
}


@router.get("/analytics/tension", response_class=HTMLResponse, include_in_schema=False)
def tension_page(request: Request, session: DbSession) -> HTMLResponse:
    at, limit, state, raw, problems = _tension_form(request)
    names = state_names(session)
    if state and state not in names:
        problems.append(Problem("state", "give the two-letter code of a state"))
        state = ""
    found = tn.overview(session, at=at, limit=limit, state=state or None)
    params = {"at": raw["at"] if at else "", "limit": limit if limit != TENSION_LIMITS[0] else "", "state": state}
    return render(
        request,
        "analytics/tension.html",
        {
            "found": found,
            "names": names,
            "raw": raw,
            "state": state,
            "limit": limit,
            "limits": TENSION_LIMITS,
            "problems": problems,
            "chart": tension_chart(found.dyads, names),
            "weights": WEIGHTS,
            "describe": tn.describe,
            "section": SECTION,
            "pair_query": qs({"at": raw["at"]}) if at else "",
            "csv": "/api/v1/analytics/tension?" + qs(params, format="csv"),
            "json_url": "/api/v1/analytics/tension?" + qs(params),
        },
    )


def series_chart(found: tn.DyadSeries) -> dict[str, Any]:
    return {
        "series": {
            "labels": [p.date.isoformat() for p in found.points],
            "index": [p.index for p in found.points],
            "escalation": [p.escalation for p in found.points],
            "deescalation": [p.deescalation for p in found.points],
        }
    }


@router.get("/analytics/tension/{pair}", response_class=HTMLResponse, include_in_schema=False)
def tension_pair_page(request: Request, session: DbSession, pair: str) -> HTMLResponse:
    at, _, _, raw, problems = _tension_form(request)
    a, _, b = pair.partition("-")
    try:
        found = tn.dyad_series(session, a, b, at=at)
    except Invalid as exc:
        raise NotFound(f"no pair of states {pair[:20]!r}") from exc
    names = state_names(session)
    ids = {c.incident_id for c in found.contributions if c.incident_id is not None}
    key = f"{found.tension.a}/{found.tension.b}"
    params = {"at": raw["at"] if at else ""}
    return render(
        request,
        "analytics/tension_pair.html",
        {
            "found": found,
            "t": found.tension,
            "names": names,
            "raw": raw,
            "problems": problems,
            "incidents": incident_names(session, ids),
            "chart": series_chart(found),
            "describe": tn.describe,
            "section": SECTION,
            "path_pair": f"{found.tension.a}-{found.tension.b}",
            "csv": {
                t: f"/api/v1/analytics/tension/{key}?" + qs(params, format="csv", table=t)
                for t in ("points", "contributions")
            },
            "json_url": f"/api/v1/analytics/tension/{key}?" + qs(params),
        },
    )
