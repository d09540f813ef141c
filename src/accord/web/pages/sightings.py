"""Sighting pages: every sighting (``/sightings``), the sightings of one indicator
(``/indicators/{stix_id}/sightings``: the indicator, each observed-data with the values that matched and why a
warning list suppressed it, the incident link and the share button) and those linked to an incident
(``/incidents/{ref}/sightings``).

Reading needs a signed-in user, who sees only what the hub's TLP policy lets them see of the indicators
(``accord.matching.sightings.visibility`` and ``indicator_views``). Linking and sharing need ``kb:write``; each
is one service call in one transaction, then a redirect with a fixed notice (POST → redirect → GET); a refused
change re-renders the page with the reason and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.audit.service import Actor
from accord.auth.roles import can
from accord.core import records
from accord.core.errors import AccordError, Forbidden, InvalidCursor, NotFound, Problem, Unauthorized
from accord.incidents.models import Incident
from accord.matching import sightings as service
from accord.matching.models import Sighting
from accord.sharing import service as sharing
from accord.web.deps import DbSession
from accord.web.pages.common import render, user_of
from accord.web.pages.lookups import incident_by_ref, incidents_by_id

router = APIRouter()
PAGE_SIZE = 50
INCIDENT_CHOICES = 1000  # most recent incidents offered in the link form (any other can be typed by id or slug)
SightingId = Annotated[int, Path(ge=1, le=2**31 - 1)]
FILTERS = ("indicator", "incident", "suppressed", "shared", "since")
NOTICES = {  # ?done=… after a change: fixed texts, nothing from the query string is echoed
    "linked": "The sighting is linked to the incident.",
    "unlinked": "The sighting is no longer linked to an incident.",
    "shared": "The sighting is shared into the indicator's collection, under the indicator's TLP.",
}


# ---------------------------------------------------------------- who is asking


def reader(request: Request) -> Any:
    user = user_of(request)
    if user is None:
        raise Unauthorized("sign in to see sightings")
    return user


def writer(request: Request) -> Any:
    user = reader(request)
    if not can(user, "kb:write"):
        raise Forbidden(f"your role ({user.role}) may not change sightings")
    return user


# ---------------------------------------------------------------- what a page shows of a sighting


@dataclass
class Row:
    """One sighting with its indicator as the reader may see it and its incident."""

    s: Sighting
    indicator: service.IndicatorView
    incident: Incident | None


def _rows(session: Session, items: list[Sighting], user: Any) -> list[Row]:
    views = service.indicator_views(session, [s.indicator_id for s in items], user=user)
    incidents = incidents_by_id(session, (s.incident_id for s in items))
    return [Row(s, views[s.indicator_id], incidents.get(s.incident_id or 0)) for s in items]


@dataclass
class Filters:
    values: dict[str, str]
    parsed: service.SightingFilter
    problems: list[Problem] = field(default_factory=list)


def _filters(request: Request) -> Filters:
    """Filters from the query string; a bad value is reported and ignored, not fatal."""
    raw = {k: (request.query_params.get(k) or "").strip()[:200] for k in FILTERS}
    given = {k: v for k, v in raw.items() if v}
    try:
        return Filters(raw, service.SightingFilter.model_validate(given))
    except ValidationError as exc:
        problems = records.problems_from_validation(exc)
    bad = {p.field.split(".")[0] for p in problems}
    parsed = service.SightingFilter.model_validate({k: v for k, v in given.items() if k not in bad})
    return Filters({k: ("" if k in bad else v) for k, v in raw.items()}, parsed, problems)


def _listing(session: Session, user: Any, f: service.SightingFilter, cursor: str | None) -> tuple[Any, str]:
    try:
        return service.list_sightings(session, user=user, filters=f, cursor=cursor, limit=PAGE_SIZE), ""
    except InvalidCursor:
        page = service.list_sightings(session, user=user, filters=f, limit=PAGE_SIZE)
        return page, "That page link is no longer valid; showing the first page."


# ---------------------------------------------------------------- all sightings


@router.get("/sightings", response_class=HTMLResponse, include_in_schema=False)
def sightings_page(request: Request, session: DbSession) -> HTMLResponse:
    user = reader(request)
    f = _filters(request)
    cursor = request.query_params.get("cursor") or None
    page, notice = _listing(session, user, f.parsed, cursor)
    params = {k: v for k, v in f.values.items() if v}
    return render(
        request,
        "sightings/list.html",
        {
            "rows": _rows(session, page.items, user),
            "total": service.count_sightings(session, user=user, filters=f.parsed),
            "filters": f.values,
            "params": params,
            "problems": f.problems,
            "cursor": cursor,
            "next_cursor": page.next_cursor,
            "notice": notice,
        },
    )


# ---------------------------------------------------------------- one indicator


def _incident_choices(session: Session) -> list[Incident]:
    stmt = select(Incident).order_by(Incident.start_date.desc().nulls_last(), Incident.id.desc())
    return list(session.scalars(stmt.limit(INCIDENT_CHOICES)))


def _indicator_page(
    request: Request, session: Session, stix_id: str, problems: list[Problem] | None = None, status: int = 200
) -> HTMLResponse:
    user = reader(request)
    indicator = service.indicator_view(session, stix_id, user=user)
    found = service.list_sightings(session, user=user, filters=service.SightingFilter(indicator=stix_id), limit=1)
    sighting = found.items[0] if found.items else None
    if sighting is None and not indicator.in_hub:
        raise NotFound(f"no sighting of {stix_id} and no such indicator in the sharing hub")
    may_write = can(user, "kb:write")
    refusal = None
    if sighting is not None:
        refusal = service.share_refusal(session, sighting)
        if refusal is None and sighting.collection_id:
            coll = sharing.get_collection(session, sighting.collection_id)
            if not sharing.rights(session, user, coll).can_write:
                refusal = f"your organisation may not add objects to the collection “{coll.title}”"
    incident = session.get(Incident, sighting.incident_id) if sighting and sighting.incident_id else None
    done = request.query_params.get("done", "")
    return render(
        request,
        "sightings/indicator.html",
        {
            "indicator": indicator,
            "sighting": sighting,
            "observations": list(sighting.observations) if sighting else [],
            "incident": incident,
            "incidents": _incident_choices(session) if sighting and may_write else [],
            "may_write": may_write,
            "refusal": refusal,
            "notice": NOTICES.get(done, ""),
            "problems": problems or [],
        },
        status=status,
    )


@router.get("/indicators/{stix_id}/sightings", response_class=HTMLResponse, include_in_schema=False)
def indicator_page(request: Request, session: DbSession, stix_id: str) -> HTMLResponse:
    return _indicator_page(request, session, stix_id)


def _back(sighting: Sighting, done: str) -> RedirectResponse:
    return RedirectResponse(f"/indicators/{sighting.indicator_id}/sightings?done={done}", status_code=303)


def _refused(request: Request, session: Session, sighting: Sighting, exc: AccordError) -> HTMLResponse:
    indicator_id = sighting.indicator_id
    session.rollback()
    problems = exc.problems or [Problem("sighting", exc.detail)]
    return _indicator_page(request, session, indicator_id, problems, exc.status)


@router.post("/sightings/{sighting_id}/incident", include_in_schema=False)
async def link(request: Request, session: DbSession, sighting_id: SightingId) -> Response:
    user = writer(request)
    sighting = service.get_sighting(session, sighting_id, user=user)
    ref = str((await request.form()).get("incident") or "").strip()
    incident = incident_by_ref(session, ref) if ref and len(ref) <= 120 else None
    if incident is None:
        why = "choose an incident from the list, or type its id or slug" if ref else "choose an incident"
        return _indicator_page(request, session, sighting.indicator_id, [Problem("incident", why)], 422)
    service.link_incident(session, sighting, incident_id=incident.id, actor=Actor.of(user))
    session.commit()
    return _back(sighting, "linked")


@router.post("/sightings/{sighting_id}/unlink", include_in_schema=False)
def unlink(request: Request, session: DbSession, sighting_id: SightingId) -> Response:
    user = writer(request)
    sighting = service.get_sighting(session, sighting_id, user=user)
    service.unlink_incident(session, sighting, actor=Actor.of(user))
    session.commit()
    return _back(sighting, "unlinked")


@router.post("/sightings/{sighting_id}/share", include_in_schema=False)
def share(request: Request, session: DbSession, sighting_id: SightingId) -> Response:
    user = writer(request)
    sighting = service.get_sighting(session, sighting_id, user=user)
    identity = service.node_identity(request.app.state.settings)
    try:
        service.share(session, sighting, actor=Actor.of(user), party_id=user.party_id, identity=identity)
    except AccordError as exc:
        if exc.status >= 500:
            raise
        return _refused(request, session, sighting, exc)
    session.commit()
    return _back(sighting, "shared")


# ---------------------------------------------------------------- one incident


@router.get("/incidents/{ref}/sightings", response_class=HTMLResponse, include_in_schema=False)
def incident_page(request: Request, session: DbSession, ref: str) -> HTMLResponse:
    user = reader(request)
    incident = incident_by_ref(session, ref)
    if incident is None:
        raise NotFound(f"no incident {ref!r}")
    cursor = request.query_params.get("cursor") or None
    page, notice = _listing(session, user, service.SightingFilter(incident=incident.id), cursor)
    return render(
        request,
        "sightings/incident.html",
        {
            "i": incident,
            "rows": _rows(session, page.items, user),
            "cursor": cursor,
            "next_cursor": page.next_cursor,
            "notice": notice,
        },
    )
