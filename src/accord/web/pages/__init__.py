"""The server-rendered web pages. ``router`` holds every page; ``mount_static(app)`` serves /static.

Pages read the signed-in user from ``request.state.user`` and the CSRF token from
``request.state.csrf_token`` (both set by the session middleware; absent means anonymous).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from accord.web.pages import dashboard, incidents, instruments, lists, search, states

STATIC = Path(__file__).resolve().parent.parent / "static"

router = APIRouter()
for _module in (dashboard, states, incidents, lists, instruments, search):
    router.include_router(_module.router)


def mount_static(app: FastAPI) -> None:
    """Serve the stylesheets, scripts and vendored assets under /static."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


__all__ = ["mount_static", "router"]
