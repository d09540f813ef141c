"""Pages of reachability checks: campaigns (list, create, run, stop/resume), a campaign's runs, a run's
report (rates and median times by state, region and role, with a chart; each check with an Acknowledge
button for answers received another way), the points-of-contact directory with each contact's latest
check, and the checks peers sent to this node.

Reading needs ``contacts:read`` (the reports name points of contact); creating, running and acknowledging
need ``crisis:write``. Forms carry the CSRF token (checked by the router's ``verify_csrf`` dependency).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.audit.service import Actor
from accord.auth.roles import can
from accord.core.errors import Forbidden, Invalid, NotFound, Problem, Unauthorized
from accord.core.records import problems_from_validation
from accord.core.types import country_name
from accord.crisis import ping
from accord.crisis.service import Node
from accord.db import utcnow
from accord.directory.models import Organisation, State
from accord.web.deps import DbSession
from accord.web.pages.common import render, user_of
from accord.web.ping_api import CampaignCreate, person

router = APIRouter()


# ---------------------------------------------------------------- who is asking


def _reader(request: Request) -> Any:
    user = user_of(request)
    if user is None:
        raise Unauthorized("sign in to see reachability checks")
    if not can(user, "contacts:read"):
        raise Forbidden(f"your role ({user.role}) may not read points of contact")
    return user


def _writer(request: Request) -> Any:
    user = _reader(request)
    if not can(user, "crisis:write"):
        raise Forbidden(f"your role ({user.role}) may not run reachability checks")
    return user


def _row_id(raw: str, what: str) -> int:
    if not raw.isdecimal() or len(raw) > 9:
        raise NotFound(f"no {what} {raw!r}")
    return int(raw)


# ---------------------------------------------------------------- display helpers


def percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.0f} %"


def _when(moment: dt.datetime | None) -> str:
    return ping.utc(moment).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def _chart(report: ping.Report) -> dict[str, Any]:
    """Response rates (in %) and median acknowledgement times (hours) by region and by role, for
    ``static/js/ping.js``."""

    def series(groups: list[ping.Group]) -> dict[str, Any]:
        return {
            "labels": [g.label for g in groups],
            "rates": [round((g.figures.rate or 0) * 100, 1) for g in groups],
            "median_hours": [
                None if g.figures.median_seconds is None else round(g.figures.median_seconds / 3600, 2) for g in groups
            ],
        }

    return {"region": series(report.by_region), "role": series(report.by_role)}


def _context(**extra: Any) -> dict[str, Any]:
    return {"percent": percent, "when": _when, "human": ping.human, **extra}


# ---------------------------------------------------------------- campaigns


def _choices(session: Session) -> dict[str, Any]:
    """The options of the campaign form and the directory filters."""
    regions = [r for r in session.scalars(select(State.m49_region).distinct().order_by(State.m49_region)) if r]
    orgs = list(session.scalars(select(Organisation.code).order_by(Organisation.code)))
    states = list(session.execute(select(State.code, State.name).order_by(State.name)))
    return {"regions": regions, "orgs": orgs, "states": states, "scopes": ping.SCOPES, "roles": ping.POC_ROLES}


def _campaigns_page(
    request: Request, session: Session, *, problems: list[Problem], form: dict[str, str], status: int = 200
) -> HTMLResponse:
    user = _reader(request)
    campaigns = ping.list_campaigns(session)
    return render(
        request,
        "crisis/ping_campaigns.html",
        _context(
            campaigns=campaigns,
            latest=ping.latest_runs(session, (c.id for c in campaigns)),
            scope_text=ping.describe_scope,
            may_write=can(user, "crisis:write"),
            problems=problems,
            bad={p.field.split(".")[0] for p in problems},
            form=form,
            **_choices(session),
        ),
        status,
    )


@router.get("/crisis/ping", response_class=HTMLResponse, include_in_schema=False)
def campaigns_page(request: Request, session: DbSession) -> HTMLResponse:
    return _campaigns_page(request, session, problems=[], form={})


def _parse_hours(raw: str) -> list[Any]:
    """``"24, 48"`` → ``[24, 48]``; a part that is not a whole number is kept as text (pydantic names it)."""
    parts = [p.strip() for p in raw.replace(";", ",").split(",") if p.strip()]
    return [int(p) if p.isdecimal() and len(p) < 7 else p for p in parts]


def _campaign_input(form: dict[str, str]) -> dict[str, Any]:
    scope = form.get("scope") or "all"
    data: dict[str, Any] = {
        "name": form.get("name", ""),
        "scope": scope,
        "scope_value": form.get(f"value_{scope}") or None,
        "role": form.get("role") or None,
        "window_hours": form.get("window_hours") or 72,
        "reminder_hours": _parse_hours(form.get("reminder_hours", "")),
        "repeat_days": form.get("repeat_days") or None,
    }
    return data


@router.post("/crisis/ping", include_in_schema=False)
async def create_campaign(request: Request, session: DbSession) -> Response:
    user = _writer(request)
    form = {k: v.strip() for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        payload = CampaignCreate.model_validate(_campaign_input(form))
        campaign = ping.create_campaign(session, **payload.model_dump(), actor=Actor.of(user), now=utcnow())
    except ValidationError as exc:
        return _campaigns_page(request, session, problems=problems_from_validation(exc), form=form, status=422)
    except Invalid as exc:
        session.rollback()
        return _campaigns_page(request, session, problems=exc.problems, form=form, status=422)
    session.commit()
    return RedirectResponse(f"/crisis/ping/campaigns/{campaign.id}", status_code=303)


@router.get("/crisis/ping/campaigns/{campaign_id}", response_class=HTMLResponse, include_in_schema=False)
def campaign_page(request: Request, session: DbSession, campaign_id: str) -> HTMLResponse:
    user = _reader(request)
    result = ping.campaign_report(session, _row_id(campaign_id, "campaign"))
    return render(
        request,
        "crisis/ping_campaign.html",
        _context(
            c=result.campaign,
            scope_text=ping.describe_scope(result.campaign),
            runs=result.runs,
            report=result.overall,
            chart=_chart(result.overall),
            status_of=lambda run: ping.run_status(run, utcnow()),
            may_write=can(user, "crisis:write"),
        ),
    )


@router.post("/crisis/ping/campaigns/{campaign_id}/run", include_in_schema=False)
def run_campaign(request: Request, session: DbSession, campaign_id: str) -> Response:
    user = _writer(request)
    node = Node.from_settings(request.app.state.settings)
    run = ping.start_run(session, node, _row_id(campaign_id, "campaign"), now=utcnow(), actor=Actor.of(user))
    session.commit()
    return RedirectResponse(f"/crisis/ping/runs/{run.id}", status_code=303)


@router.post("/crisis/ping/campaigns/{campaign_id}/active", include_in_schema=False)
async def set_active(request: Request, session: DbSession, campaign_id: str) -> Response:
    user = _writer(request)
    form = await request.form()
    active = form.get("active") == "true"
    campaign = ping.set_active(session, _row_id(campaign_id, "campaign"), active, now=utcnow(), actor=Actor.of(user))
    session.commit()
    return RedirectResponse(f"/crisis/ping/campaigns/{campaign.id}", status_code=303)


# ---------------------------------------------------------------- a run's report


@router.get("/crisis/ping/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
def run_page(request: Request, session: DbSession, run_id: str) -> HTMLResponse:
    user = _reader(request)
    result = ping.run_report(session, _row_id(run_id, "run"))
    now = utcnow()
    return render(
        request,
        "crisis/ping_run.html",
        _context(
            run=result.run,
            c=result.campaign,
            scope_text=ping.describe_scope(result.campaign),
            status=ping.run_status(result.run, now),
            report=result.report,
            checks=result.checks,
            chart=_chart(result.report),
            may_write=can(user, "crisis:write"),
        ),
    )


@router.post("/crisis/ping/checks/{check_uid}/ack", include_in_schema=False)
def acknowledge_check(request: Request, session: DbSession, check_uid: str) -> Response:
    user = _writer(request)
    if len(check_uid) > 36:
        raise NotFound(f"no reachability check {check_uid!r}")
    ack = ping.acknowledge(session, check_uid, via="web", by=person(user), now=utcnow(), actor=Actor.of(user))
    session.commit()
    return RedirectResponse(f"/crisis/ping/runs/{ack.check.run_id}#check-{ack.check.uid}", status_code=303)


# ---------------------------------------------------------------- the directory and received checks


@router.get("/crisis/contacts", response_class=HTMLResponse, include_in_schema=False)
def contacts_page(request: Request, session: DbSession) -> HTMLResponse:
    _reader(request)
    state = (request.query_params.get("state") or "").strip().upper()[:2] or None
    role = request.query_params.get("role") or None
    problems = []
    if state and country_name(state) is None and session.get(State, state) is None:
        problems.append(Problem("state", f"{state!r} is not a state code"))
        state = None
    if role and role not in ping.POC_ROLES:
        problems.append(Problem("role", f"must be one of {', '.join(ping.POC_ROLES)}"))
        role = None
    now = utcnow()
    rows = ping.contacts_directory(session, today=now.date(), now=now, state=state, role=role)
    return render(
        request,
        "crisis/ping_contacts.html",
        _context(rows=rows, state=state or "", role=role or "", problems=problems, **_choices(session)),
    )


@router.get("/crisis/inbox/pings", response_class=HTMLResponse, include_in_schema=False)
def received_page(request: Request, session: DbSession) -> HTMLResponse:
    user = _reader(request)
    rows = ping.received_pings(session)
    return render(
        request,
        "crisis/ping_received.html",
        _context(
            rows=rows,
            peers=ping.peer_names(session, (r.peer_id for r in rows)),
            may_write=can(user, "crisis:write"),
        ),
    )


@router.post("/crisis/inbox/pings/{received_id}/ack", include_in_schema=False)
def acknowledge_received(request: Request, session: DbSession, received_id: str) -> Response:
    user = _writer(request)
    ping.acknowledge_received(
        session, _row_id(received_id, "received check"), by=person(user), now=utcnow(), actor=Actor.of(user)
    )
    session.commit()
    return RedirectResponse("/crisis/inbox/pings", status_code=303)
