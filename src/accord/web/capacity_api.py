"""Capacity building over HTTP at ``/api/v1/capacity``: needs, offers, their matches, maturity assessments.

    GET    /taxonomies                       GFCE themes, GCI pillars, frameworks and scales, matching weights
    GET    /needs  /offers  /assessments     lists with filters; ``format=csv`` for a spreadsheet
    POST   /needs  /offers  /assessments     create (201, ``ETag``)
    GET    /needs/{id}  /offers/{id}  /assessments/{id}
    PATCH  /needs/{id}  /offers/{id}         change (``If-Match`` required)
    DELETE /needs/{id}  /offers/{id}  /assessments/{id}
    GET    /matches                          needs matched with offers, best first, each explained
    GET    /states/{code}                    one state: needs, offers made and open to it, matches, maturity
    POST   /import                           needs, offers and assessments in one transaction, all or nothing

Reading follows the node's public-read rule like the rest of the knowledge base; writing needs ``kb:write``
(analyst, admin) and, from a browser, the CSRF token. Errors are problem+json naming the fields. The score
and the eligibility rules are documented in :mod:`accord.capacity.service`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from sqlalchemy.orm import Session

from accord.audit.service import Actor
from accord.auth.access import read_access, write_access
from accord.capacity import schemas as s
from accord.capacity import service
from accord.capacity.models import FRAMEWORKS, CapacityNeed, CapacityOffer, MaturityAssessment
from accord.core.types import CountryCode, Str, country_name
from accord.web.attribution_insights_api import csv_response
from accord.web.deps import DbSession
from accord.web.security import verify_csrf

router = APIRouter(prefix="/api/v1/capacity", tags=["capacity building"])
Reader = Annotated[Any, Depends(read_access("read"))]
Writer = Annotated[Any, Depends(write_access("kb:write", verify_csrf))]
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]
IfMatch = Annotated[str | None, Header(max_length=200)]
Format = Annotated[Literal["json", "csv"], Query(description="csv: the list as a spreadsheet")]
Text = Annotated[Str | None, Query(max_length=200)]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such record"},
    422: {"description": "invalid input (problem+json naming the fields)"},
}
CSV_OK = {200: {"content": {"application/json": {}, "text/csv": {}}}}


def _joined(values: Iterable[str]) -> str:
    return "; ".join(values)


def _filters(**values: Any) -> service.Filters:
    return service.Filters(**{k: v for k, v in values.items() if v not in (None, "")})


# ---------------------------------------------------------------- vocabularies


@router.get("/taxonomies", summary="Themes, pillars, maturity frameworks with their sources and scales")
def taxonomies(_user: Reader) -> dict[str, Any]:
    return service.taxonomies()


# ---------------------------------------------------------------- needs

NEED_CSV = ("id", "state_code", "state", "title", "themes", "pillars", "status", "declared_on", "description",
            "sources", "as_of", "entered_by")  # fmt: skip


def need_rows(needs: list[CapacityNeed]) -> Iterable[list[Any]]:
    for n in needs:
        yield [n.id, n.state_code, country_name(n.state_code) or n.state_code, n.title, _joined(n.themes),
               _joined(n.pillars), n.status, n.declared_on, n.description, _joined(n.sources), n.as_of,
               n.entered_by]  # fmt: skip


@router.get("/needs", summary="Capacity-building needs (newest first)", responses={**CSV_OK, 422: ERRORS[422]})
def get_needs(
    session: DbSession,
    _user: Reader,
    state: Annotated[CountryCode | None, Query(description="the needing state")] = None,
    theme: Annotated[s.Theme | None, Query()] = None,
    pillar: Annotated[s.Pillar | None, Query()] = None,
    status: Annotated[s.NeedStatus | None, Query()] = None,
    region: Annotated[Str | None, Query(max_length=60, description="UN M49 region or sub-region")] = None,
    q: Text = None,
    format: Format = "json",
) -> Any:
    needs = service.list_needs(
        session, _filters(state=state, theme=theme, pillar=pillar, status=status, region=region, q=q)
    )
    if format == "csv":
        return csv_response("capacity-needs", NEED_CSV, need_rows(needs))
    return {"items": [service.need_json(n) for n in needs], "count": len(needs)}


@router.post("/needs", status_code=201, summary="Record a need", responses=ERRORS)
def post_need(session: DbSession, user: Writer, body: s.NeedCreate, response: Response) -> dict[str, Any]:
    n = service.create_need(session, actor=Actor.of(user), **body.model_dump())
    session.commit()
    response.headers["ETag"] = service.etag(n)
    return service.need_json(n)


@router.get("/needs/{need_id}", summary="One need", responses=ERRORS)
def get_need(session: DbSession, _user: Reader, need_id: RecordId, response: Response) -> dict[str, Any]:
    n = service.get_need(session, need_id)
    response.headers["ETag"] = service.etag(n)
    return service.need_json(n)


@router.patch("/needs/{need_id}", summary="Change a need, e.g. its status (If-Match)", responses=ERRORS)
def patch_need(
    session: DbSession,
    user: Writer,
    need_id: RecordId,
    body: s.NeedUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    n = service.update_need(session, need_id, if_match=if_match, actor=Actor.of(user), **changes)
    session.commit()
    response.headers["ETag"] = service.etag(n)
    return service.need_json(n)


@router.delete("/needs/{need_id}", status_code=204, summary="Remove a need", responses=ERRORS)
def delete_need(session: DbSession, user: Writer, need_id: RecordId, if_match: IfMatch = None) -> Response:
    service.delete_need(session, need_id, if_match=if_match, actor=Actor.of(user))
    session.commit()
    return Response(status_code=204)


# ---------------------------------------------------------------- offers

OFFER_CSV = ("id", "provider", "provider_state", "provider_organisation", "title", "themes", "pillars",
             "beneficiary_scope", "beneficiaries", "starts_on", "ends_on", "status", "description", "sources",
             "as_of", "entered_by")  # fmt: skip


def offer_rows(offers: list[CapacityOffer]) -> Iterable[list[Any]]:
    for o in offers:
        who = o.beneficiary_states if o.beneficiary_scope == "states" else o.beneficiary_regions
        yield [o.id, service.provider_of(o), o.provider_state, o.provider_organisation, o.title, _joined(o.themes),
               _joined(o.pillars), o.beneficiary_scope, _joined(who), o.starts_on, o.ends_on, o.status,
               o.description, _joined(o.sources), o.as_of, o.entered_by]  # fmt: skip


@router.get("/offers", summary="Capacity-building offers (newest first)", responses={**CSV_OK, 422: ERRORS[422]})
def get_offers(
    session: DbSession,
    _user: Reader,
    state: Annotated[CountryCode | None, Query(description="a state that may benefit")] = None,
    provider: Annotated[Str | None, Query(max_length=40, description="donor: state or organisation code")] = None,
    theme: Annotated[s.Theme | None, Query()] = None,
    pillar: Annotated[s.Pillar | None, Query()] = None,
    status: Annotated[s.OfferStatus | None, Query()] = None,
    region: Annotated[Str | None, Query(max_length=60, description="open to states of this M49 region")] = None,
    q: Text = None,
    format: Format = "json",
) -> Any:
    f = _filters(state=state, provider=provider, theme=theme, pillar=pillar, status=status, region=region, q=q)
    offers = service.list_offers(session, f)
    if format == "csv":
        return csv_response("capacity-offers", OFFER_CSV, offer_rows(offers))
    return {"items": [service.offer_json(o) for o in offers], "count": len(offers)}


@router.post("/offers", status_code=201, summary="Record an offer", responses=ERRORS)
def post_offer(session: DbSession, user: Writer, body: s.OfferCreate, response: Response) -> dict[str, Any]:
    o = service.create_offer(session, actor=Actor.of(user), **body.model_dump())
    session.commit()
    response.headers["ETag"] = service.etag(o)
    return service.offer_json(o)


@router.get("/offers/{offer_id}", summary="One offer", responses=ERRORS)
def get_offer(session: DbSession, _user: Reader, offer_id: RecordId, response: Response) -> dict[str, Any]:
    o = service.get_offer(session, offer_id)
    response.headers["ETag"] = service.etag(o)
    return service.offer_json(o)


@router.patch("/offers/{offer_id}", summary="Change an offer (If-Match)", responses=ERRORS)
def patch_offer(
    session: DbSession,
    user: Writer,
    offer_id: RecordId,
    body: s.OfferUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    o = service.update_offer(session, offer_id, if_match=if_match, actor=Actor.of(user), **changes)
    session.commit()
    response.headers["ETag"] = service.etag(o)
    return service.offer_json(o)


@router.delete("/offers/{offer_id}", status_code=204, summary="Remove an offer", responses=ERRORS)
def delete_offer(session: DbSession, user: Writer, offer_id: RecordId, if_match: IfMatch = None) -> Response:
    service.delete_offer(session, offer_id, if_match=if_match, actor=Actor.of(user))
    session.commit()
    return Response(status_code=204)


# ---------------------------------------------------------------- matches

MATCH_CSV = ("score", "state", "need_id", "need", "offer_id", "offer", "provider", "coverage", "targeting",
             "eligibility", "shared_themes", "shared_pillars", "missing_themes", "missing_pillars", "why")  # fmt: skip


def match_rows(found: list[service.Match]) -> Iterable[list[Any]]:
    for m in found:
        yield [m.score, m.state, m.need_id, m.need_title, m.offer_id, m.offer_title, m.provider, m.coverage,
               m.targeting, m.eligibility, _joined(m.shared_themes), _joined(m.shared_pillars),
               _joined(m.missing_themes), _joined(m.missing_pillars), m.why]  # fmt: skip


@router.get(
    "/matches",
    summary="Open needs matched with open offers, best first, each with its reasons",
    responses={**CSV_OK, **ERRORS},
)
def get_matches(
    session: DbSession,
    _user: Reader,
    state: Annotated[CountryCode | None, Query(description="the needing state")] = None,
    need: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    offer: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    provider: Annotated[Str | None, Query(max_length=40)] = None,
    min_score: Annotated[float, Query(ge=0, le=100)] = 0,
    format: Format = "json",
) -> Any:
    found = service.matches(session, state=state, need_id=need, offer_id=offer, provider=provider, min_score=min_score)
    if format == "csv":
        return csv_response("capacity-matches", MATCH_CSV, match_rows(found))
    return {"items": [m.as_dict() for m in found], "count": len(found), "method": service.taxonomies()["matching"]}


# ---------------------------------------------------------------- assessments


def assessment_rows(rows: list[MaturityAssessment]) -> Iterable[list[Any]]:
    for a in rows:
        yield [a.id, a.state_code, a.framework, a.assessed_on, a.kind, a.assessor, *_by_part(a), _joined(a.sources),
               a.as_of, a.entered_by, a.note]  # fmt: skip


def _by_part(a: MaturityAssessment) -> list[Any]:
    """One column per pillar and per dimension of every framework (empty where the framework differs)."""
    return [a.scores.get(p) if f.key == a.framework else None for f in FRAMEWORKS.values() for p in f.parts]


ASSESSMENT_CSV = ("id", "state_code", "framework", "assessed_on", "kind", "assessor",
                  *(f"{f.key}:{p}" for f in FRAMEWORKS.values() for p in f.parts),
                  "sources", "as_of", "entered_by", "note")  # fmt: skip


@router.get("/assessments", summary="Maturity assessments (by state, oldest first)", responses=CSV_OK)
def get_assessments(
    session: DbSession,
    _user: Reader,
    state: Annotated[CountryCode | None, Query()] = None,
    framework: Annotated[s.FrameworkKey | None, Query()] = None,
    format: Format = "json",
) -> Any:
    rows = service.list_assessments(session, state=state, framework=framework)
    if format == "csv":
        return csv_response("capacity-assessments", ASSESSMENT_CSV, assessment_rows(rows))
    return {"items": [service.assessment_json(a) for a in rows], "count": len(rows)}


@router.post("/assessments", status_code=201, summary="Record a maturity assessment", responses=ERRORS)
def post_assessment(session: DbSession, user: Writer, body: s.AssessmentCreate, response: Response) -> dict[str, Any]:
    a = service.create_assessment(session, actor=Actor.of(user), **body.model_dump())
    session.commit()
    response.headers["ETag"] = service.etag(a)
    return service.assessment_json(a)


@router.get("/assessments/{assessment_id}", summary="One assessment", responses=ERRORS)
def get_assessment(session: DbSession, _user: Reader, assessment_id: RecordId, response: Response) -> dict[str, Any]:
    a = service.get_assessment(session, assessment_id)
    response.headers["ETag"] = service.etag(a)
    return service.assessment_json(a)


@router.delete("/assessments/{assessment_id}", status_code=204, summary="Remove an assessment", responses=ERRORS)
def delete_assessment(session: DbSession, user: Writer, assessment_id: RecordId, if_match: IfMatch = None) -> Response:
    service.delete_assessment(session, assessment_id, if_match=if_match, actor=Actor.of(user))
    session.commit()
    return Response(status_code=204)


# ---------------------------------------------------------------- one state, and batches


def state_json(session: Session, code: str) -> dict[str, Any]:
    summary = service.state_summary(session, code)
    return {
        "state": summary["state"].code,
        "needs": [service.need_json(n) for n in summary["needs"]],
        "offers_made": [service.offer_json(o) for o in summary["offers_made"]],
        "offers_open_to": [service.offer_json(o) for o in summary["offers_open_to"]],
        "matches": [m.as_dict() for m in summary["matches"]],
        "maturity": [asdict(h) for h in summary["maturity"]],
    }


@router.get("/states/{code}", summary="A state's needs, offers, matches and maturity history", responses=ERRORS)
def get_state(session: DbSession, _user: Reader, code: Annotated[CountryCode, Path()]) -> dict[str, Any]:
    return state_json(session, code)


@router.post(
    "/import",
    status_code=201,
    summary="Write needs, offers and assessments in one transaction (one problem: nothing is written)",
    responses={422: ERRORS[422]},
)
def post_import(session: DbSession, user: Writer, body: s.ImportBatch) -> dict[str, Any]:
    made = service.import_batch(session, body.model_dump(), actor=Actor.of(user))
    session.commit()
    return {"created": made}
