"""The home page: latest incidents and attributions, attributions per year, frequent dyads, quick search."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from accord import analytics_basic
from accord.core import records
from accord.incidents import service as incidents
from accord.web.deps import DbSession
from accord.web.pages.common import render, state_names
from accord.web.pages.lookups import incidents_by_id

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def dashboard(request: Request, session: DbSession) -> HTMLResponse:
    latest = records.list_records(session, incidents.INCIDENTS, sort="-start_date", limit=8).items
    claims = records.list_records(session, incidents.ATTRIBUTIONS, sort="-date", limit=8).items
    per_year = analytics_basic.attributions_per_year(session)
    return render(
        request,
        "dashboard.html",
        {
            "latest": latest,
            "claims": claims,
            "claim_incidents": incidents_by_id(session, (a.incident_id for a in claims)),
            "per_year": per_year,
            "chart": {"labels": [y for y, _ in per_year], "values": [n for _, n in per_year]},
            "pairs": analytics_basic.top_pairs(session),
            "names": state_names(session),
        },
    )
