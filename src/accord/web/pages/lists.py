"""Attribution and threat-actor pages: filtered lists and one actor."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from accord.core import records
from accord.core.errors import NotFound
from accord.incidents import service as incidents
from accord.web.deps import DbSession
from accord.web.pages.common import list_context, list_page, parse_listing, render, state_names
from accord.web.pages.lookups import actors_by_id, incidents_by_id

router = APIRouter()


@router.get("/attributions", response_class=HTMLResponse, include_in_schema=False)
def attributions(request: Request, session: DbSession) -> HTMLResponse:
    listing = parse_listing(request, incidents.ATTRIBUTIONS)
    page, notice = list_page(session, incidents.ATTRIBUTIONS, listing, sort="-date")
    context = list_context(session, incidents.ATTRIBUTIONS, listing, page, notice)
    context["incidents"] = incidents_by_id(session, (a.incident_id for a in page.items))
    context["actors"] = actors_by_id(session, (a.attributed_actor_id for a in page.items))
    return render(request, "attributions.html", context)


@router.get("/actors", response_class=HTMLResponse, include_in_schema=False)
def actors(request: Request, session: DbSession) -> HTMLResponse:
    listing = parse_listing(request, incidents.THREAT_ACTORS)
    page, notice = list_page(session, incidents.THREAT_ACTORS, listing, sort="name")
    return render(request, "actors.html", list_context(session, incidents.THREAT_ACTORS, listing, page, notice))


@router.get("/actors/{actor_id}", response_class=HTMLResponse, include_in_schema=False)
def actor(request: Request, session: DbSession, actor_id: str) -> HTMLResponse:
    if not actor_id.isdecimal() or len(actor_id) > 9:
        raise NotFound(f"no actor {actor_id!r}")
    obj = records.get_record(session, incidents.THREAT_ACTORS, int(actor_id))
    linked = records.list_records(
        session, incidents.INCIDENTS, filters=incidents.IncidentFilter(actor=obj.id), sort="start_date", limit=1000
    ).items
    return render(request, "actor.html", {"a": obj, "linked": linked, "names": state_names(session)})
