"""The application factory: ``create_app(settings)`` builds a node's HTTP faces; nothing at import time."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse

from accord import __version__
from accord.auth.access import read_access
from accord.config import Settings
from accord.core.errors import AccordError
from accord.db import make_engine, make_sessionmaker
from accord.migrate import ensure_current
from accord.sharing import federation_api, taxii
from accord.web import (
    account_pages,
    analytics_alignment_api,
    analytics_dyads_api,
    attribution_api,
    attribution_insights_api,
    capacity_api,
    crisis_api,
    errors,
    inbox_api,
    matching_api,
    pages,
    ping_api,
    sightings_api,
)
from accord.web.api import build_router
from accord.web.pages import analytics_alignment as analytics_alignment_pages
from accord.web.pages import analytics_dyads as analytics_dyads_pages
from accord.web.pages import attribution_board as attribution_board_pages
from accord.web.pages import attribution_insights as attribution_insights_pages
from accord.web.pages import briefs as briefs_pages
from accord.web.pages import capacity as capacity_pages
from accord.web.pages import crisis as crisis_pages
from accord.web.pages import ping as ping_pages
from accord.web.pages import sharing as sharing_pages
from accord.web.pages import sightings as sightings_pages
from accord.web.pages.common import render
from accord.web.security import SecurityMiddleware, verify_csrf


def _render_error(request: Request, exc: AccordError) -> HTMLResponse:
    return render(request, "error.html", {"error": exc}, exc.status)


def create_app(settings: Settings | None = None, *, engine: Any = None, check_schema: bool = True) -> FastAPI:
    settings = settings or Settings()
    engine = engine or make_engine(settings.resolved_database_url())
    if check_schema:
        ensure_current(engine)  # refuse to serve an unmigrated database
    app = FastAPI(
        title="Accord",
        version=__version__,
        summary="A node of Accord, the open platform for cyber diplomacy.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.render_error = _render_error
    errors.install(app)
    app.add_middleware(SecurityMiddleware)
    app.include_router(build_router(settings.max_page_size, settings.page_size))
    app.include_router(account_pages.router)
    # pages follow the same read rule as the API: anonymous visitors only when the node publishes its data
    app.include_router(pages.router, dependencies=[Depends(read_access("read")), Depends(verify_csrf)])
    app.include_router(sharing_pages.router, dependencies=[Depends(read_access("read")), Depends(verify_csrf)])
    app.include_router(crisis_pages.router, dependencies=[Depends(read_access("read")), Depends(verify_csrf)])
    app.include_router(ping_pages.router, dependencies=[Depends(read_access("read")), Depends(verify_csrf)])
    app.include_router(
        attribution_insights_pages.router, dependencies=[Depends(read_access("read")), Depends(verify_csrf)]
    )
    app.include_router(
        attribution_board_pages.router, dependencies=[Depends(read_access("read")), Depends(verify_csrf)]
    )
    app.include_router(sightings_pages.router, dependencies=[Depends(read_access("read")), Depends(verify_csrf)])
    app.include_router(analytics_dyads_pages.router, dependencies=[Depends(read_access("read")), Depends(verify_csrf)])
    app.include_router(
        analytics_alignment_pages.router, dependencies=[Depends(read_access("read")), Depends(verify_csrf)]
    )
    app.include_router(capacity_pages.router, dependencies=[Depends(read_access("read")), Depends(verify_csrf)])
    app.include_router(briefs_pages.router, dependencies=[Depends(read_access("read")), Depends(verify_csrf)])
    pages.mount_static(app)
    app.include_router(taxii.router)
    app.include_router(federation_api.router)
    app.include_router(ping_api.router)
    app.include_router(inbox_api.router)  # signed envelopes and ack links: the signature is the authority
    app.include_router(crisis_api.router)
    app.include_router(crisis_api.exports)
    app.include_router(attribution_api.router)
    app.include_router(attribution_insights_api.router)
    app.include_router(analytics_dyads_api.router)
    app.include_router(analytics_alignment_api.router)
    app.include_router(sightings_api.router)
    app.include_router(matching_api.router)
    app.include_router(capacity_api.router)

    @app.get("/healthz", tags=["node"], summary="Liveness and schema check")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
