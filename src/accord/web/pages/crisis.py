"""The crisis room: open cases with their escalation level and nearest deadline, the case page (timeline of
messages and ledger events, live countdowns, acknowledge, decisions, closure, ledger check), the form that
opens a case and the form that composes a message from its template.

Reading needs ``crisis:read`` (analyst, liaison, admin); every change needs ``crisis:write`` (liaison,
admin). Each change is one call of ``accord.crisis.service`` in one transaction, then a redirect (POST →
redirect → GET); bad input re-renders the form with the problems next to their fields (422).

Deadlines are shown as a UTC time in a ``<time datetime>`` element plus the time left as of the page load;
``/static/crisis.js`` keeps the time left current every 30 seconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.auth.roles import can
from accord.core.errors import Conflict, Forbidden, Invalid, NotFound, Problem, Unauthorized
from accord.crisis import ledger, service
from accord.crisis.models import URGENCIES, Case, LedgerEntry, Message
from accord.crisis.node import own_keys
from accord.crisis.service import Deadline, pending_deadlines
from accord.crisis.templates import LANGUAGES, TEMPLATES, draft
from accord.incidents.models import Incident
from accord.web.deps import DbSession
from accord.web.pages.common import render, state_names, user_of

router = APIRouter()

LANGUAGE_NAMES = {"en": "English", "fr": "French"}
MAX_LINE = 300  # title and subject columns
MAX_TEXT = 20_000  # free-text fields (summary, action, body, decision, reason)
NOTICES = {  # ?done=… after a change: fixed texts, nothing from the query string is echoed
    "opened": "The case is open. Compose its first message below.",
    "sent": "The message was sent; its deadlines are running.",
    "acknowledged": "The acknowledgement is recorded.",
    "already": "That message was already acknowledged; the first acknowledgement stands.",
    "decision": "The decision is recorded in the case's ledger.",
    "closed": "The case is closed; its deadlines are cancelled.",
}


# ---------------------------------------------------------------- who is asking


def reader(request: Request) -> Any:
    """The signed-in user if they may see crisis cases (401 for visitors, 403 for other roles)."""
    user = user_of(request)
    if user is None:
        raise Unauthorized("sign in to use the crisis room")
    if not can(user, "crisis:read"):
        raise Forbidden(f"your role ({user.role}) may not see crisis cases")
    return user


def writer(request: Request) -> Any:
    user = reader(request)
    if not can(user, "crisis:write"):
        raise Forbidden(f"your role ({user.role}) may not act in crisis cases")
    return user


def who(user: Any) -> str:
    return f"{user.display_name} ({user.username})"


def acting_node(request: Request) -> service.Node:
    node = service.Node.from_settings(request.app.state.settings)
    service.use_node(node)  # deadline handlers fired in this process sign as this node too
    return node


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ---------------------------------------------------------------- times for people


def duration(delta: dt.timedelta) -> str:
    """``3 h 12 min``, ``2 d 4 h``, ``45 min``, ``less than a minute`` (the same rule as crisis.js)."""
    minutes = int(abs(delta.total_seconds()) // 60)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min" if mins else "less than a minute"


@dataclass(frozen=True)
class Clock:
    """Formats times on one page, all against the same ``now``."""

    now: dt.datetime

    def iso(self, moment: dt.datetime) -> str:
        return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def stamp(self, moment: dt.datetime | None) -> str:
        if moment is None:
            return ""
        moment = moment.astimezone(dt.UTC)
        return f"{moment.day} {moment:%b %Y, %H:%M} UTC"

    def left(self, due: dt.datetime) -> str:
        delta = due - self.now
        return f"{duration(delta)} left" if delta.total_seconds() > 0 else f"overdue by {duration(delta)}"

    def overdue(self, due: dt.datetime) -> bool:
        return due <= self.now

    def soon(self, due: dt.datetime) -> bool:
        return self.now < due <= self.now + dt.timedelta(hours=1)


def at_of(entry: LedgerEntry) -> dt.datetime:
    return dt.datetime.fromisoformat(entry.at.replace("Z", "+00:00"))


# ---------------------------------------------------------------- deadlines


# ---------------------------------------------------------------- the crisis room


@dataclass
class CaseRow:
    case: Case
    deadline: Deadline | None = None
    unacknowledged: int = 0
    awaiting_us: int = 0
    incident: Incident | None = None


def _messages_by_case(session: Session, cases: list[Case]) -> dict[int, list[Message]]:
    ids = [c.id for c in cases]
    grouped: dict[int, list[Message]] = {i: [] for i in ids}
    if ids:
        for msg in session.scalars(select(Message).where(Message.case_id.in_(ids)).order_by(Message.id)):
            grouped[msg.case_id].append(msg)
    return grouped


def case_rows(session: Session, cases: list[Case]) -> list[CaseRow]:
    grouped = _messages_by_case(session, [c for c in cases if c.status == "open"])
    incident_ids = {c.incident_id for c in cases if c.incident_id}
    incidents = {i.id: i for i in session.scalars(select(Incident).where(Incident.id.in_(incident_ids)))}
    rows = []
    for case in cases:
        row = CaseRow(case, incident=incidents.get(case.incident_id or 0))
        if case.status == "open":
            msgs = grouped[case.id]
            nearest = pending_deadlines(session, msgs)
            row.deadline = nearest[0] if nearest else None
            row.unacknowledged = sum(1 for m in msgs if m.acknowledged_at is None)
            row.awaiting_us = sum(1 for m in msgs if m.acknowledged_at is None and m.direction == "in")
        rows.append(row)
    return rows


@router.get("/crisis", response_class=HTMLResponse, include_in_schema=False)
def crisis_room(request: Request, session: DbSession) -> HTMLResponse:
    user = reader(request)
    cases = service.list_cases(session)
    rows = case_rows(session, cases)
    open_rows = sorted(
        (r for r in rows if r.case.status == "open"),
        key=lambda r: (r.deadline is None, r.deadline.due if r.deadline else r.case.opened_at),
    )
    return render(
        request,
        "crisis/case_list.html",
        {
            "open_rows": open_rows,
            "closed_rows": [r for r in rows if r.case.status != "open"],
            "names": state_names(session),
            "t": Clock(utcnow()),
            "may_write": can(user, "crisis:write"),
        },
    )


# ---------------------------------------------------------------- opening a case


def _incident_choices(session: Session) -> list[tuple[int, str]]:
    rows = session.execute(select(Incident.id, Incident.name, Incident.start_date).order_by(Incident.name))
    return [(i, f"{name} ({start.year})" if start else name) for i, name, start in rows]


def _case_form(
    request: Request, session: Session, values: dict[str, str], problems: list[Problem], status: int = 200
) -> HTMLResponse:
    node_state = request.app.state.settings.node_state
    names = state_names(session)
    counterpart = values.get("counterpart_state") or ""
    ladder = service.policy_ladder(session, node_state, counterpart) if counterpart in names else None
    return render(
        request,
        "crisis/case_form.html",
        {
            "values": values,
            "errors": errors_by_field(problems),
            "problems": problems,
            "states": sorted(((c, n) for c, n in names.items() if c != node_state), key=lambda cn: cn[1]),
            "names": names,
            "incidents": _incident_choices(session),
            "tlps": service.TLP_LEVELS,
            "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in LANGUAGES],
            "ladder": ladder,
            "default_ladder": service.policy_ladder(session, None, "") if ladder is None else None,
            "policies": service.list_policies(session),
            "node_state": node_state,
        },
        status=status,
    )


@router.get("/crisis/cases/new", response_class=HTMLResponse, include_in_schema=False)
def new_case_form(request: Request, session: DbSession) -> HTMLResponse:
    writer(request)
    params = request.query_params
    values = {
        "title": "",
        "counterpart_state": (params.get("counterpart_state") or "").strip().upper()[:2],
        "incident_id": (params.get("incident") or "").strip()[:12],
        "tlp": "amber",
        "language": "en",
    }
    return _case_form(request, session, values, [])


def _case_values(form: Any) -> dict[str, str]:
    values = {k: str(form.get(k) or "").strip() for k in ("title", "counterpart_state", "incident_id", "tlp")}
    values["counterpart_state"] = values["counterpart_state"].upper()
    values["language"] = str(form.get("language") or "").strip()
    return values


def _checked_case(values: dict[str, str]) -> tuple[int | None, list[Problem]]:
    problems = []
    if len(values["title"]) > MAX_LINE:
        problems.append(Problem("title", f"at most {MAX_LINE} characters"))
    if not values["counterpart_state"]:
        problems.append(Problem("counterpart_state", "choose the counterpart state"))
    if values["language"] not in LANGUAGES:
        problems.append(Problem("language", f"must be one of {', '.join(LANGUAGES)}"))
    incident_id = None
    if values["incident_id"]:
        if values["incident_id"].isdecimal() and len(values["incident_id"]) < 10:
            incident_id = int(values["incident_id"])
        else:
            problems.append(Problem("incident_id", "choose an incident from the list"))
    return incident_id, problems


def merge(page: list[Problem], found: list[Problem]) -> list[Problem]:
    """The page's own problems, then the service's on other fields (one message per field is enough)."""
    fields = {p.field for p in page}
    return page + [p for p in found if p.field.split(".")[0] not in fields]


@router.post("/crisis/cases/new", include_in_schema=False)
async def create_case(request: Request, session: DbSession) -> Response:
    user = writer(request)
    values = _case_values(await request.form())
    incident_id, problems = _checked_case(values)
    try:  # the service checks the rest (state, incident, TLP, title); nothing is kept unless all is well
        case = service.open_case(
            session,
            acting_node(request),
            title=values["title"][:MAX_LINE],  # too long is reported above; the column must not overflow
            counterpart_state=values["counterpart_state"],
            incident_id=incident_id,
            tlp=values["tlp"],
            language=values["language"] if values["language"] in LANGUAGES else "en",
            actor=who(user),
            now=utcnow(),
        )
    except Invalid as exc:
        problems = merge(problems, exc.problems)
    if problems:
        session.rollback()
        return _case_form(request, session, values, problems, status=422)
    session.commit()
    return RedirectResponse(f"/crisis/cases/{case.uid}?done=opened", status_code=303)


# ---------------------------------------------------------------- the case page


@dataclass
class MessageView:
    """One message of the timeline with what the page says about its deadlines and links."""

    msg: Message
    successor: Message | None = None  # the message that escalated this one
    predecessor: Message | None = None  # the message this one escalates
    answers: Message | None = None  # the message this one replies to
    replies: list[Message] = field(default_factory=list)

    @property
    def expects_reply(self) -> bool:
        return service.expects_reply(self.msg)


def message_views(messages: list[Message]) -> dict[str, MessageView]:
    views = {m.uid: MessageView(m) for m in messages}
    for view in views.values():
        msg = view.msg
        if msg.escalated_from in views:
            view.predecessor = views[msg.escalated_from].msg
            views[msg.escalated_from].successor = msg
        if msg.in_reply_to in views:
            view.answers = views[msg.in_reply_to].msg
            views[msg.in_reply_to].replies.append(msg)
    return views


def timeline(entries: list[LedgerEntry], views: dict[str, MessageView]) -> list[dict[str, Any]]:
    """The ledger in order; a message-sent / message-received entry becomes that message's card."""
    items: list[dict[str, Any]] = []
    shown: set[str] = set()
    for entry in entries:
        uid = entry.data.get("uid") if isinstance(entry.data, dict) else None
        if entry.kind in ("message-sent", "message-received") and uid in views and uid not in shown:
            shown.add(uid)
            items.append({"type": "message", "at": at_of(entry), "view": views[uid], "entry": entry})
        else:
            items.append({"type": "event", "at": at_of(entry), "entry": entry})
    for uid, view in views.items():  # a message the ledger does not know of still shows (and verify says why)
        if uid not in shown:
            items.append({"type": "message", "at": view.msg.created_at, "view": view, "entry": None})
    return items


@dataclass
class Escalation:
    message: Message
    at: dt.datetime | None
    successor: Message | None = None
    why: str = ""
    exhausted: bool = False


def escalations(entries: list[LedgerEntry], views: dict[str, MessageView]) -> list[Escalation]:
    out = []
    for entry in entries:
        if entry.kind not in ("escalated", "ladder-exhausted") or entry.data.get("message") not in views:
            continue
        view = views[entry.data["message"]]
        out.append(
            Escalation(
                view.msg,
                at_of(entry),
                view.successor if entry.kind == "escalated" else None,
                str(entry.data.get("why") or ""),
                entry.kind == "ladder-exhausted",
            )
        )
    return out


def _case_page(
    request: Request,
    session: Session,
    case: Case,
    *,
    values: dict[str, str] | None = None,
    problems: list[Problem] | None = None,
    status: int = 200,
) -> HTMLResponse:
    user = reader(request)
    messages = service.messages_of(session, case)
    views = message_views(messages)
    entries = ledger.entries(session, case)
    done = request.query_params.get("done", "")
    return render(
        request,
        "crisis/case.html",
        {
            "case": case,
            "names": state_names(session),
            "incident": session.get(Incident, case.incident_id) if case.incident_id else None,
            "t": Clock(utcnow()),
            "deadlines": pending_deadlines(session, messages) if case.status == "open" else [],
            "timeline": timeline(entries, views),
            "views": views,
            "escalations": escalations(entries, views),
            "verification": ledger.verify(session, case, own_keys(request.app.state.settings)),
            "acting": can(user, "crisis:write") and case.status == "open",
            "templates": TEMPLATES,
            "values": values or {"text": "", "reason": ""},
            "errors": errors_by_field(problems or []),
            "problems": problems or [],
            "notice": NOTICES.get(done, ""),
        },
        status=status,
    )


@router.get("/crisis/cases/{uid}", response_class=HTMLResponse, include_in_schema=False)
def case_page(request: Request, session: DbSession, uid: str) -> HTMLResponse:
    reader(request)
    return _case_page(request, session, service.get_case(session, uid))


@router.post("/crisis/messages/{uid}/acknowledge", include_in_schema=False)
async def acknowledge(request: Request, session: DbSession, uid: str) -> Response:
    """Acknowledge a received message, or record that the counterpart acknowledged a sent one (by phone…)."""
    user = writer(request)
    msg = service.get_message(session, uid)
    case = session.get(Case, msg.case_id)
    assert case is not None
    form = await request.form()
    by = who(user)
    if msg.direction == "out":
        given = str(form.get("by") or "").strip()[:200]
        by = f"{given} (recorded by {by})" if given else f"recorded by {by}"
    first = service.acknowledge(session, acting_node(request), msg, by=by[:300], now=utcnow(), via="web")
    session.commit()
    done = "acknowledged" if first else "already"
    return RedirectResponse(f"/crisis/cases/{case.uid}?done={done}#m-{msg.uid}", status_code=303)


@router.post("/crisis/cases/{uid}/decisions", include_in_schema=False)
async def record_decision(request: Request, session: DbSession, uid: str) -> Response:
    user = writer(request)
    case = service.get_case(session, uid)
    text = str((await request.form()).get("text") or "")
    try:
        if len(text) > MAX_TEXT:
            raise Invalid("too long", [Problem("text", f"at most {MAX_TEXT:,} characters")])
        service.record_decision(session, acting_node(request), case, text=text, actor=who(user), now=utcnow())
        session.commit()
    except Invalid as exc:
        session.rollback()
        values = {"text": text, "reason": ""}
        return _case_page(request, session, case, values=values, problems=exc.problems, status=422)
    return RedirectResponse(f"/crisis/cases/{case.uid}?done=decision", status_code=303)


@router.post("/crisis/cases/{uid}/close", include_in_schema=False)
async def close(request: Request, session: DbSession, uid: str) -> Response:
    user = writer(request)
    case = service.get_case(session, uid)
    reason = str((await request.form()).get("reason") or "").strip()
    problems = []
    if not reason:
        problems.append(Problem("reason", "say how the case ends (outcome, agreement, no reply …)"))
    elif len(reason) > MAX_TEXT:
        problems.append(Problem("reason", f"at most {MAX_TEXT:,} characters"))
    if problems:
        return _case_page(request, session, case, values={"text": "", "reason": reason}, problems=problems, status=422)
    service.close_case(session, acting_node(request), case, actor=who(user), now=utcnow(), reason=reason)
    session.commit()
    return RedirectResponse(f"/crisis/cases/{case.uid}?done=closed", status_code=303)


# ---------------------------------------------------------------- composing a message

COMPOSE_TEXT = ("subject", "incident_summary", "requested_action", "body")
COMPOSE_CHOICES = ("kind", "urgency", "level", "tlp", "language", "ack_hours", "reply_hours", "in_reply_to")


def errors_by_field(problems: list[Problem]) -> dict[str, list[str]]:
    """Problems keyed by form field: ``recipients.2`` → ``recipients``."""
    errors: dict[str, list[str]] = {}
    for p in problems:
        errors.setdefault(p.field.split(".")[0], []).append(p.reason)
    return errors


def _open_case(session: Session, uid: str) -> Case:
    case = service.get_case(session, uid)
    if case.status != "open":
        raise Conflict("the case is closed; no message can be sent")
    return case


def _reply_target(session: Session, case: Case, uid: str) -> Message | None:
    if not uid:
        return None
    try:
        msg = service.get_message(session, uid)
    except NotFound:
        return None
    return msg if msg.case_id == case.id else None


def _last_summary(session: Session, case: Case) -> str:
    """The incident summary of the case's latest message, else the incident's description."""
    summaries = [m.incident_summary for m in service.messages_of(session, case) if m.incident_summary]
    if summaries:
        return summaries[-1]
    incident = session.get(Incident, case.incident_id) if case.incident_id else None
    if incident is None:
        return ""
    return f"{incident.name}: {incident.description}" if incident.description else incident.name


def _compose_defaults(session: Session, case: Case, params: Any) -> dict[str, Any]:
    reply_to = (params.get("reply_to") or "").strip()[:36]
    kind = params.get("kind") if params.get("kind") in TEMPLATES else ("response" if reply_to else "notification")
    language = params.get("language") if params.get("language") in LANGUAGES else case.language
    rungs = [r["level"] for r in case.ladder]
    level = params.get("level") if params.get("level") in rungs else case.level
    text = draft(kind, case.title, language if language in LANGUAGES else "en")
    return {
        "kind": kind,
        "urgency": "priority",
        "level": level,
        "tlp": case.tlp,
        "language": language,
        "ack_hours": "",
        "reply_hours": "",
        "in_reply_to": reply_to,
        "subject": text["subject"],
        "incident_summary": _last_summary(session, case),
        "requested_action": text["requested_action"],
        "body": text["body"],
        "recipients": [],
    }


def _drafts(case: Case) -> dict[str, dict[str, dict[str, str]]]:
    return {lang: {kind: draft(kind, case.title, lang) for kind in TEMPLATES} for lang in LANGUAGES}


def _compose_form(
    request: Request,
    session: Session,
    case: Case,
    values: dict[str, Any],
    problems: list[Problem],
    status: int = 200,
) -> HTMLResponse:
    today = utcnow().date()
    contacts = [(r, service.contacts_at(session, case.counterpart_state, r["level"], today)) for r in case.ladder]
    return render(
        request,
        "crisis/compose.html",
        {
            "case": case,
            "values": values,
            "errors": errors_by_field(problems),
            "problems": problems,
            "names": state_names(session),
            "templates": TEMPLATES,
            "urgencies": URGENCIES,
            "tlps": service.TLP_LEVELS,
            "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in LANGUAGES],
            "contacts": contacts,
            "reply_target": _reply_target(session, case, values["in_reply_to"]),
            "drafts": _drafts(case),
        },
        status=status,
    )


@router.get("/crisis/cases/{uid}/compose", response_class=HTMLResponse, include_in_schema=False)
def compose_form(request: Request, session: DbSession, uid: str) -> HTMLResponse:
    writer(request)
    case = _open_case(session, uid)
    return _compose_form(request, session, case, _compose_defaults(session, case, request.query_params), [])


def _compose_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in COMPOSE_CHOICES + COMPOSE_TEXT}
    values["recipients"] = [str(v) for v in form.getlist("recipients")]
    return values


def _hours(values: dict[str, Any], name: str, problems: list[Problem]) -> float | None:
    raw = values[name].replace(",", ".")
    if not raw:
        return None
    try:
        hours = float(raw)
    except ValueError:
        problems.append(Problem(name, "a number of hours, e.g. 4 or 1.5"))
        return None
    if not 0 < hours <= 24 * 90:  # also refuses nan and inf
        problems.append(Problem(name, "must be between 0 and 2160 hours"))
        return None
    return hours


def _message_fields(values: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Keyword arguments of ``service.send_message`` from the form, and the problems the page finds itself."""
    problems: list[Problem] = []
    if len(values["subject"]) > MAX_LINE:
        problems.append(Problem("subject", f"at most {MAX_LINE} characters"))
    for name in ("incident_summary", "requested_action", "body"):
        if len(values[name]) > MAX_TEXT:
            problems.append(Problem(name, f"at most {MAX_TEXT:,} characters"))
    if values["language"] not in LANGUAGES:
        problems.append(Problem("language", f"must be one of {', '.join(LANGUAGES)}"))
    picked = values["recipients"]
    if not all(v.isdecimal() and len(v) < 10 for v in picked):
        problems.append(Problem("recipients", "choose recipients from the list"))
    fields = {
        "kind": values["kind"],
        "urgency": values["urgency"],
        "level": values["level"] or None,
        "tlp": values["tlp"] or None,
        "language": values["language"] if values["language"] in LANGUAGES else None,
        "in_reply_to": values["in_reply_to"] or None,
        "ack_hours": _hours(values, "ack_hours", problems),
        "reply_hours": _hours(values, "reply_hours", problems),
        "recipients": sorted({int(v) for v in picked if v.isdecimal() and len(v) < 10}) or None,
        **{name: values[name] or None for name in COMPOSE_TEXT},
    }
    fields["subject"] = (values["subject"] or None) and values["subject"][:MAX_LINE]  # too long: reported above
    return fields, problems


@router.post("/crisis/cases/{uid}/compose", include_in_schema=False)
async def send(request: Request, session: DbSession, uid: str) -> Response:
    user = writer(request)
    case = _open_case(session, uid)
    values = _compose_values(await request.form())
    fields, problems = _message_fields(values)
    try:  # the service checks kind, urgency, level, TLP, recipients, reply; nothing is kept unless all is well
        msg = service.send_message(
            session, acting_node(request), case, actor=who(user), now=utcnow(), sender_name=_sender(user), **fields
        )
    except Invalid as exc:
        problems = merge(problems, exc.problems)
    if problems:
        session.rollback()
        return _compose_form(request, session, case, values, problems, status=422)
    session.commit()
    return RedirectResponse(f"/crisis/cases/{case.uid}?done=sent#m-{msg.uid}", status_code=303)


def _sender(user: Any) -> str:
    name = user.display_name or user.username
    return f"{name}, {user.affiliation}"[:300] if user.affiliation else name[:300]
