"""The home page: latest incidents and attributions, the most tense pairs of states, attributions per year, who
blames whom and who is said to target whom, quick search."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from accord.analytics import dyads, tension
from accord.core import records
from accord.incidents import service as incidents
from accord.web.deps import DbSession
from accord.web.pages.common import render, state_names
from accord.web.pages.lookups import incidents_by_id

router = APIRouter()
TENSE = 5  # most tense pairs shown
DYADS = 8  # strongest attributed → targeted dyads shown


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def dashboard(request: Request, session: DbSession) -> HTMLResponse:
    latest = records.list_records(session, incidents.INCIDENTS, sort="-start_date", limit=8).items
    claims = records.list_records(session, incidents.ATTRIBUTIONS, sort="-date", limit=8).items
    per_year = dyads.attributions_per_year(session)
    return render(
        request,
        "dashboard.html",
        {
            "latest": latest,
            "claims": claims,
            "claim_incidents": incidents_by_id(session, (a.incident_id for a in claims)),
            "per_year": per_year,
            "chart": {"labels": [y for y, _ in per_year], "values": [n for _, n in per_year]},
            "pairs": dyads.attribution_pairs(session),
            "tense": tension.top_tense_dyads(session, limit=TENSE),
            "dyads": dyads.dyads_of(session).edges[:DYADS],
            "describe": tension.describe,
            "names": state_names(session),
        },
    )
