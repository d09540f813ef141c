"""Crisis cases over HTTP at ``/api/v1/crisis``, and the archive exports of a case.

Thin: parse the request body into a schema, call ``accord.crisis.service``, serialise. Reading needs
``crisis:read`` (analyst, liaison, admin); anything that changes a case needs ``crisis:write`` (liaison,
admin) and, from a browser, the CSRF token.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from accord.auth.access import write_access
from accord.auth.deps import require
from accord.core.types import Schema, Str
from accord.crisis import export, ledger, service
from accord.crisis.models import Case, Message
from accord.crisis.node import own_keys
from accord.crisis.templates import TEMPLATES
from accord.web.deps import DbSession
from accord.web.security import verify_csrf

router = APIRouter(prefix="/api/v1/crisis", tags=["crisis"])
exports = APIRouter(tags=["crisis"])
Reader = Annotated[Any, Depends(require("crisis:read"))]
Writer = Annotated[Any, Depends(write_access("crisis:write", verify_csrf))]


class Rung(Schema):
    level: str
    ack_hours: float
    reply_hours: float


class CaseIn(Schema):
    title: Str = Field(min_length=1, max_length=300)
    counterpart_state: Str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    incident_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    tlp: Str = "amber"
    language: Str = Field(default="en", min_length=2, max_length=10)
    ladder: list[Rung] | None = Field(default=None, max_length=3)


class MessageIn(Schema):
    kind: Str = Field(description="notification, request-information, request-assistance, request-consultations, "
                      "response, clarification, de-escalation or closure")  # fmt: skip
    urgency: Str = "priority"
    subject: Str | None = Field(default=None, max_length=300)
    incident_summary: Str | None = Field(default=None, max_length=20000)
    requested_action: Str | None = Field(default=None, max_length=20000)
    body: Str | None = Field(default=None, max_length=50000)
    tlp: Str | None = None
    language: Str | None = Field(default=None, max_length=10)
    level: Str | None = None
    in_reply_to: Str | None = Field(default=None, max_length=36)
    ack_hours: float | None = None
    reply_hours: float | None = None
    recipients: list[int] | None = Field(default=None, max_length=50, description="point-of-contact ids")
    sender_name: Str | None = Field(default=None, max_length=300)


class DecisionIn(Schema):
    text: Str = Field(min_length=1, max_length=20000)


class CloseIn(Schema):
    reason: Str = Field(min_length=1, max_length=20000)


class AckIn(Schema):
    by: Str | None = Field(default=None, max_length=300)


class PolicyIn(Schema):
    state_a: Str | None = Field(default=None, min_length=2, max_length=2)
    state_b: Str | None = Field(default=None, min_length=2, max_length=2)
    ladder: list[Rung] = Field(min_length=1, max_length=3)


def _t(value: dt.datetime | None) -> str | None:
    return ledger.iso(value) if value else None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _node(request: Request) -> service.Node:
    node = service.Node.from_settings(request.app.state.settings)
    service.use_node(node)
    return node


def _who(user: Any) -> str:
    return f"{user.display_name} ({user.username})"


def case_json(case: Case) -> dict[str, Any]:
    return {
        "uid": case.uid,
        "title": case.title,
        "incident_id": case.incident_id,
        "origin_state": case.origin_state,
        "counterpart_state": case.counterpart_state,
        "status": case.status,
        "tlp": case.tlp,
        "language": case.language,
        "ladder": case.ladder,
        "level": case.level,
        "received": case.received,
        "opened_by": case.opened_by,
        "opened_at": _t(case.opened_at),
        "closed_at": _t(case.closed_at),
        "ledger_entries": case.ledger_seq,
    }


def message_json(msg: Message) -> dict[str, Any]:
    return {
        "uid": msg.uid,
        "kind": msg.kind,
        "direction": msg.direction,
        "level": msg.level,
        "sender_state": msg.sender_state,
        "sender_name": msg.sender_name,
        "recipients": msg.recipients,
        "urgency": msg.urgency,
        "subject": msg.subject,
        "incident_summary": msg.incident_summary,
        "requested_action": msg.requested_action,
        "body": msg.body,
        "tlp": msg.tlp,
        "language": msg.language,
        "in_reply_to": msg.in_reply_to,
        "escalated_from": msg.escalated_from,
        "sent_at": _t(msg.created_at),
        "ack_due": _t(msg.ack_due),
        "acknowledged_at": _t(msg.acknowledged_at),
        "acknowledged_by": msg.acknowledged_by,
        "reply_due": _t(msg.reply_due),
        "replied_at": _t(msg.replied_at),
        "escalated_at": _t(msg.escalated_at),
    }


@router.get("/templates", summary="Message types and their templates")
def list_templates(_user: Reader) -> dict[str, Any]:
    return {
        "templates": [
            {
                "kind": t.kind,
                "label": t.label,
                "purpose": t.purpose,
                "requested_action": t.requested_action,
                "expects_reply": t.expects_reply,
                "subject": t.subject,
                "body": t.body,
            }
            for t in TEMPLATES.values()
        ]
    }


@router.get("/cases", summary="Crisis cases, newest first")
def get_cases(session: DbSession, _user: Reader, status: str | None = None) -> dict[str, Any]:
    return {"cases": [case_json(c) for c in service.list_cases(session, status)]}


@router.post("/cases", status_code=201, summary="Open a case with a counterpart state")
def post_case(request: Request, session: DbSession, user: Writer, body: CaseIn) -> dict[str, Any]:
    case = service.open_case(
        session,
        _node(request),
        title=body.title,
        counterpart_state=body.counterpart_state.upper(),
        incident_id=body.incident_id,
        tlp=body.tlp,
        language=body.language,
        ladder=[r.model_dump() for r in body.ladder] if body.ladder else None,
        actor=_who(user),
        now=_now(),
    )
    session.commit()
    return case_json(case)


@router.get("/cases/{uid}", summary="A case with its messages and the deadlines still running (ours and theirs)")
def get_case(session: DbSession, _user: Reader, uid: str) -> dict[str, Any]:
    case = service.get_case(session, uid)
    msgs = service.messages_of(session, case)
    deadlines = service.pending_deadlines(session, msgs) if case.status == "open" else []
    return {
        **case_json(case),
        "messages": [message_json(m) for m in msgs],
        "deadlines": [
            {"message": d.message.uid, "kind": d.kind, "due_at": _t(d.due), "ours": d.ours} for d in deadlines
        ],
    }


@router.post("/cases/{uid}/messages", status_code=201, summary="Compose from a template and send")
def post_message(request: Request, session: DbSession, user: Writer, uid: str, body: MessageIn) -> dict[str, Any]:
    case = service.get_case(session, uid)
    fields = body.model_dump(exclude_none=True)
    msg = service.send_message(session, _node(request), case, actor=_who(user), now=_now(), **fields)
    session.commit()
    return message_json(msg)


@router.post("/messages/{uid}/acknowledge", summary="Acknowledge a message (first acknowledgement stands)")
def post_ack(request: Request, session: DbSession, user: Writer, uid: str, body: AckIn | None = None) -> dict[str, Any]:
    msg = service.get_message(session, uid)
    first = service.acknowledge(session, _node(request), msg, by=(body and body.by) or _who(user), now=_now())
    session.commit()
    return {**message_json(msg), "first": first}


@router.post("/cases/{uid}/decisions", status_code=201, summary="Record a decision in the case's ledger")
def post_decision(request: Request, session: DbSession, user: Writer, uid: str, body: DecisionIn) -> dict[str, Any]:
    case = service.get_case(session, uid)
    service.record_decision(session, _node(request), case, text=body.text, actor=_who(user), now=_now())
    session.commit()
    return case_json(case)


@router.post("/cases/{uid}/close", summary="Close a case")
def post_close(request: Request, session: DbSession, user: Writer, uid: str, body: CloseIn) -> dict[str, Any]:
    case = service.get_case(session, uid)
    service.close_case(session, _node(request), case, actor=_who(user), now=_now(), reason=body.reason)
    session.commit()
    return case_json(case)


@router.get("/cases/{uid}/ledger", summary="The case's ledger entries and their verification")
def get_ledger(request: Request, session: DbSession, _user: Reader, uid: str) -> dict[str, Any]:
    case = service.get_case(session, uid)
    result = ledger.verify(session, case, own_keys(request.app.state.settings))
    return {
        "verification": {"ok": result.ok, "entries": result.entries, "problems": result.problems},
        "entries": [
            {
                "seq": e.seq,
                "kind": e.kind,
                "at": e.at,
                "actor": e.actor,
                "data": e.data,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
                "kid": e.kid,
                "signature": e.signature,
            }
            for e in ledger.entries(session, case)
        ],
    }


@router.get("/policies", summary="Escalation ladders per dyad")
def get_policies(session: DbSession, _user: Reader) -> dict[str, Any]:
    return {
        "default": service.DEFAULT_LADDER,
        "policies": [
            {"state_a": p.state_a, "state_b": p.state_b, "ladder": p.ladder} for p in service.list_policies(session)
        ],
    }


@router.put("/policies", summary="Set the ladder of a dyad (both states unset: the node default)")
def put_policy(session: DbSession, _user: Writer, body: PolicyIn) -> dict[str, Any]:
    a = body.state_a.upper() if body.state_a else None
    b = body.state_b.upper() if body.state_b else None
    ladder = [r.model_dump() for r in body.ladder]
    service.set_policy(session, a, b, ladder)
    session.commit()
    return {"state_a": a, "state_b": b, "ladder": service.check_ladder(ladder)}


@exports.get("/crisis/cases/{uid}/export.html", response_class=HTMLResponse, summary="Archive export (HTML)")
def export_html(request: Request, session: DbSession, _user: Reader, uid: str) -> HTMLResponse:
    record = export.case_record(session, service.get_case(session, uid), request.app.state.settings)
    return HTMLResponse(
        export.to_html(record),
        headers={"Content-Disposition": f'attachment; filename="case-{record["case"]["uid"]}.html"'},
    )


@exports.get("/crisis/cases/{uid}/export.pdf", summary="Archive export (PDF)")
def export_pdf(request: Request, session: DbSession, _user: Reader, uid: str) -> Response:
    record = export.case_record(session, service.get_case(session, uid), request.app.state.settings)
    return Response(
        export.to_pdf(record),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="case-{record["case"]["uid"]}.pdf"'},
    )
