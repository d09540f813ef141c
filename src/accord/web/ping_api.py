"""REST API of reachability checks (``/api/v1/ping``): campaigns, runs and their reports, acknowledgements.

    GET   /ping/campaigns                    campaigns, each with its latest run's figures   (contacts:read)
    POST  /ping/campaigns                    create a campaign                               (crisis:write)
    GET   /ping/campaigns/{id}               the campaign, its runs and the report across them (contacts:read)
    PATCH /ping/campaigns/{id}               stop or resume repeating: ``{"active": false}``  (crisis:write)
    POST  /ping/campaigns/{id}/runs          run the campaign now; returns the run's report  (crisis:write)
    GET   /ping/runs/{id}                    a run's report: totals, by state/region/role, checks (contacts:read)
    POST  /ping/checks/{uid}/ack             record a contact's answer here (channel ``web``) (crisis:write)
    GET   /ping/received                     checks peers sent to this node's contacts       (contacts:read)
    POST  /ping/received/{id}/ack            acknowledge one; the answer goes back to the peer (crisis:write)

Routes parse, call one function of ``accord.crisis.ping`` and serialise. Errors are problem+json (422 names
each bad field). Response rates are fractions (0–1); times are ISO 8601 UTC; durations are seconds, with a
readable ``median`` beside ``median_seconds``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from accord.audit.service import Actor
from accord.auth.access import read_access, write_access
from accord.core.types import Schema, Str
from accord.crisis import ping
from accord.crisis.ledger import iso
from accord.crisis.models import PingCheck, ReceivedPing
from accord.crisis.service import Node
from accord.db import utcnow
from accord.directory.models import PointOfContact
from accord.web.deps import DbSession
from accord.web.security import verify_csrf

router = APIRouter(prefix="/api/v1/ping", tags=["reachability checks"])

Reader = Annotated[Any, Depends(read_access("contacts:read"))]
Writer = Annotated[Any, Depends(write_access("crisis:write", verify_csrf))]
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
CheckUid = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{36}$", description="uid of the check")]
Scope = Literal["all", "region", "organisation", "state"]
PocRole = Literal["technical", "diplomatic", "political", "24-7"]


# ---------------------------------------------------------------- input


class CampaignCreate(Schema):
    """A reachability campaign: whom to check, how long they have to answer, reminders and repetition."""

    name: Annotated[Str, Field(min_length=1, max_length=200)]
    scope: Scope = "all"
    scope_value: Annotated[Str | None, Field(max_length=60, description="M49 region, organisation or state code")] = (
        None
    )
    role: PocRole | None = Field(default=None, description="check only contacts of this role (default: every role)")
    window_hours: Annotated[int, Field(ge=1, le=ping.MAX_WINDOW_HOURS)] = 72
    reminder_hours: Annotated[
        list[Annotated[int, Field(ge=1, le=ping.MAX_WINDOW_HOURS)]],
        Field(max_length=ping.MAX_REMINDERS, description="hours after sending at which to remind"),
    ] = []
    repeat_days: Annotated[int | None, Field(ge=1, le=ping.MAX_REPEAT_DAYS, description="run again every N days")] = (
        None
    )


class CampaignUpdate(Schema):
    active: bool = Field(description="false stops repeating (the pending repeat is cancelled); true resumes")


class AckIn(Schema):
    by: Annotated[Str | None, Field(max_length=300, description="who answered (default: you)")] = None


# ---------------------------------------------------------------- output


class FiguresOut(BaseModel):
    sent: int
    acknowledged: int
    response_rate: float | None
    median_seconds: float | None
    median: str | None


class GroupOut(FiguresOut):
    key: str
    label: str


class CampaignOut(BaseModel):
    id: int
    name: str
    scope: str
    scope_value: str | None
    role: str | None
    window_hours: int
    reminder_hours: list[int]
    repeat_days: int | None
    active: bool
    created_by: str | None
    created_at: str


class RunOut(BaseModel):
    id: int
    campaign_id: int
    started_at: str
    closes_at: str
    closed_at: str | None
    status: Literal["open", "closed"]


class RunFiguresOut(RunOut, FiguresOut):
    pass


class CampaignListed(CampaignOut):
    last_run: RunFiguresOut | None


class CampaignPage(BaseModel):
    items: list[CampaignListed]


class CheckOut(BaseModel):
    uid: str
    poc_id: int
    poc_name: str
    state_code: str
    region: str | None
    role: str
    channel: str
    sent_at: str
    reminders: int
    acknowledged_at: str | None
    via: str | None
    acknowledged_by: str | None
    seconds: float | None


class ReportOut(BaseModel):
    totals: FiguresOut
    by_state: list[GroupOut]
    by_region: list[GroupOut]
    by_role: list[GroupOut]


class RunReportOut(ReportOut):
    run: RunOut
    campaign: CampaignOut
    checks: list[CheckOut]


class CampaignReportOut(BaseModel):
    campaign: CampaignOut
    scope: str
    runs: list[RunFiguresOut]
    overall: ReportOut


class AckOut(BaseModel):
    recorded: bool = Field(description="false when it had been acknowledged before (the first time is kept)")
    check: CheckOut


class ReceivedOut(BaseModel):
    id: int
    check_uid: str
    peer: str | None
    campaign: str
    poc_name: str
    poc_role: str
    received_at: str
    respond_by: str | None
    acknowledged_at: str | None
    acknowledged_by: str | None


class ReceivedPage(BaseModel):
    items: list[ReceivedOut]


class ReceivedAckOut(BaseModel):
    recorded: bool
    received: ReceivedOut


# ---------------------------------------------------------------- serialisers


def _received(row: ReceivedPing, peers: dict[int, str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "check_uid": row.check_uid,
        "peer": peers.get(row.peer_id) if row.peer_id is not None else None,
        "campaign": row.campaign,
        "poc_name": row.poc_name,
        "poc_role": row.poc_role,
        "received_at": iso(ping.utc(row.received_at)),
        "respond_by": iso(ping.utc(row.respond_by)) if row.respond_by else None,
        "acknowledged_at": iso(ping.utc(row.acknowledged_at)) if row.acknowledged_at else None,
        "acknowledged_by": row.acknowledged_by,
    }


def _check(session: Session, check: PingCheck) -> dict[str, Any]:
    poc = session.get(PointOfContact, check.poc_id)
    return ping.CheckRow(check, poc.name if poc else "", check.state_code).as_dict()


def person(user: Any) -> str:
    """How a user is named in acknowledgements."""
    return getattr(user, "display_name", None) or getattr(user, "username", None) or "operator"


def node_of(request: Request) -> Node:
    return Node.from_settings(request.app.state.settings)


# ---------------------------------------------------------------- routes


@router.get("/campaigns", response_model=CampaignPage, summary="Reachability campaigns with their latest run")
def list_campaigns(session: DbSession, _user: Reader) -> Any:
    now = utcnow()
    campaigns = ping.list_campaigns(session)
    latest = ping.latest_runs(session, (c.id for c in campaigns))
    items = []
    for c in campaigns:
        last = latest.get(c.id)
        items.append(
            {
                **ping.campaign_dict(c),
                "last_run": {**ping.run_dict(last[0], now), **last[1].as_dict()} if last else None,
            }
        )
    return {"items": items}


@router.post(
    "/campaigns",
    response_model=CampaignOut,
    status_code=201,
    summary="Create a reachability campaign",
    responses={422: {"description": "invalid input (problem+json naming each field)"}},
)
def create_campaign(session: DbSession, user: Writer, payload: CampaignCreate, response: Response) -> Any:
    campaign = ping.create_campaign(session, **payload.model_dump(), actor=Actor.of(user), now=utcnow())
    session.commit()
    response.headers["Location"] = f"{router.prefix}/campaigns/{campaign.id}"
    return ping.campaign_dict(campaign)


@router.get(
    "/campaigns/{campaign_id}",
    response_model=CampaignReportOut,
    summary="A campaign, its runs and the report across them",
    responses={404: {"description": "no such campaign"}},
)
def get_campaign(session: DbSession, _user: Reader, campaign_id: RowId) -> Any:
    return ping.campaign_report(session, campaign_id).as_dict(utcnow())


@router.patch(
    "/campaigns/{campaign_id}",
    response_model=CampaignOut,
    summary="Stop or resume a repeating campaign",
    responses={404: {"description": "no such campaign"}},
)
def update_campaign(session: DbSession, user: Writer, campaign_id: RowId, payload: CampaignUpdate) -> Any:
    campaign = ping.set_active(session, campaign_id, payload.active, now=utcnow(), actor=Actor.of(user))
    session.commit()
    return ping.campaign_dict(campaign)


@router.post(
    "/campaigns/{campaign_id}/runs",
    response_model=RunReportOut,
    status_code=201,
    summary="Run a campaign now: one check per current point of contact in scope",
    responses={404: {"description": "no such campaign"}},
)
def run_campaign(request: Request, session: DbSession, user: Writer, campaign_id: RowId, response: Response) -> Any:
    now = utcnow()
    run = ping.start_run(session, node_of(request), campaign_id, now=now, actor=Actor.of(user))
    session.commit()
    response.headers["Location"] = f"{router.prefix}/runs/{run.id}"
    return ping.run_report(session, run.id).as_dict(now)


@router.get(
    "/runs/{run_id}",
    response_model=RunReportOut,
    summary="A run's report: response rate and median time, in total and by state, region and role",
    responses={404: {"description": "no such run"}},
)
def get_run(session: DbSession, _user: Reader, run_id: RowId) -> Any:
    return ping.run_report(session, run_id).as_dict(utcnow())


@router.post(
    "/checks/{check_uid}/ack",
    response_model=AckOut,
    summary="Record that a contact answered a check (reached another way: channel web)",
    responses={404: {"description": "no such check"}, 409: {"description": "the check's window has closed"}},
)
def acknowledge_check(
    session: DbSession, user: Writer, check_uid: CheckUid, payload: Annotated[AckIn | None, Body()] = None
) -> Any:
    by = (payload.by if payload else None) or person(user)
    ack = ping.acknowledge(session, check_uid, via="web", by=by, now=utcnow(), actor=Actor.of(user))
    session.commit()
    return {"recorded": ack.recorded, "check": _check(session, ack.check)}


@router.get("/received", response_model=ReceivedPage, summary="Reachability checks received from peer nodes")
def list_received(
    session: DbSession,
    _user: Reader,
    pending: Annotated[bool | None, Query(description="true: only unacknowledged; false: only acknowledged")] = None,
) -> Any:
    rows = ping.received_pings(session, pending=pending)
    peers = ping.peer_names(session, (r.peer_id for r in rows))
    return {"items": [_received(r, peers) for r in rows]}


@router.post(
    "/received/{received_id}/ack",
    response_model=ReceivedAckOut,
    summary="Acknowledge a check received from a peer (the acknowledgement is sent back to it)",
    responses={404: {"description": "no such received check"}},
)
def acknowledge_received(session: DbSession, user: Writer, received_id: RowId) -> Any:
    row, recorded = ping.acknowledge_received(session, received_id, by=person(user), now=utcnow(), actor=Actor.of(user))
    session.commit()
    return {"recorded": recorded, "received": _received(row, ping.peer_names(session, [row.peer_id]))}
