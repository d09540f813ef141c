"""The search page: one box across states, organisations, instruments, incidents and actors."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from accord.search import search_everything
from accord.web.deps import DbSession
from accord.web.pages.common import render

router = APIRouter()
LINKS = {
    "state": "/states/{}",
    "organisation": "/states?organisation={}",
    "instrument": "/instruments/{}",
    "incident": "/incidents/{}",
    "actor": "/actors/{}",
}


@router.get("/search", response_class=HTMLResponse, include_in_schema=False)
def search(request: Request, session: DbSession) -> HTMLResponse:
    q = (request.query_params.get("q") or "").replace("\x00", "").strip()[:200]
    hits = search_everything(session, q, limit=50) if q else []
    for hit in hits:
        hit["href"] = LINKS[hit["kind"]].format(quote(hit["key"], safe=""))
    return render(request, "search.html", {"q": q, "hits": hits})
