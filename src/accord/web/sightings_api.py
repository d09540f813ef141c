"""Sightings over HTTP at ``/api/v1/sightings`` (and per indicator and per incident).

Thin: parse, call ``accord.matching.sightings``, serialise. Sightings are operational material, never public:
reading needs a signed-in user (any role), who sees only the sightings of indicators the hub's TLP policy lets
them see; linking to an incident and sharing need ``kb:write`` (analyst, admin) and, from a browser, the CSRF
token; sharing also needs the user's organisation to have write rights in the indicator's collection.
Errors are problem+json naming the field and the reason.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from accord.audit.service import Actor
from accord.auth.access import read_access, write_access
from accord.core.errors import Invalid, Problem, Unauthorized
from accord.core.types import Id, Schema
from accord.matching import sightings as service
from accord.web.deps import DbSession
from accord.web.security import verify_csrf

router = APIRouter(tags=["sightings"])
STIX_MEDIA = "application/stix+json;version=2.1"
SightingKey = Annotated[
    str,
    Path(
        max_length=80,
        pattern=r"^(\d{1,10}|sighting--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$",
        description="row id or STIX id (sighting--…)",
    ),
]
IndicatorId = Annotated[
    str,
    Path(
        max_length=80,
        pattern=r"^indicator--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        description="STIX id of the indicator",
    ),
]
IncidentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Cursor = Annotated[
    str | None, Query(max_length=2000, pattern=r"^[A-Za-z0-9_-]*$", description="next_cursor of the previous page")
]
Limit = Annotated[int | None, Query(ge=1, le=100_000, description="page size (default and maximum: node settings)")]
Filters = Annotated[service.SightingFilter, Query()]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such sighting (or none you may see)"},
    422: {"description": "invalid input (problem+json naming the fields)"},
}


def signed_in(user: Annotated[Any, Depends(read_access("read"))]) -> Any:
    """Sightings are never public: anonymous visitors get 401 even when the node publishes its dataset."""
    if user is None:
        raise Unauthorized("sign in or send an API token to read sightings")
    return user


Reader = Annotated[Any, Depends(signed_in)]
Writer = Annotated[Any, Depends(write_access("kb:write", verify_csrf))]


class IncidentLink(Schema):
    """The incident a sighting belongs to."""

    incident_id: Id


def _limit(request: Request, limit: int | None) -> int:
    settings = request.app.state.settings
    if limit is not None and limit > settings.max_page_size:
        raise Invalid("page too large", [Problem("limit", f"at most {settings.max_page_size}")])
    return limit or min(settings.page_size, settings.max_page_size)


def _page(request: Request, session: Any, user: Any, filters: Any, cursor: str | None, limit: int | None) -> Any:
    page = service.list_sightings(session, user=user, filters=filters, cursor=cursor, limit=_limit(request, limit))
    return {"items": [service.sighting_json(s) for s in page.items], "next_cursor": page.next_cursor}


@router.get("/api/v1/sightings", summary="Sightings you may see, most recently seen first", responses=ERRORS)
def list_sightings(
    request: Request, session: DbSession, user: Reader, filters: Filters, cursor: Cursor = None, limit: Limit = None
) -> dict[str, Any]:
    return _page(request, session, user, filters, cursor, limit)  # type: ignore[no-any-return]


@router.get(
    "/api/v1/sightings/{key}",
    summary="One sighting with its observed-data and shares (format=stix: the STIX 2.1 object)",
    responses={**ERRORS, 200: {"content": {"application/json": {}, STIX_MEDIA: {}}}},
)
def get_sighting(session: DbSession, user: Reader, key: SightingKey, format: Literal["json", "stix"] = "json") -> Any:
    sighting = service.get_sighting(session, key, user=user)
    if format == "stix":
        return JSONResponse(service.to_stix(sighting), media_type=STIX_MEDIA)
    return service.sighting_json(sighting, detail=True)


@router.put("/api/v1/sightings/{key}/incident", summary="Link a sighting to an incident", responses=ERRORS)
def put_incident(session: DbSession, user: Writer, key: SightingKey, body: IncidentLink) -> dict[str, Any]:
    sighting = service.get_sighting(session, key, user=user)
    service.link_incident(session, sighting, incident_id=body.incident_id, actor=Actor.of(user))
    session.commit()
    return service.sighting_json(sighting)


@router.delete("/api/v1/sightings/{key}/incident", summary="Unlink a sighting from its incident", responses=ERRORS)
def delete_incident(session: DbSession, user: Writer, key: SightingKey) -> dict[str, Any]:
    sighting = service.get_sighting(session, key, user=user)
    service.unlink_incident(session, sighting, actor=Actor.of(user))
    session.commit()
    return service.sighting_json(sighting)


@router.post(
    "/api/v1/sightings/{key}/share",
    status_code=201,
    summary="Share a sighting back to its indicator's collection, under the indicator's TLP",
    responses={
        **ERRORS,
        403: {"description": "your organisation may not write to the indicator's collection"},
        409: {"description": "not shareable: suppressed, local-only indicator, or this version already shared"},
    },
)
def post_share(request: Request, session: DbSession, user: Writer, key: SightingKey) -> dict[str, Any]:
    sighting = service.get_sighting(session, key, user=user)
    identity = service.node_identity(request.app.state.settings)
    row = service.share(session, sighting, actor=Actor.of(user), party_id=user.party_id, identity=identity)
    session.commit()
    shared = service.sighting_json(sighting, detail=True)["shares"][-1]
    return {"share": shared, "sighting": service.to_stix(row.sighting)}


@router.get("/api/v1/indicators/{stix_id}/sightings", summary="Sightings of one indicator", responses=ERRORS)
def indicator_sightings(
    request: Request, session: DbSession, user: Reader, stix_id: IndicatorId, cursor: Cursor = None, limit: Limit = None
) -> dict[str, Any]:
    filters = service.SightingFilter(indicator=stix_id)
    return _page(request, session, user, filters, cursor, limit)  # type: ignore[no-any-return]


@router.get("/api/v1/incidents/{incident_id}/sightings", summary="Sightings linked to an incident", responses=ERRORS)
def incident_sightings(
    request: Request,
    session: DbSession,
    user: Reader,
    incident_id: IncidentId,
    cursor: Cursor = None,
    limit: Limit = None,
) -> dict[str, Any]:
    service.get_incident(session, incident_id)
    filters = service.SightingFilter(incident=incident_id)
    return _page(request, session, user, filters, cursor, limit)  # type: ignore[no-any-return]
