"""Federation over HTTP at ``/federation/v1``: what TAXII 2.1 cannot carry between nodes.

    GET /federation/v1/collections/{id}/deletions?after=<micros>&limit=<n>
        the collection's tombstones after a checkpoint (TAXII has no deletion feed; MISP does not
        propagate deletions at all). Same authentication as TAXII (HTTP Basic or a bearer token), for
        readers of the collection. Body: ``{"deletions": [{"id", "version", "deleted_at"}], "more", "last"}``
        where ``deleted_at`` and ``last`` are microseconds since the epoch and ``last`` is the next ``after``.
    GET /federation/v1/peers
        the status of every link (last attempt, last success, last error, lag), for administrators.

Errors are problem+json like the rest of the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from accord.auth.deps import require
from accord.core.errors import Forbidden
from accord.sharing import federation, service
from accord.sharing.taxii import signed_in
from accord.web.deps import DbSession

router = APIRouter(prefix="/federation/v1", tags=["federation"])
MAX_PAGE = 1000


@router.get("/collections/{collection_id}/deletions", summary="Tombstones of a collection, for peers")
def get_deletions(
    session: DbSession,
    user: Annotated[Any, Depends(signed_in)],
    collection_id: str,
    after: Annotated[int, Query(ge=0, description="microseconds since the epoch (the last `last` seen)")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 500,
) -> JSONResponse:
    coll = service.get_collection(session, collection_id)
    if not service.rights(session, user, coll).can_read:
        raise Forbidden("you may not read this collection")
    rdr = service.reader(session, user, coll)
    rows, more = federation.deletions_since(session, coll, after=after, limit=limit, reader=rdr)
    return JSONResponse(
        {
            "deletions": [{"id": r.stix_id, "version": r.version, "deleted_at": r.deleted_at} for r in rows],
            "more": more,
            "last": rows[-1].deleted_at if rows else after,
        }
    )


@router.get("/peers", summary="Federation status per peer link")
def get_peers(session: DbSession, _admin: Annotated[Any, Depends(require("admin"))]) -> JSONResponse:
    return JSONResponse({"links": [s.as_dict() for s in federation.status(session)]})
