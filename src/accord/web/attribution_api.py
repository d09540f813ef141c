"""The attribution workbench over HTTP at ``/api/v1/incidents/{id}/attribution``, and the sponsor-state
roll-up at ``/api/v1/attribution/sponsors``.

Thin: parse the request body into a schema, call ``accord.attribution.service``, serialise. An analyst's
working material is not public: reading needs ``contacts:read`` (analyst, liaison, admin), writing needs
``kb:write`` (analyst, admin) and, from a browser, the CSRF token. Updates need ``If-Match`` (the ETag).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Header, Path, Response, UploadFile

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


# ---------------------------------------------------------------- hypotheses


@router.get(f"{BASE}/hypotheses", summary="Hypotheses of an incident")
def get_hypotheses(session: DbSession, _user: Reader, incident_id: RecordId) -> dict[str, Any]:
    return {"items": [service.hypothesis_json(h) for h in service.hypotheses_of(session, incident_id)]}


@router.post(f"{BASE}/hypotheses", status_code=201, summary="Add a hypothesis", responses=ERRORS)
def post_hypothesis(
    session: DbSession, user: Writer, incident_id: RecordId, body: s.HypothesisCreate, response: Response
) -> dict[str, Any]:
    h = service.create_hypothesis(session, incident_id=incident_id, actor=Actor.of(user), **body.model_dump())
    session.commit()
    response.headers["ETag"] = service.etag(h)
    return service.hypothesis_json(h)


@router.get(f"{BASE}/hypotheses/{{hypothesis_id}}", summary="One hypothesis", responses=ERRORS)
def get_hypothesis(
    session: DbSession, _user: Reader, incident_id: RecordId, hypothesis_id: RecordId, response: Response
) -> dict[str, Any]:
    h = service.get_hypothesis(session, incident_id, hypothesis_id)
    response.headers["ETag"] = service.etag(h)
    return service.hypothesis_json(h)


@router.patch(f"{BASE}/hypotheses/{{hypothesis_id}}", summary="Change a hypothesis (If-Match)", responses=ERRORS)
def patch_hypothesis(
    session: DbSession,
    user: Writer,
    incident_id: RecordId,
    hypothesis_id: RecordId,
    body: s.HypothesisUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    h = service.update_hypothesis(
        session,
        incident_id=incident_id,
        hypothesis_id=hypothesis_id,
        if_match=if_match,
        actor=Actor.of(user),
        **body.model_dump(exclude_unset=True),
    )
    session.commit()
    response.headers["ETag"] = service.etag(h)
    return service.hypothesis_json(h)


@router.delete(f"{BASE}/hypotheses/{{hypothesis_id}}", status_code=204, summary="Remove a hypothesis", responses=ERRORS)
def delete_hypothesis(
    session: DbSession, user: Writer, incident_id: RecordId, hypothesis_id: RecordId, if_match: IfMatch = None
) -> Response:
    service.delete_hypothesis(
        session, incident_id=incident_id, hypothesis_id=hypothesis_id, if_match=if_match, actor=Actor.of(user)
    )
    session.commit()
    return Response(status_code=204)


# ---------------------------------------------------------------- evidence


@router.get(f"{BASE}/evidence", summary="Evidence items of an incident")
def get_evidence_list(session: DbSession, _user: Reader, incident_id: RecordId) -> dict[str, Any]:
    return {"items": [service.evidence_json(e) for e in service.evidence_of(session, incident_id)]}


@router.post(f"{BASE}/evidence", status_code=201, summary="Add an evidence item", responses=ERRORS)
def post_evidence(
    session: DbSession, user: Writer, incident_id: RecordId, body: s.EvidenceCreate, response: Response
) -> dict[str, Any]:
    e = service.create_evidence(session, incident_id=incident_id, actor=Actor.of(user), **body.model_dump())
    session.commit()
    response.headers["ETag"] = service.etag(e)
    return service.evidence_json(e)


@router.get(f"{BASE}/evidence/{{evidence_id}}", summary="One evidence item", responses=ERRORS)
def get_evidence(
    session: DbSession, _user: Reader, incident_id: RecordId, evidence_id: RecordId, response: Response
) -> dict[str, Any]:
    e = service.get_evidence(session, incident_id, evidence_id)
    response.headers["ETag"] = service.etag(e)
    return service.evidence_json(e)


@router.patch(f"{BASE}/evidence/{{evidence_id}}", summary="Change an evidence item (If-Match)", responses=ERRORS)
def patch_evidence(
    session: DbSession,
    user: Writer,
    incident_id: RecordId,
    evidence_id: RecordId,
    body: s.EvidenceUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    e = service.update_evidence(
        session,
        incident_id=incident_id,
        evidence_id=evidence_id,
        if_match=if_match,
        actor=Actor.of(user),
        **body.model_dump(exclude_unset=True),
    )
    session.commit()
    response.headers["ETag"] = service.etag(e)
    return service.evidence_json(e)


@router.delete(f"{BASE}/evidence/{{evidence_id}}", status_code=204, summary="Remove an evidence item", responses=ERRORS)
def delete_evidence(
    session: DbSession, user: Writer, incident_id: RecordId, evidence_id: RecordId, if_match: IfMatch = None
) -> Response:
    service.delete_evidence(
        session, incident_id=incident_id, evidence_id=evidence_id, if_match=if_match, actor=Actor.of(user)
    )
    session.commit()
    return Response(status_code=204)


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
