"""Capacity-building pages: ``/capacity`` (needs and offers with filters, demand against supply per GFCE theme
and GCI pillar, the matches with their reasons, CSV exports, forms to add a need or an offer) and
``/capacity/states/{code}`` (the state's maturity history as a chart and a table, its needs, the offers it makes
and may benefit from, its matches, and the forms to add an assessment or a need).

Reading follows the node's public-read rule; every change needs ``kb:write`` (analyst, admin). A change is one
call of :mod:`accord.capacity.service` (which writes the audit log) in one transaction, then a redirect with
a fixed notice; bad input re-renders the page with the problems next to their fields (422), nothing written.
Charts are SVG drawn on the server (presentation attributes only: the CSP allows no inline style or script);
each has the same figures as a table.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.audit.service import Actor
from accord.auth.roles import can
from accord.capacity import service
from accord.capacity.models import (
    ASSESSMENT_KINDS,
    BENEFICIARY_SCOPES,
    FRAMEWORKS,
    GCI_PILLARS,
    GFCE_THEMES,
    NEED_STATUSES,
    OFFER_STATUSES,
    CapacityNeed,
    CapacityOffer,
)
from accord.core.errors import Invalid, NotFound, PreconditionFailed, Problem
from accord.core.types import country_name
from accord.web.deps import DbSession
from accord.web.pages.common import organisations, render, require_write, state_names, user_of
from accord.web.templating import fmt_date, query

router = APIRouter()
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]
API = "/api/v1/capacity"
COLOURS = ("#1f3a5f", "#b07d12", "#2e7d4f", "#8e2c48", "#5b5ea6")  # one per pillar / dimension
NEED_COLOUR, OFFER_COLOUR = "#1f3a5f", "#b07d12"
BAR_WIDTH = 520  # the bar chart's viewBox width: its labels stay legible at half a page
_CODE = re.compile(r"^[A-Za-z]{2}$")
_BACK = re.compile(r"^/capacity(/states/[A-Z]{2})?$")
NOTICES = {  # ?done=… after a change: fixed texts, nothing from the query string is echoed
    "need": "The need is recorded; the matches below include it.",
    "offer": "The offer is recorded; the matches below include it.",
    "status": "The status is changed.",
    "assessment": "The assessment is recorded; the chart shows it.",
}


# ---------------------------------------------------------------- filters


@dataclass
class PageFilters:
    """The filters of /capacity as typed, the parsed values, and what was wrong with them."""

    raw: dict[str, str]
    needs: service.Filters
    offers: service.Filters
    errors: dict[str, str] = field(default_factory=dict)


FILTER_NAMES = ("state", "theme", "pillar", "region", "provider", "need_status", "offer_status", "q")


def parse_filters(request: Request, regions: dict[str, str]) -> PageFilters:
    raw = {k: (request.query_params.get(k) or "").strip()[:200] for k in FILTER_NAMES}
    raw = {k: v for k, v in raw.items() if v}
    errors: dict[str, str] = {}
    checks = {
        "state": (lambda v: bool(_CODE.match(v)), "two letters: an ISO 3166-1 code"),
        "theme": (lambda v: v in GFCE_THEMES, "choose a theme from the list"),
        "pillar": (lambda v: v in GCI_PILLARS, "choose a pillar from the list"),
        "region": (lambda v: v.lower() in regions, "choose a region from the list"),
        "need_status": (lambda v: v in NEED_STATUSES, "choose a status from the list"),
        "offer_status": (lambda v: v in OFFER_STATUSES, "choose a status from the list"),
        "provider": (lambda v: len(v) <= 40, "a state or organisation code"),
    }
    for name, (ok, why) in checks.items():
        if name in raw and not ok(raw[name]):
            errors[name] = why
    v = {k: x for k, x in raw.items() if k not in errors}
    if "state" in v:
        v["state"] = v["state"].upper()
    if "region" in v:
        v["region"] = regions[v["region"].lower()]
    common = {"state": v.get("state"), "theme": v.get("theme"), "pillar": v.get("pillar"), "q": v.get("q")}
    needs = service.Filters(**common, region=v.get("region"), status=v.get("need_status"))
    offers = service.Filters(**common, region=v.get("region"), provider=v.get("provider"), status=v.get("offer_status"))
    return PageFilters(raw, needs, offers, errors)


def export_urls(f: PageFilters) -> dict[str, str]:
    n, o = f.needs, f.offers
    needs = {"state": n.state, "theme": n.theme, "pillar": n.pillar, "status": n.status, "region": n.region, "q": n.q}
    offers = {**needs, "status": o.status, "provider": o.provider}
    return {
        "needs": f"{API}/needs?" + query(needs, format="csv"),
        "offers": f"{API}/offers?" + query(offers, format="csv"),
        "matches": f"{API}/matches?" + query({"state": n.state, "provider": o.provider}, format="csv"),
    }


# ---------------------------------------------------------------- charts (SVG geometry; the template draws it)


@dataclass(frozen=True)
class Bar:
    label: str
    needs: int
    offers: int
    y: float
    needs_width: float
    offers_width: float


def demand_supply(needs: list[CapacityNeed], offers: list[CapacityOffer]) -> dict[str, Any]:
    """Open needs against open offers per GFCE theme and per GCI pillar, laid out as horizontal bar pairs."""
    open_needs = [n for n in needs if n.status == "open"]
    open_offers = [o for o in offers if o.status == "open"]
    groups = []
    for title, vocab, attr in (("GFCE themes", GFCE_THEMES, "themes"), ("GCI pillars", GCI_PILLARS, "pillars")):
        counts = [
            (label, sum(key in getattr(n, attr) for n in open_needs), sum(key in getattr(o, attr) for o in open_offers))
            for key, label in vocab.items()
        ]
        top = max([1, *(max(a, b) for _, a, b in counts)])
        scale = (BAR_WIDTH - 60) / top
        bars = [Bar(label, a, b, 6 + i * 54, scale * a, scale * b) for i, (label, a, b) in enumerate(counts)]
        groups.append({"title": title, "bars": bars, "height": 10 + len(bars) * 54})
    return {"groups": groups, "needs": NEED_COLOUR, "offers": OFFER_COLOUR, "width": BAR_WIDTH}


def _ticks(low: float, high: float) -> list[float]:
    step = 5.0 if high - low > 5 else 1.0
    ticks, v = [], low
    while v <= high + 1e-9:
        ticks.append(v)
        v += step
    return ticks


def history_chart(h: service.FrameworkHistory, width: int = 900, height: int = 300) -> dict[str, Any]:
    """A line per pillar or dimension across the assessments' dates (x: time, y: the framework's scale). Each
    series is shifted a few pixels sideways so that equal scores on one date stay visible side by side."""
    left, right, top, bottom, pad = 44, 24, 14, 34, 18  # pad: the first and last dates stay off the axes
    dates = [dt.date.fromisoformat(a["assessed_on"]) for a in h.assessments]
    first, last = min(dates), max(dates)
    span = max((last - first).days, 1)

    def x(d: dt.date) -> float:
        if first == last:
            return left + (width - left - right) / 2
        return round(left + pad + (width - left - right - 2 * pad) * (d - first).days / span, 1)

    def y(v: float) -> float:
        return round(top + (height - top - bottom) * (1 - (v - h.low) / (h.high - h.low)), 1)

    series = []
    for i, ((key, label), colour) in enumerate(zip(h.parts.items(), COLOURS, strict=True)):
        dodge = (i - 2) * 4
        points = [
            (x(d) + dodge, y(a["scores"][key]), a["scores"][key], a["assessed_on"])
            for d, a in zip(dates, h.assessments, strict=True)
        ]
        line = " ".join(f"{px},{py}" for px, py, _, _ in points)
        series.append({"key": key, "label": label, "colour": colour, "points": points, "line": line})
    distinct = sorted(set(dates))
    if len(distinct) <= 6:
        xticks = [(fmt_date(d, "month"), x(d)) for d in distinct]
    else:
        years = range(first.year + (first != dt.date(first.year, 1, 1)), last.year + 1)
        xticks = [(str(yr), x(dt.date(yr, 1, 1))) for yr in years]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "bottom": height - bottom,
        "yticks": [(t, y(t)) for t in _ticks(h.low, h.high)],
        "xticks": xticks,
        "series": series,
    }


# ---------------------------------------------------------------- forms


@dataclass
class Failed:
    """What a refused form posted and what was wrong with it, for showing it again."""

    form: str  # need | offer | assessment-gci | assessment-cmm | status
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        for p in self.problems:
            errors.setdefault(p.field, []).append(p.reason)
        return errors


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _codes(text: str) -> list[str]:
    return [c.upper() for c in re.split(r"[\s,;]+", text) if c]


def _on_field(problem: Problem, fields: dict[str, str]) -> Problem:
    """Service problems named the way the form shows them: ``sources.1`` → ``sources``, "line 2: …"."""
    name, _, index = problem.field.partition(".")
    if name in ("sources", "beneficiary_states", "beneficiary_regions", "themes", "pillars") and index.isdecimal():
        what = "line" if name == "sources" else "item"
        return Problem(name, f"{what} {int(index) + 1}: {problem.reason}")
    return Problem(fields.get(problem.field, problem.field), problem.reason)


def _merge(page: list[Problem], found: list[Problem], fields: dict[str, str] | None = None) -> list[Problem]:
    seen = {p.field for p in page}
    return page + [q for p in found if (q := _on_field(p, fields or {})).field not in seen]


def need_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {k: _text(form, k) for k in ("state_code", "title", "description", "declared_on",
                                                          "sources", "as_of", "status")}  # fmt: skip
    values["themes"] = [v for v in form.getlist("themes") if isinstance(v, str)]
    values["pillars"] = [v for v in form.getlist("pillars") if isinstance(v, str)]
    return values


def need_fields(values: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    problems = [
        Problem(name, why)
        for name, why in (("state_code", "choose the state"), ("title", "say in a few words what is needed"),
                          ("declared_on", "give the date the need was declared"))
        if not values[name]
    ]  # fmt: skip
    fields = {
        "state_code": values["state_code"] or "XK",  # blanks are reported above; stand-ins let the rest be checked
        "title": values["title"] or "?",
        "description": values["description"] or None,
        "themes": values["themes"],
        "pillars": values["pillars"],
        "status": values["status"] or "open",
        "declared_on": values["declared_on"] or "2000-01-01",
        "sources": _lines(values["sources"]),
        "as_of": values["as_of"] or None,
    }
    return fields, problems


OFFER_TEXT = ("provider", "title", "description", "beneficiary_scope", "beneficiary_states", "starts_on", "ends_on",
              "sources", "as_of", "status")  # fmt: skip
PROVIDER_FIELDS = {"provider_state": "provider", "provider_organisation": "provider"}


def offer_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {k: _text(form, k) for k in OFFER_TEXT}
    for name in ("themes", "pillars", "beneficiary_regions"):
        values[name] = [v for v in form.getlist(name) if isinstance(v, str)]
    return values


def offer_fields(values: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    problems = []
    kind, _, code = values["provider"].partition(":")
    if not values["provider"] or kind not in ("state", "org") or not code:
        problems.append(Problem("provider", "choose the donor: a state or an organisation"))
    if not values["title"]:
        problems.append(Problem("title", "say in a few words what is offered"))
    fields = {
        "provider_state": code if kind == "state" else None,
        "provider_organisation": code if kind == "org" else None,
        "title": values["title"] or "?",
        "description": values["description"] or None,
        "themes": values["themes"],
        "pillars": values["pillars"],
        "beneficiary_scope": values["beneficiary_scope"] or "any",
        "beneficiary_regions": values["beneficiary_regions"],
        "beneficiary_states": _codes(values["beneficiary_states"]),
        "starts_on": values["starts_on"] or None,
        "ends_on": values["ends_on"] or None,
        "status": values["status"] or "open",
        "sources": _lines(values["sources"]),
        "as_of": values["as_of"] or None,
    }
    if problems and not (fields["provider_state"] or fields["provider_organisation"]):
        fields["provider_organisation"] = "UN"  # reported above; a stand-in lets the service check the rest
    return fields, problems


def assessment_values(form: Any, framework: str) -> dict[str, Any]:
    values: dict[str, Any] = {k: _text(form, k) for k in ("assessed_on", "kind", "assessor", "note", "sources",
                                                          "as_of")}  # fmt: skip
    values["scores"] = {p: _text(form, f"score-{p}") for p in FRAMEWORKS[framework].parts}
    return values


def assessment_fields(values: dict[str, Any], code: str, framework: str) -> tuple[dict[str, Any], list[Problem]]:
    required = (("assessed_on", "give the date of the assessment"), ("kind", "say who assessed: the state or others"))
    problems = [Problem(n, why) for n, why in required if not values[n]]
    scores: dict[str, Any] = {}
    for part, raw in values["scores"].items():
        if not raw:
            problems.append(Problem(f"scores.{part}", "give a score"))
            continue
        try:
            scores[part] = float(raw.replace(",", "."))
        except ValueError:
            problems.append(Problem(f"scores.{part}", f"{raw!r} is not a number"))
            scores[part] = FRAMEWORKS[framework].low
    for part in values["scores"]:
        scores.setdefault(part, FRAMEWORKS[framework].low)
    fields = {
        "state_code": code,
        "framework": framework,
        "assessed_on": values["assessed_on"] or "2000-01-01",
        "kind": values["kind"] or "self",
        "assessor": values["assessor"] or None,
        "note": values["note"] or None,
        "scores": scores,
        "sources": _lines(values["sources"]),
        "as_of": values["as_of"] or None,
    }
    return fields, problems


def _back(target: str, done: str, anchor: str) -> RedirectResponse:
    target = target if _BACK.match(target) else "/capacity"
    return RedirectResponse(f"{target}?done={done}#{anchor}", status_code=303)


# ---------------------------------------------------------------- choices shown in forms


def _choices(session: Session, names: dict[str, str]) -> dict[str, Any]:
    regions = sorted(set(service.region_names(session).values()))
    return {
        "themes": GFCE_THEMES,
        "pillars": GCI_PILLARS,
        "need_statuses": NEED_STATUSES,
        "offer_statuses": OFFER_STATUSES,
        "scopes": BENEFICIARY_SCOPES,
        "kinds": ASSESSMENT_KINDS,
        "frameworks": FRAMEWORKS,
        "regions": regions,
        "states": sorted(names.items(), key=lambda kv: kv[1]),
        "organisations": organisations(session),
        "today": service.today().isoformat(),
    }


# ---------------------------------------------------------------- /capacity


def _providers(session: Session, names: dict[str, str]) -> list[tuple[str, str]]:
    """The donors that have offers, for the filter."""
    rows = session.execute(select(CapacityOffer.provider_state, CapacityOffer.provider_organisation).distinct())
    codes = {state or org for state, org in rows if state or org}
    return sorted(((c, names.get(c, c)) for c in codes), key=lambda kv: kv[1])


def overview_page(request: Request, session: Session, failed: Failed | None = None, status: int = 200) -> Response:
    names = state_names(session)
    regions = service.region_names(session)
    f = parse_filters(request, regions)
    needs = service.list_needs(session, f.needs)
    offers = service.list_offers(session, f.offers)
    all_open = service.matches(session, state=f.needs.state, provider=f.offers.provider)
    shown_needs = {n.id for n in needs}
    found = [m for m in all_open if m.need_id in shown_needs and m.offer_id in {o.id for o in offers}]
    return render(
        request,
        "capacity/index.html",
        {
            "f": f,
            "needs": needs,
            "offers": offers,
            "matches": found,
            "chart": demand_supply(needs, offers),
            "exports": export_urls(f),
            "names": names,
            "may_write": can(user_of(request), "kb:write"),
            "failed": failed or Failed(""),
            "notice": NOTICES.get(request.query_params.get("done", ""), ""),
            "back": "/capacity",
            "region_options": [(r, r) for r in sorted(set(regions.values()))],
            "provider_options": _providers(session, names),
            "need_status_options": [(x, x) for x in NEED_STATUSES],
            "offer_status_options": [(x, x) for x in OFFER_STATUSES],
            **_choices(session, names),
        },
        status,
    )


@router.get("/capacity", response_class=HTMLResponse, include_in_schema=False)
def capacity(request: Request, session: DbSession) -> Response:
    return overview_page(request, session)


def _refused(request: Request, session: Session, back: str, failed: Failed) -> Response:
    session.rollback()
    match = _BACK.match(back)
    if match and match.group(1):
        return state_page(request, session, back.rsplit("/", 1)[1], failed, 422)
    return overview_page(request, session, failed, 422)


@router.post("/capacity/needs", include_in_schema=False)
async def add_need(request: Request, session: DbSession) -> Response:
    user = require_write(request)
    form = await request.form()
    back, values = _text(form, "back"), need_values(form)
    fields, problems = need_fields(values)
    try:
        service.create_need(session, actor=Actor.of(user), **fields)
    except Invalid as exc:
        problems = _merge(problems, exc.problems)
    if problems:
        return _refused(request, session, back, Failed("need", values, problems))
    session.commit()
    return _back(back, "need", "needs")


@router.post("/capacity/offers", include_in_schema=False)
async def add_offer(request: Request, session: DbSession) -> Response:
    user = require_write(request)
    form = await request.form()
    values = offer_values(form)
    fields, problems = offer_fields(values)
    try:
        service.create_offer(session, actor=Actor.of(user), **fields)
    except Invalid as exc:
        problems = _merge(problems, exc.problems, PROVIDER_FIELDS)
    if problems:
        return _refused(request, session, "/capacity", Failed("offer", values, problems))
    session.commit()
    return _back("/capacity", "offer", "offers")


@router.post("/capacity/needs/{need_id}/status", include_in_schema=False)
async def set_need_status(request: Request, session: DbSession, need_id: RecordId) -> Response:
    user = require_write(request)
    form = await request.form()
    back, version, status = _text(form, "back"), _text(form, "version"), _text(form, "status")
    if_match = f'"{version}"' if version.isdecimal() and len(version) < 10 else None
    try:
        service.update_need(session, need_id, if_match=if_match, actor=Actor.of(user), status=status)
    except PreconditionFailed:
        why = "it was changed after you loaded the page; look at it again"
        return _refused(request, session, back, Failed("status", {}, [Problem("status", why)]))
    except Invalid as exc:
        return _refused(request, session, back, Failed("status", {}, exc.problems))
    session.commit()
    return _back(back, "status", "needs")


# ---------------------------------------------------------------- /capacity/states/{code}


def state_page(
    request: Request, session: Session, code: str, failed: Failed | None = None, status: int = 200
) -> Response:
    if not _CODE.match(code):
        raise NotFound(f"no state with code {code!r}")
    summary = service.state_summary(session, code)
    names = state_names(session)
    return render(
        request,
        "capacity/state.html",
        {
            "s": summary["state"],
            "summary": summary,
            "charts": {h.key: history_chart(h) for h in summary["maturity"]},
            "names": names,
            "may_write": can(user_of(request), "kb:write"),
            "failed": failed or Failed(""),
            "notice": NOTICES.get(request.query_params.get("done", ""), ""),
            "back": f"/capacity/states/{summary['state'].code}",
            "exports": {
                "assessments": f"{API}/assessments?" + query({"state": summary["state"].code}, format="csv"),
                "matches": f"{API}/matches?" + query({"state": summary["state"].code}, format="csv"),
            },
            **_choices(session, names),
        },
        status,
    )


@router.get("/capacity/states/{code}", response_class=HTMLResponse, include_in_schema=False)
def capacity_state(request: Request, session: DbSession, code: str) -> Response:
    return state_page(request, session, code.upper())


@router.post("/capacity/states/{code}/assessments", include_in_schema=False)
async def add_assessment(request: Request, session: DbSession, code: str) -> Response:
    user = require_write(request)
    code = code.upper()
    if not _CODE.match(code) or country_name(code) is None:
        raise NotFound(f"no state with code {code!r}")
    form = await request.form()
    framework = _text(form, "framework")
    if framework not in FRAMEWORKS:
        raise Invalid("unknown framework", [Problem("framework", f"one of {', '.join(FRAMEWORKS)}")])
    values = assessment_values(form, framework)
    fields, problems = assessment_fields(values, code, framework)
    try:
        service.create_assessment(session, actor=Actor.of(user), **fields)
    except Invalid as exc:
        problems = _merge(problems, exc.problems)
    if problems:
        back = f"/capacity/states/{code}"
        return _refused(request, session, back, Failed(f"assessment-{framework}", values, problems))
    session.commit()
    return _back(f"/capacity/states/{code}", "assessment", "maturity")
