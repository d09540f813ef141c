"""The REST API ``/api/v1``: generic record routes for every resource, plus the views that gather."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from accord.auth.access import read_access
from accord.auth.roles import can
from accord.core.records import Resource
from accord.directory import service as directory
from accord.incidents import service as incidents
from accord.norms import service as norms
from accord.profile import state_profile
from accord.search import search_everything
from accord.web.crud import TEXT_PATTERN, crud_router
from accord.web.deps import DbSession

RESOURCES: tuple[Resource, ...] = (*directory.RESOURCES, *norms.RESOURCES, *incidents.RESOURCES)


Reader = Annotated[Any, Depends(read_access("read"))]


class SearchHit(BaseModel):
    kind: str
    key: str
    name: str
    snippet: str | None = None


class SearchResults(BaseModel):
    q: str
    hits: list[SearchHit]


def build_router(max_limit: int, default_limit: int) -> APIRouter:
    api = APIRouter(prefix="/api/v1")

    @api.get("/states/{code}/profile", tags=["states"], summary="Everything about one state")
    def profile(
        session: DbSession, user: Reader, code: Annotated[str, Path(max_length=2, pattern=r"^[A-Za-z]{2}$")]
    ) -> dict[str, Any]:
        # points of contact only for those allowed to see them
        return state_profile(session, code.upper(), include_contacts=can(user, "contacts:read"))

    @api.get("/instruments/{code}/status", tags=["instruments"], summary="Number of states per commitment status")
    def instrument_status(
        session: DbSession, _user: Reader, code: Annotated[str, Path(max_length=40, pattern=TEXT_PATTERN)]
    ) -> dict[str, int]:
        return norms.instrument_status_counts(session, code)

    @api.get("/search", response_model=SearchResults, tags=["search"], summary="Full-text search across records")
    def search(
        session: DbSession,
        _user: Reader,
        q: Annotated[str, Query(min_length=1, max_length=200, pattern=TEXT_PATTERN)],
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> Any:
        return {"q": q, "hits": search_everything(session, q, limit=limit)}

    for res in RESOURCES:
        api.include_router(crud_router(res, max_limit=max_limit, default_limit=min(default_limit, max_limit)))
    return api
