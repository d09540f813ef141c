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

Needs, offers and assessments are the same kind of resource (list or CSV, create, read, change, remove;
assessments are never changed), so ``record_routes`` declares those routes once for each of them.
"""

# No ``from __future__ import annotations``: ``record_routes`` annotates its endpoints with the schema classes it
# is given, and FastAPI resolves annotations written as strings in the module's globals only.

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from pydantic import BaseModel
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


def output_format(format: Format = "json") -> str:
    """``format=`` of a list, read as a dependency so that it comes after the list's filters, as documented."""
    return format


# ---------------------------------------------------------------- vocabularies


@router.get("/taxonomies", summary="Themes, pillars, maturity frameworks with their sources and scales")
def taxonomies(_user: Reader) -> dict[str, Any]:
    return service.taxonomies()


# ---------------------------------------------------------------- needs, offers, assessments


@dataclass(frozen=True)
class Records:
    """One kind of capacity record: its names in URLs and in the OpenAPI document, its schemas, the service
    functions that keep it and its CSV table."""

    name: str  # "need": /needs and /needs/{need_id}; routes get_needs, post_need, get_need, patch_need, delete_need
    summaries: dict[str, str]  # per route: "list", "post", "get", "patch", "delete"
    listing: Callable[..., list[Any]]  # a dependency: reads the list's filters, returns what they select
    list_responses: dict[int | str, dict[str, Any]]
    csv_header: Sequence[str]
    csv_rows: Callable[[list[Any]], Iterable[list[Any]]]
    as_json: Callable[[Any], dict[str, Any]]
    create_schema: type[BaseModel]
    create: Callable[..., Any]  # (session, *, actor, **fields)
    get: Callable[[Session, int], Any]
    delete: Callable[..., None]  # (session, id, *, if_match, actor)
    # the update schema and (session, id, *, if_match, actor, **changes); None: never changed, only removed
    update: tuple[type[BaseModel], Callable[..., Any]] | None = None


def record_routes(kind: Records) -> None:
    """Add the routes of one kind of record to ``router``: list (JSON or CSV), create, read, change (If-Match,
    when the kind can be changed), remove."""
    items, key = f"/{kind.name}s", f"{kind.name}_id"
    one = f"{items}/{{{key}}}"
    Key = Annotated[int, Path(ge=1, le=2**31 - 1, alias=key)]
    Listed = Annotated[list[Any], Depends(kind.listing)]
    OutputFormat = Annotated[str, Depends(output_format)]

    def tagged(row: Any, response: Response) -> dict[str, Any]:
        response.headers["ETag"] = service.etag(row)
        return kind.as_json(row)

    @router.get(items, name=f"get_{kind.name}s", summary=kind.summaries["list"], responses=kind.list_responses)
    def listed(_user: Reader, rows: Listed, format: OutputFormat) -> Any:
        if format == "csv":
            return csv_response(f"capacity-{kind.name}s", kind.csv_header, kind.csv_rows(rows))
        return {"items": [kind.as_json(row) for row in rows], "count": len(rows)}

    @router.post(items, name=f"post_{kind.name}", status_code=201, summary=kind.summaries["post"], responses=ERRORS)
    def post(
        session: DbSession,
        user: Writer,
        body: kind.create_schema,  # type: ignore[name-defined]
        response: Response,
    ) -> dict[str, Any]:
        row = kind.create(session, actor=Actor.of(user), **body.model_dump())
        session.commit()
        return tagged(row, response)

    @router.get(one, name=f"get_{kind.name}", summary=kind.summaries["get"], responses=ERRORS)
    def get(session: DbSession, _user: Reader, record_id: Key, response: Response) -> dict[str, Any]:
        return tagged(kind.get(session, record_id), response)

    if kind.update is not None:
        update_schema, update = kind.update

        @router.patch(one, name=f"patch_{kind.name}", summary=kind.summaries["patch"], responses=ERRORS)
        def patch(
            session: DbSession,
            user: Writer,
            record_id: Key,
            body: update_schema,  # type: ignore[valid-type]
            response: Response,
            if_match: IfMatch = None,
        ) -> dict[str, Any]:
            changes = body.model_dump(exclude_unset=True)
            row = update(session, record_id, if_match=if_match, actor=Actor.of(user), **changes)
            session.commit()
            return tagged(row, response)

    @router.delete(one, name=f"delete_{kind.name}", status_code=204, summary=kind.summaries["delete"], responses=ERRORS)
    def delete(session: DbSession, user: Writer, record_id: Key, if_match: IfMatch = None) -> Response:
        kind.delete(session, record_id, if_match=if_match, actor=Actor.of(user))
        session.commit()
        return Response(status_code=204)


# ---------------------------------------------------------------- needs

NEED_CSV = ("id", "state_code", "state", "title", "themes", "pillars", "status", "declared_on", "description",
            "sources", "as_of", "entered_by")  # fmt: skip


def need_rows(needs: list[CapacityNeed]) -> Iterable[list[Any]]:
    for n in needs:
        yield [n.id, n.state_code, country_name(n.state_code) or n.state_code, n.title, _joined(n.themes),
               _joined(n.pillars), n.status, n.declared_on, n.description, _joined(n.sources), n.as_of,
               n.entered_by]  # fmt: skip


def need_list(
    session: DbSession,
    state: Annotated[CountryCode | None, Query(description="the needing state")] = None,
    theme: Annotated[s.Theme | None, Query()] = None,
    pillar: Annotated[s.Pillar | None, Query()] = None,
    status: Annotated[s.NeedStatus | None, Query()] = None,
    region: Annotated[Str | None, Query(max_length=60, description="UN M49 region or sub-region")] = None,
    q: Text = None,
) -> list[CapacityNeed]:
    f = _filters(state=state, theme=theme, pillar=pillar, status=status, region=region, q=q)
    return service.list_needs(session, f)


record_routes(
    Records(
        name="need",
        summaries={
            "list": "Capacity-building needs (newest first)",
            "post": "Record a need",
            "get": "One need",
            "patch": "Change a need, e.g. its status (If-Match)",
            "delete": "Remove a need",
        },
        listing=need_list,
        list_responses={**CSV_OK, 422: ERRORS[422]},
        csv_header=NEED_CSV,
        csv_rows=need_rows,
        as_json=service.need_json,
        create_schema=s.NeedCreate,
        create=service.create_need,
        get=service.get_need,
        delete=service.delete_need,
        update=(s.NeedUpdate, service.update_need),
    )
)


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


def offer_list(
    session: DbSession,
    state: Annotated[CountryCode | None, Query(description="a state that may benefit")] = None,
    provider: Annotated[Str | None, Query(max_length=40, description="donor: state or organisation code")] = None,
    theme: Annotated[s.Theme | None, Query()] = None,
    pillar: Annotated[s.Pillar | None, Query()] = None,
    status: Annotated[s.OfferStatus | None, Query()] = None,
    region: Annotated[Str | None, Query(max_length=60, description="open to states of this M49 region")] = None,
    q: Text = None,
) -> list[CapacityOffer]:
    f = _filters(state=state, provider=provider, theme=theme, pillar=pillar, status=status, region=region, q=q)
    return service.list_offers(session, f)


record_routes(
    Records(
        name="offer",
        summaries={
            "list": "Capacity-building offers (newest first)",
            "post": "Record an offer",
            "get": "One offer",
            "patch": "Change an offer (If-Match)",
            "delete": "Remove an offer",
        },
        listing=offer_list,
        list_responses={**CSV_OK, 422: ERRORS[422]},
        csv_header=OFFER_CSV,
        csv_rows=offer_rows,
        as_json=service.offer_json,
        create_schema=s.OfferCreate,
        create=service.create_offer,
        get=service.get_offer,
        delete=service.delete_offer,
        update=(s.OfferUpdate, service.update_offer),
    )
)


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


def assessment_list(
    session: DbSession,
    state: Annotated[CountryCode | None, Query()] = None,
    framework: Annotated[s.FrameworkKey | None, Query()] = None,
) -> list[MaturityAssessment]:
    return service.list_assessments(session, state=state, framework=framework)


record_routes(  # assessments are history: never changed, only removed when mistaken
    Records(
        name="assessment",
        summaries={
            "list": "Maturity assessments (by state, oldest first)",
            "post": "Record a maturity assessment",
            "get": "One assessment",
            "delete": "Remove an assessment",
        },
        listing=assessment_list,
        list_responses=CSV_OK,
        csv_header=ASSESSMENT_CSV,
        csv_rows=assessment_rows,
        as_json=service.assessment_json,
        create_schema=s.AssessmentCreate,
        create=service.create_assessment,
        get=service.get_assessment,
        delete=service.delete_assessment,
    )
)


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
