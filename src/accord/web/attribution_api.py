"""The attribution workbench over HTTP at ``/api/v1/incidents/{id}/attribution``, and the sponsor-state
roll-up at ``/api/v1/attribution/sponsors``.

Thin: parse the request body into a schema, call ``accord.attribution.service``, serialise. An analyst's
working material is not public: reading needs ``contacts:read`` (analyst, liaison, admin), writing needs
``kb:write`` (analyst, admin) and, from a browser, the CSRF token. Updates need ``If-Match`` (the ETag).

Hypotheses and evidence items are the same kind of resource (list, add, read, change, remove), so
``record_routes`` declares those five routes once for each of them.
"""

# No ``from __future__ import annotations``: ``record_routes`` annotates its endpoints with the schema classes it
# is given, and FastAPI resolves annotations written as strings in the module's globals only.

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Header, Path, Response, UploadFile
from pydantic import BaseModel
from sqlalchemy.orm import Session

from accord.attribution import schemas as s
from accord.attribution import service, sponsors
from accord.audit.service import Actor
from accord.auth.access import read_access, write_access
from accord.web.deps import DbSession
from accord.web.security import verify_csrf

router = APIRouter(tags=["attribution"])
Reader = Annotated[Any, Depends(read_access("contacts:read"))]
Writer = Annotated[Any, Depends(write_access("kb:write", verify_csrf))]
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]
IfMatch = Annotated[str | None, Header(max_length=200)]
BASE = "/api/v1/incidents/{incident_id}/attribution"
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such incident or record"},
    422: {"description": "invalid input (problem+json naming the fields)"},
}


@router.get(f"{BASE}/board", summary="The attribution board: confidence, ACH, missing evidence, sponsor states")
def get_board(session: DbSession, _user: Reader, incident_id: RecordId) -> dict[str, Any]:
    return service.board(session, incident_id)


# ---------------------------------------------------------------- hypotheses and evidence


@dataclass(frozen=True)
class Records:
    """One kind of record on the board: its URL, its names in the OpenAPI document, its schemas and the service
    functions that keep it."""

    plural: str  # the URL segment: "hypotheses"
    singular: str  # in route names and the id's name: "hypothesis" → post_hypothesis, {hypothesis_id}
    noun: str  # in summaries: "hypothesis" → "One hypothesis"
    article: str  # "a" or "an"
    listing: tuple[str, str]  # the list route's name and summary
    create_schema: type[BaseModel]
    update_schema: type[BaseModel]
    of: Callable[[Session, int], list[Any]]
    get: Callable[[Session, int, int], Any]
    create: Callable[..., Any]  # (session, *, incident_id, actor, **fields)
    update: Callable[..., Any]  # (session, *, incident_id, <singular>_id, if_match, actor, **changes)
    delete: Callable[..., None]  # (session, *, incident_id, <singular>_id, if_match, actor)
    as_json: Callable[[Any], dict[str, Any]]

    @property
    def key(self) -> str:
        return f"{self.singular}_id"


def _written(session: Session, response: Response, kind: Records, row: Any) -> dict[str, Any]:
    session.commit()
    response.headers["ETag"] = service.etag(row)
    return kind.as_json(row)


def record_routes(kind: Records) -> None:
    """Add the five routes of one kind of record to ``router``: list, add, read, change (If-Match), remove."""
    items, one = f"{BASE}/{kind.plural}", f"{BASE}/{kind.plural}/{{{kind.key}}}"
    a = f"{kind.article} {kind.noun}"
    Key = Annotated[int, Path(ge=1, le=2**31 - 1, alias=kind.key)]

    def listed(session: DbSession, _user: Reader, incident_id: RecordId) -> dict[str, Any]:
        return {"items": [kind.as_json(row) for row in kind.of(session, incident_id)]}

    def post(
        session: DbSession,
        user: Writer,
        incident_id: RecordId,
        body: kind.create_schema,  # type: ignore[name-defined]
        response: Response,
    ) -> dict[str, Any]:
        row = kind.create(session, incident_id=incident_id, actor=Actor.of(user), **body.model_dump())
        return _written(session, response, kind, row)

    def get(session: DbSession, _user: Reader, incident_id: RecordId, key: Key, response: Response) -> dict[str, Any]:
        row = kind.get(session, incident_id, key)
        response.headers["ETag"] = service.etag(row)
        return kind.as_json(row)

    def patch(
        session: DbSession,
        user: Writer,
        incident_id: RecordId,
        key: Key,
        body: kind.update_schema,  # type: ignore[name-defined]
        response: Response,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        row = kind.update(
            session,
            incident_id=incident_id,
            if_match=if_match,
            actor=Actor.of(user),
            **{kind.key: key},
            **body.model_dump(exclude_unset=True),
        )
        return _written(session, response, kind, row)

    def delete(session: DbSession, user: Writer, incident_id: RecordId, key: Key, if_match: IfMatch = None) -> Response:
        kind.delete(session, incident_id=incident_id, if_match=if_match, actor=Actor.of(user), **{kind.key: key})
        session.commit()
        return Response(status_code=204)

    name, summary = kind.listing
    router.add_api_route(items, listed, methods=["GET"], name=name, summary=summary)
    router.add_api_route(
        items,
        post,
        methods=["POST"],
        name=f"post_{kind.singular}",
        status_code=201,
        summary=f"Add {a}",
        responses=ERRORS,
    )
    router.add_api_route(
        one, get, methods=["GET"], name=f"get_{kind.singular}", summary=f"One {kind.noun}", responses=ERRORS
    )
    router.add_api_route(
        one, patch, methods=["PATCH"], name=f"patch_{kind.singular}", summary=f"Change {a} (If-Match)", responses=ERRORS
    )
    router.add_api_route(
        one,
        delete,
        methods=["DELETE"],
        name=f"delete_{kind.singular}",
        status_code=204,
        summary=f"Remove {a}",
        responses=ERRORS,
    )


record_routes(
    Records(
        plural="hypotheses",
        singular="hypothesis",
        noun="hypothesis",
        article="a",
        listing=("get_hypotheses", "Hypotheses of an incident"),
        create_schema=s.HypothesisCreate,
        update_schema=s.HypothesisUpdate,
        of=service.hypotheses_of,
        get=service.get_hypothesis,
        create=service.create_hypothesis,
        update=service.update_hypothesis,
        delete=service.delete_hypothesis,
        as_json=service.hypothesis_json,
    )
)
record_routes(
    Records(
        plural="evidence",
        singular="evidence",
        noun="evidence item",
        article="an",
        listing=("get_evidence_list", "Evidence items of an incident"),
        create_schema=s.EvidenceCreate,
        update_schema=s.EvidenceUpdate,
        of=service.evidence_of,
        get=service.get_evidence,
        create=service.create_evidence,
        update=service.update_evidence,
        delete=service.delete_evidence,
        as_json=service.evidence_json,
    )
)


# ---------------------------------------------------------------- ratings


@router.get(f"{BASE}/ratings", summary="Every rating of evidence against hypotheses")
def get_ratings(session: DbSession, _user: Reader, incident_id: RecordId) -> dict[str, Any]:
    return {"items": [service.rating_json(r) for r in service.ratings_of(session, incident_id)]}


@router.put(
    f"{BASE}/ratings", summary="Rate an evidence item against a hypothesis (rating null: remove)", responses=ERRORS
)
def put_rating(session: DbSession, user: Writer, incident_id: RecordId, body: s.RatingIn) -> dict[str, Any]:
    row = service.set_rating(session, incident_id=incident_id, actor=Actor.of(user), **body.model_dump())
    session.commit()
    if row is None:
        return {"evidence_id": body.evidence_id, "hypothesis_id": body.hypothesis_id, "rating": None}
    return service.rating_json(row)


# ---------------------------------------------------------------- observations


@router.get(f"{BASE}/observations", summary="ATT&CK techniques and software observed in an incident")
def get_observations(session: DbSession, _user: Reader, incident_id: RecordId) -> dict[str, Any]:
    return {"items": [service.observation_json(o) for o in service.observations_of(session, incident_id)]}


def _added(added: list[Any], already: list[str]) -> dict[str, Any]:
    return {"added": [service.observation_json(o) for o in added], "already_recorded": already}


@router.post(f"{BASE}/observations", status_code=201, summary="Record typed technique/software ids", responses=ERRORS)
def post_observations(
    session: DbSession, user: Writer, incident_id: RecordId, body: s.ObservationsIn
) -> dict[str, Any]:
    added, already = service.add_observations(session, incident_id=incident_id, refs=body.refs, actor=Actor.of(user))
    session.commit()
    return _added(added, already)


@router.post(
    f"{BASE}/observations/upload",
    status_code=201,
    summary="Record the ids found in an uploaded file (STIX bundle, or text with T…/S… ids)",
    responses=ERRORS,
)
def upload_observations(
    session: DbSession, user: Writer, incident_id: RecordId, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    refs, origin = service.parse_upload(file.file.read(service.MAX_UPLOAD + 1))
    added, already = service.add_observations(
        session, incident_id=incident_id, refs=refs, origin=origin, actor=Actor.of(user)
    )
    session.commit()
    return _added(added, already)


@router.delete(
    f"{BASE}/observations/{{observation_id}}", status_code=204, summary="Remove an observation", responses=ERRORS
)
def delete_observation(session: DbSession, user: Writer, incident_id: RecordId, observation_id: RecordId) -> Response:
    service.delete_observation(session, incident_id=incident_id, observation_id=observation_id, actor=Actor.of(user))
    session.commit()
    return Response(status_code=204)


# ---------------------------------------------------------------- sponsor states


@router.post(
    "/api/v1/attribution/sponsors",
    summary="Roll candidate groups up to the states governments publicly named as their sponsors",
    responses={422: ERRORS[422]},
)
def post_sponsors(
    session: DbSession,
    _user: Reader,
    candidates: Annotated[list[s.SponsorCandidate], Body(min_length=1, max_length=1000)],
) -> dict[str, Any]:
    pairs = [(c.group if c.group is not None else c.actor_id, c.weight) for c in candidates]
    return asdict(sponsors.roll_up(session, pairs))  # type: ignore[arg-type]
