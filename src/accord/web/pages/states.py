"""State pages: the list with filters and the profile (a briefing note when printed)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from accord.auth.roles import can
from accord.core.errors import NotFound
from accord.directory import service as directory
from accord.profile import state_profile
from accord.web.deps import DbSession
from accord.web.pages.common import list_context, list_page, parse_listing, render, state_names, user_of
from accord.web.pages.lookups import incidents_by_id
from accord.web.pages.timeline import state_timeline

router = APIRouter()


@router.get("/states", response_class=HTMLResponse, include_in_schema=False)
def states(request: Request, session: DbSession) -> HTMLResponse:
    listing = parse_listing(request, directory.STATES)
    page, notice = list_page(session, directory.STATES, listing)
    return render(request, "states.html", list_context(session, directory.STATES, listing, page, notice))


@router.get("/states/{code}", response_class=HTMLResponse, include_in_schema=False)
def state(request: Request, session: DbSession, code: str) -> HTMLResponse:
    if len(code) != 2 or not code.isalpha():
        raise NotFound(f"no state with code {code!r}")
    code = code.upper()
    profile = state_profile(session, code, include_contacts=can(user_of(request), "contacts:read"))
    names = state_names(session)
    ids = [x["incident_id"] for k in ("attributions_made", "responses_taken", "responses_received") for x in profile[k]]
    incidents = incidents_by_id(session, ids)
    return render(
        request,
        "state.html",
        {
            "p": profile,
            "s": profile["state"],
            "names": names,
            "incidents": incidents,
            "timeline": state_timeline(profile, incidents, names),
            "agencies": {a["id"]: a["name"] for a in profile["agencies"]},
        },
    )
