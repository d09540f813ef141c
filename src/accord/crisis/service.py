"""Crisis cases: open, compose from a template, send, acknowledge, escalate on missed deadlines, close.

Every step that changes a case appends a signed entry to its ledger in the same transaction. Sending
writes outbox rows (``delivery.enqueue``) and persistent timers (``timers.schedule``) in that transaction
too, so a crash loses nothing and a deadline fires once. The escalation ladder of a case is copied from the
policy of its dyad (origin state → counterpart) when the case opens, else the node default, else
``DEFAULT_LADDER``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from accord.config import Settings
from accord.core.errors import Conflict, Forbidden, Invalid, NotFound, Problem
from accord.crisis import delivery, ledger, registry, timers
from accord.crisis.identity import Identity
from accord.crisis.models import LEVELS, MESSAGE_KINDS, URGENCIES, Case, Delivery, EscalationPolicy, Message, Timer
from accord.crisis.templates import TEMPLATES, draft
from accord.directory.models import PointOfContact, State
from accord.incidents.models import Incident
from accord.sharing.federation_models import Peer

DEFAULT_LADDER: list[dict[str, Any]] = [
    {"level": "technical", "ack_hours": 4, "reply_hours": 24},
    {"level": "diplomatic", "ack_hours": 8, "reply_hours": 48},
    {"level": "political", "ack_hours": 24, "reply_hours": 72},
]
TLP_LEVELS = ("clear", "green", "amber", "amber+strict", "red")


@dataclass(frozen=True)
class Node:
    """Who acts: this node's identity and the state it speaks for."""

    identity: Identity
    state: str | None
    settings: Settings | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Node:
        from accord.crisis.node import identity

        return cls(identity(settings), settings.node_state, settings)


def _iso(moment: dt.datetime | None) -> str | None:
    return ledger.iso(moment) if moment else None


def _parse_time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


# ---------------------------------------------------------------- ladders


def check_ladder(ladder: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A valid ladder: one or more rungs, levels in ladder order without repeats, positive hours."""
    problems: list[Problem] = []
    if not ladder:
        problems.append(Problem("ladder", "needs at least one rung"))
    order = [LEVELS.index(r.get("level")) if r.get("level") in LEVELS else -1 for r in ladder]
    for i, rung in enumerate(ladder):
        if order[i] < 0:
            problems.append(Problem(f"ladder.{i}.level", f"must be one of {', '.join(LEVELS)}"))
        for key in ("ack_hours", "reply_hours"):
            hours = rung.get(key)
            if not isinstance(hours, int | float) or isinstance(hours, bool) or not 0 < hours <= 24 * 90:
                problems.append(Problem(f"ladder.{i}.{key}", "must be a number of hours between 0 and 2160"))
    if all(o >= 0 for o in order) and order != sorted(set(order)):
        problems.append(Problem("ladder", "levels must go up the ladder (technical, diplomatic, political)"))
    if problems:
        raise Invalid("the escalation ladder is not valid", problems)
    return [{"level": r["level"], "ack_hours": r["ack_hours"], "reply_hours": r["reply_hours"]} for r in ladder]


def policy_ladder(session: Session, origin: str | None, counterpart: str) -> list[dict[str, Any]]:
    """The ladder for a dyad: its own policy, else the policy for the counterpart, else the node default."""
    for a, b in ((origin, counterpart), (None, counterpart), (None, None)):
        row = session.scalars(
            select(EscalationPolicy).where(
                EscalationPolicy.state_a.is_(None) if a is None else EscalationPolicy.state_a == a,
                EscalationPolicy.state_b.is_(None) if b is None else EscalationPolicy.state_b == b,
            )
        ).first()
        if row is not None:
            return list(row.ladder)
    return [dict(r) for r in DEFAULT_LADDER]


def set_policy(session: Session, state_a: str | None, state_b: str | None, ladder: list[dict[str, Any]]) -> None:
    ladder = check_ladder(ladder)
    for field, code in (("state_a", state_a), ("state_b", state_b)):
        if code is not None and session.get(State, code) is None:
            raise Invalid("unknown state", [Problem(field, f"no state with code {code!r}")])
    row = session.scalars(
        select(EscalationPolicy).where(
            EscalationPolicy.state_a.is_(None) if state_a is None else EscalationPolicy.state_a == state_a,
            EscalationPolicy.state_b.is_(None) if state_b is None else EscalationPolicy.state_b == state_b,
        )
    ).first()
    if row is None:
        session.add(EscalationPolicy(state_a=state_a, state_b=state_b, ladder=ladder))
    else:
        row.ladder = ladder
    session.flush()


def list_policies(session: Session) -> list[EscalationPolicy]:
    return list(session.scalars(select(EscalationPolicy).order_by(EscalationPolicy.id)))


def rung(case: Case, level: str) -> dict[str, Any]:
    for step in case.ladder:
        if step["level"] == level:
            return step
    return case.ladder[0]


def next_level(case: Case, level: str) -> str | None:
    levels = [r["level"] for r in case.ladder]
    if level not in levels:
        return levels[0] if levels else None
    i = levels.index(level)
    return levels[i + 1] if i + 1 < len(levels) else None


# ---------------------------------------------------------------- cases


def get_case(session: Session, uid: str) -> Case:
    case = session.scalars(select(Case).where(Case.uid == uid)).first()
    if case is None and uid.isdecimal() and len(uid) < 10:  # a local id (isdecimal: what int() accepts)
        case = session.get(Case, int(uid))
    if case is None:
        raise NotFound(f"no case {uid!r}")
    return case


def list_cases(session: Session, status: str | None = None) -> list[Case]:
    query = select(Case).order_by(Case.opened_at.desc(), Case.id.desc())
    if status:
        query = query.where(Case.status == status)
    return list(session.scalars(query))


def open_case(
    session: Session,
    node: Node,
    *,
    title: str,
    counterpart_state: str,
    actor: str,
    now: dt.datetime,
    incident_id: int | None = None,
    tlp: str = "amber",
    language: str = "en",
    ladder: list[dict[str, Any]] | None = None,
) -> Case:
    problems = []
    if session.get(State, counterpart_state) is None:
        problems.append(Problem("counterpart_state", f"no state with code {counterpart_state!r}"))
    if counterpart_state == node.state:
        problems.append(Problem("counterpart_state", "is the state this node speaks for"))
    if incident_id is not None and session.get(Incident, incident_id) is None:
        problems.append(Problem("incident_id", f"no incident {incident_id}"))
    if tlp not in TLP_LEVELS:
        problems.append(Problem("tlp", f"must be one of {', '.join(TLP_LEVELS)}"))
    if not title.strip():
        problems.append(Problem("title", "must not be empty"))
    elif len(title.strip()) > 300:
        problems.append(Problem("title", "at most 300 characters"))
    if problems:
        raise Invalid("the case cannot be opened", problems)
    chosen = check_ladder(ladder) if ladder is not None else policy_ladder(session, node.state, counterpart_state)
    case = Case(
        uid=str(uuid.uuid4()),
        title=title.strip(),
        incident_id=incident_id,
        origin_state=node.state,
        counterpart_state=counterpart_state,
        tlp=tlp,
        language=language,
        ladder=chosen,
        level=chosen[0]["level"],
        opened_by=actor,
        opened_at=now,
    )
    peer = delivery.peer_for_state(session, counterpart_state)
    case.peer_id = peer.id if peer else None
    session.add(case)
    session.flush()
    ledger.append(
        session,
        case,
        "opened",
        actor,
        {
            "title": case.title,
            "origin_state": case.origin_state,
            "counterpart_state": counterpart_state,
            "incident_id": incident_id,
            "tlp": tlp,
            "language": language,
            "ladder": chosen,
        },
        node.identity,
        now,
    )
    return case


def record_decision(session: Session, node: Node, case: Case, *, text: str, actor: str, now: dt.datetime) -> None:
    """A decision or note for the record (e.g. "political level informed by phone")."""
    if not text.strip():
        raise Invalid("empty decision", [Problem("text", "must not be empty")])
    ledger.append(session, case, "decision", actor, {"text": text.strip()}, node.identity, now)


# ---------------------------------------------------------------- messages


def contacts_at(session: Session, state: str, level: str, today: dt.date) -> list[PointOfContact]:
    """Current points of contact of ``state`` for ``level`` (the 24/7 contact also hears technical messages)."""
    roles = [level, "24-7"] if level == "technical" else [level]
    return list(
        session.scalars(
            select(PointOfContact)
            .where(
                PointOfContact.state_code == state,
                PointOfContact.role.in_(roles),
                or_(PointOfContact.valid_to.is_(None), PointOfContact.valid_to >= today),
                or_(PointOfContact.valid_from.is_(None), PointOfContact.valid_from <= today),
            )
            .order_by(PointOfContact.id)
        )
    )


def _recipient(poc: PointOfContact, route: delivery.Route) -> dict[str, Any]:
    return {
        "poc_id": poc.id,
        "name": poc.name,
        "role": poc.role,
        "state": poc.state_code,
        "channel": route.channel,
        "destination": route.destination,
    }


def message_payload(case: Case, msg: Message) -> dict[str, Any]:
    """What travels to the counterpart's node (its ``id`` is the message uid, the idempotency key)."""
    return {
        "case": {
            "uid": case.uid,
            "title": case.title,
            "origin_state": case.origin_state,
            "tlp": case.tlp,
            "language": case.language,
        },
        "message": {
            "uid": msg.uid,
            "kind": msg.kind,
            "level": msg.level,
            "sender_state": msg.sender_state,
            "sender_name": msg.sender_name,
            "recipients": [{k: r[k] for k in ("name", "role", "state")} for r in msg.recipients],
            "urgency": msg.urgency,
            "subject": msg.subject,
            "incident_summary": msg.incident_summary,
            "requested_action": msg.requested_action,
            "body": msg.body,
            "tlp": msg.tlp,
            "language": msg.language,
            "in_reply_to": msg.in_reply_to,
            "escalated_from": msg.escalated_from,
            "ack_due": _iso(msg.ack_due),
            "reply_due": _iso(msg.reply_due),
            "sent_at": _iso(msg.created_at),
        },
    }


def _ledger_view(msg: Message) -> dict[str, Any]:
    return {
        "uid": msg.uid,
        "kind": msg.kind,
        "direction": msg.direction,
        "level": msg.level,
        "subject": msg.subject,
        "urgency": msg.urgency,
        "sender": msg.sender_name,
        "recipients": [{k: r.get(k) for k in ("name", "role", "state", "channel")} for r in msg.recipients],
        "incident_summary": msg.incident_summary,
        "requested_action": msg.requested_action,
        "body": msg.body,
        "tlp": msg.tlp,
        "language": msg.language,
        "in_reply_to": msg.in_reply_to,
        "escalated_from": msg.escalated_from,
        "ack_due": _iso(msg.ack_due),
        "reply_due": _iso(msg.reply_due),
    }


def _dispatch(session: Session, node: Node, case: Case, msg: Message, pocs: list[PointOfContact], now: dt.datetime):
    """Route to every contact, enqueue one delivery per destination, e-mail with a signed ack link."""
    recipients = []
    for poc in pocs:
        route = delivery.route(session, poc)
        recipients.append(_recipient(poc, route))
        payload = message_payload(case, msg)
        if route.channel == "email":
            payload.update(_email_parts(node, case, msg, now))
        delivery.enqueue(session, key=msg.uid, kind="message", payload=payload, route=route, case_id=case.id, now=now)
    if not pocs and case.peer_id is not None:  # no named contact: the counterpart's node still gets it
        peer = session.get(Peer, case.peer_id)
        if peer is not None:
            route = delivery.Route("node", peer.name, peer.id)
            recipients.append({"poc_id": None, "name": f"node {peer.name}", "role": msg.level, "state": None,
                               "channel": "node", "destination": peer.name})  # fmt: skip
            payload = message_payload(case, msg)
            delivery.enqueue(
                session, key=msg.uid, kind="message", payload=payload, route=route, case_id=case.id, now=now
            )
    msg.recipients = recipients


def _email_parts(node: Node, case: Case, msg: Message, now: dt.datetime) -> dict[str, str]:
    if node.settings is None:
        return {"subject": msg.subject, "text": _mail_text(case, msg, None)}
    from accord.crisis import links

    expires = (msg.reply_due or now + dt.timedelta(days=7)) + dt.timedelta(days=7)
    token = links.make(node.identity, "message", msg.uid, expires, what=f"“{msg.subject}” (case {case.title})")
    ack_url = links.url(node.settings, token)
    return {"subject": msg.subject, "text": _mail_text(case, msg, ack_url), "ack_url": ack_url}


def _mail_text(case: Case, msg: Message, ack_url: str | None) -> str:
    lines = [
        f"TLP:{msg.tlp.upper()}",
        f"{msg.subject}",
        "",
        f"Case: {case.title} ({case.uid})",
        f"From: {msg.sender_name}",
        f"Urgency: {msg.urgency}",
        f"Level: {msg.level}",
        "",
        "Incident summary:",
        msg.incident_summary or "-",
        "",
        "Requested action:",
        msg.requested_action or "-",
        "",
        msg.body or "",
        "",
        f"Please acknowledge by {_iso(msg.ack_due)} and reply by {_iso(msg.reply_due)} (UTC).",
    ]
    if ack_url:
        lines += ["", "Acknowledge receipt (opens a page with a confirmation button):", ack_url]
    return "\n".join(lines)


def send_message(
    session: Session,
    node: Node,
    case: Case,
    *,
    kind: str,
    actor: str,
    now: dt.datetime,
    sender_name: str | None = None,
    subject: str | None = None,
    urgency: str = "priority",
    incident_summary: str | None = None,
    requested_action: str | None = None,
    body: str | None = None,
    tlp: str | None = None,
    language: str | None = None,
    level: str | None = None,
    in_reply_to: str | None = None,
    ack_hours: float | None = None,
    reply_hours: float | None = None,
    recipients: list[int] | None = None,
    escalated_from: str | None = None,
) -> Message:
    """Compose a message from its template (fields given override it), send it and set its deadlines."""
    problems = []
    if case.status != "open":
        raise Conflict("the case is closed; no message can be sent")
    if kind not in MESSAGE_KINDS:
        problems.append(Problem("kind", f"must be one of {', '.join(MESSAGE_KINDS)}"))
    if urgency not in URGENCIES:
        problems.append(Problem("urgency", f"must be one of {', '.join(URGENCIES)}"))
    if tlp is not None and tlp not in TLP_LEVELS:
        problems.append(Problem("tlp", f"must be one of {', '.join(TLP_LEVELS)}"))
    if level is not None and level not in [r["level"] for r in case.ladder]:
        problems.append(Problem("level", "is not a rung of this case's ladder"))
    for name, hours in (("ack_hours", ack_hours), ("reply_hours", reply_hours)):
        if hours is not None and not 0 < hours <= 24 * 90:
            problems.append(Problem(name, "must be between 0 and 2160 hours"))
    original = None
    if in_reply_to:
        original = session.scalars(select(Message).where(Message.uid == in_reply_to)).first()
        if original is None or original.case_id != case.id:
            problems.append(Problem("in_reply_to", "is not a message of this case"))
    for name, value, most in (("subject", subject, 300), ("sender_name", sender_name, 300)):
        if value is not None and len(value) > most:
            problems.append(Problem(name, f"at most {most} characters"))
    if kind == "response" and not in_reply_to:
        problems.append(Problem("in_reply_to", "a response answers a message: name it"))
    pocs: list[PointOfContact] = []
    if problems:
        raise Invalid("the message cannot be sent", problems)
    level = level or case.level
    if recipients:
        for i, poc_id in enumerate(recipients):
            poc = session.get(PointOfContact, poc_id)
            if poc is None or poc.state_code != case.counterpart_state:
                problems.append(Problem(f"recipients.{i}", "is not a point of contact of the counterpart state"))
            else:
                pocs.append(poc)
        if problems:
            raise Invalid("the message cannot be sent", problems)
    else:
        pocs = contacts_at(session, case.counterpart_state, level, now.date())
    text = draft(kind, case.title, language or case.language)
    step = rung(case, level)
    msg = Message(
        uid=str(uuid.uuid4()),
        case_id=case.id,
        kind=kind,
        direction="out",
        level=level,
        sender_state=node.state,
        sender_name=sender_name or actor,
        urgency=urgency,
        subject=subject or text["subject"],
        incident_summary=incident_summary,
        requested_action=requested_action if requested_action is not None else text["requested_action"],
        body=body if body is not None else text["body"],
        tlp=tlp or case.tlp,
        language=language or case.language,
        in_reply_to=in_reply_to,
        escalated_from=escalated_from,
        ack_due=now + dt.timedelta(hours=ack_hours or step["ack_hours"]),
        reply_due=now + dt.timedelta(hours=reply_hours or step["reply_hours"]),
        created_at=now,
        created_by=actor,
    )
    session.add(msg)
    session.flush()
    _dispatch(session, node, case, msg, pocs, now)
    timers.schedule(session, "ack", msg.id, msg.ack_due)
    timers.schedule(session, "reply", msg.id, msg.reply_due)
    ledger.append(session, case, "message-sent", actor, _ledger_view(msg), node.identity, now)
    if original is not None and original.direction == "in":
        _answered(session, node, case, original, msg, actor, now)
    if kind == "closure":
        close_case(session, node, case, actor=actor, now=now, reason=msg.body or "closure message sent")
    return msg


def _answered(session: Session, node: Node, case: Case, original: Message, reply: Message, actor: str, now):
    """A message we received is answered: it counts as acknowledged and replied to."""
    if original.acknowledged_at is None:
        acknowledge(session, node, original, by=actor, now=now, via="reply")
    if original.replied_at is None:
        original.replied_at = now


def get_message(session: Session, uid: str) -> Message:
    msg = session.scalars(select(Message).where(Message.uid == uid)).first()
    if msg is None:
        raise NotFound(f"no message {uid!r}")
    return msg


def messages_of(session: Session, case: Case) -> list[Message]:
    return list(session.scalars(select(Message).where(Message.case_id == case.id).order_by(Message.id)))


def acknowledge(session: Session, node: Node, msg: Message, *, by: str, now: dt.datetime, via: str = "web") -> bool:
    """Record that ``msg`` was acknowledged; returns False if it already was (the first time stands).

    A received message acknowledged here is reported back to the sender's node (an ``ack`` envelope).
    A sent message is acknowledged by the counterpart's node (``via`` inbox), by a signed link (e-mail
    contacts) or recorded by hand (``via`` web: e.g. confirmed on the phone).
    """
    case = session.get(Case, msg.case_id)
    assert case is not None
    if msg.acknowledged_at is not None:
        return False
    msg.acknowledged_at = now
    msg.acknowledged_by = by
    timers.cancel(session, "ack", msg.id, now, f"void: acknowledged via {via}")
    kind = "acknowledged" if msg.direction == "in" else "acknowledgement-received"
    ledger.append(session, case, kind, by, {"message": msg.uid, "via": via, "at": _iso(now)}, node.identity, now)
    if msg.direction == "in" and case.peer_id is not None:
        peer = session.get(Peer, case.peer_id)
        if peer is not None:
            delivery.enqueue(
                session,
                key=f"ack:{msg.uid}",
                kind="ack",
                payload={"message": msg.uid, "case": case.uid, "by": by, "at": _iso(now)},
                route=delivery.Route("node", peer.name, peer.id),
                case_id=case.id,
                now=now,
            )
    return True


def close_case(session: Session, node: Node, case: Case, *, actor: str, now: dt.datetime, reason: str) -> None:
    if case.status == "closed":
        return
    case.status = "closed"
    case.closed_at = now
    for msg in messages_of(session, case):
        timers.cancel(session, "ack", msg.id, now, "void: case closed")
        timers.cancel(session, "reply", msg.id, now, "void: case closed")
    ledger.append(session, case, "closed", actor, {"reason": reason}, node.identity, now)


# ---------------------------------------------------------------- deadlines and escalation


@dataclass(frozen=True)
class Deadline:
    """An acknowledgement or substantive reply still awaited, from the counterpart (sent) or from us (received)."""

    kind: str  # ack | reply
    due: dt.datetime
    message: Message

    @property
    def ours(self) -> bool:
        return self.message.direction == "in"

    @property
    def label(self) -> str:
        what = "Acknowledgement" if self.kind == "ack" else "Substantive reply"
        return f"{what} due from us" if self.ours else f"{what} due from the counterpart"


def expects_reply(msg: Message) -> bool:
    tpl = TEMPLATES.get(msg.kind)
    return bool(tpl and tpl.expects_reply)


def pending_deadlines(session: Session, messages: list[Message]) -> list[Deadline]:
    """Deadlines still running or missed but unanswered, nearest first.

    Sent messages: their pending timers (the worker's source of truth). Received messages: the sender's
    deadlines, until we acknowledge or reply. A message escalated up the ladder hands its deadlines on to the
    escalated message, so it is left out here.
    """
    sent = {m.id: m for m in messages if m.direction == "out" and m.escalated_at is None}
    out: list[Deadline] = []
    if sent:
        query = select(Timer).where(
            Timer.subject_id.in_(sent), Timer.kind.in_(("ack", "reply")), Timer.fired_at.is_(None)
        )
        out += [Deadline(t.kind, t.due_at, sent[t.subject_id]) for t in session.scalars(query)]
    for msg in messages:
        if msg.direction != "in" or msg.escalated_at is not None:
            continue
        if msg.ack_due and msg.acknowledged_at is None:
            out.append(Deadline("ack", msg.ack_due, msg))
        if msg.reply_due and msg.replied_at is None and expects_reply(msg):
            out.append(Deadline("reply", msg.reply_due, msg))
    return sorted(out, key=lambda d: (d.due, d.message.id, d.kind))


def escalate(session: Session, node: Node, msg: Message, *, why: str, now: dt.datetime) -> str:
    """Send ``msg`` one rung up the ladder to the next level's contacts; record it either way."""
    case = session.get(Case, msg.case_id)
    assert case is not None
    if msg.escalated_at is not None:
        return "void: already escalated"
    higher = next_level(case, msg.level)
    if higher is None:
        ledger.append(
            session,
            case,
            "ladder-exhausted",
            "deadline",
            {"message": msg.uid, "level": msg.level, "why": why},
            node.identity,
            now,
        )
        return f"top of the ladder ({msg.level}); recorded"
    msg.escalated_at = now
    case.level = higher
    ledger.append(
        session,
        case,
        "escalated",
        "deadline",
        {"message": msg.uid, "from": msg.level, "to": higher, "why": why},
        node.identity,
        now,
    )
    step = rung(case, higher)
    up = send_message(
        session,
        node,
        case,
        kind=msg.kind,
        actor="escalation",
        now=now,
        sender_name=msg.sender_name,
        subject=f"[Escalated to {higher} level] {msg.subject}"[:300],
        urgency="immediate" if msg.urgency in ("routine", "priority") else msg.urgency,
        incident_summary=msg.incident_summary,
        requested_action=msg.requested_action,
        body=(msg.body or "") + f"\n\n(Not {_missed(why)} at {msg.level} level by {_human(msg, why)}.)",
        tlp=msg.tlp,
        language=msg.language,
        level=higher,
        in_reply_to=None,
        ack_hours=step["ack_hours"],
        reply_hours=step["reply_hours"],
        escalated_from=msg.uid,
    )
    names = ", ".join(r["name"] for r in up.recipients) or "no contact at this level"
    return f"escalated to {higher}: {names}"


def _missed(why: str) -> str:
    return "answered" if why.startswith("substantive") else "acknowledged"


def _human(msg: Message, why: str) -> str:
    due = msg.reply_due if why.startswith("substantive") else msg.ack_due
    return f"{due:%d %b %Y %H:%M} UTC" if due else "the deadline"


@registry.timer("ack")
def _ack_deadline(session: Session, timer: Any, now: dt.datetime) -> str:
    msg = session.get(Message, timer.subject_id)
    if msg is None:
        return "void: message gone"
    case = session.get(Case, msg.case_id)
    if case is None or case.status != "open":
        return "void: case closed"
    if msg.acknowledged_at is not None:
        return "void: acknowledged"
    return escalate(session, worker_node(), msg, why="acknowledgement deadline passed", now=now)


@registry.timer("reply")
def _reply_deadline(session: Session, timer: Any, now: dt.datetime) -> str:
    msg = session.get(Message, timer.subject_id)
    if msg is None:
        return "void: message gone"
    case = session.get(Case, msg.case_id)
    if case is None or case.status != "open":
        return "void: case closed"
    if msg.replied_at is not None or not TEMPLATES[msg.kind].expects_reply:
        return "void: replied" if msg.replied_at else "void: no reply expected"
    node = worker_node()
    ledger.append(session, case, "reply-overdue", "deadline", {"message": msg.uid}, node.identity, now)
    if msg.escalated_at is None:
        return escalate(session, node, msg, why="substantive reply deadline passed", now=now)
    return "reply overdue; recorded"


_WORKER_NODE: list[Node] = []


def use_node(node: Node) -> None:
    """The node identity deadline handlers act as (set by the worker before it fires timers)."""
    _WORKER_NODE[:] = [node]


def worker_node() -> Node:
    if not _WORKER_NODE:
        use_node(Node.from_settings(Settings()))
    return _WORKER_NODE[0]


# ---------------------------------------------------------------- from peers


@registry.inbox("message")
def _receive_message(session: Session, peer: Any, payload: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    node = worker_node()
    info, body = payload.get("case") or {}, payload.get("message") or {}
    if body.get("kind") not in MESSAGE_KINDS or not info.get("uid") or not body.get("uid"):
        raise Invalid("not a crisis message", [Problem("message", "missing case uid, message uid or kind")])
    case = session.scalars(select(Case).where(Case.uid == info["uid"])).first()
    sender_state = body.get("sender_state") or _peer_state(session, peer)
    if case is None:
        if sender_state is None or session.get(State, sender_state) is None:
            raise Invalid("unknown sender state", [Problem("message.sender_state", "not a known state")])
        case = Case(
            uid=info["uid"],
            title=str(info.get("title") or "(untitled)")[:300],
            origin_state=info.get("origin_state"),
            counterpart_state=sender_state,
            tlp=info.get("tlp") or "amber",
            language=info.get("language") or "en",
            ladder=[dict(r) for r in DEFAULT_LADDER],
            level=body.get("level") or "technical",
            peer_id=peer.id,
            received=True,
            opened_by=f"peer {peer.name}",
            opened_at=now,
        )
        session.add(case)
        session.flush()
        ledger.append(
            session, case, "opened", f"peer {peer.name}", {"title": case.title, "received": True}, node.identity, now
        )
    elif case.peer_id not in (None, peer.id):
        raise Forbidden("this case belongs to another node")
    existing = session.scalars(select(Message).where(Message.uid == body["uid"])).first()
    if existing is not None:
        return {"case": case.uid, "message": existing.uid, "duplicate": True}
    msg = Message(
        uid=body["uid"],
        case_id=case.id,
        kind=body["kind"],
        direction="in",
        level=body.get("level") or "technical",
        sender_state=sender_state,
        sender_name=str(body.get("sender_name") or peer.name)[:300],
        sender_node=payload.get("from"),
        recipients=list(body.get("recipients") or []),
        urgency=body.get("urgency") if body.get("urgency") in URGENCIES else "priority",
        subject=str(body.get("subject") or "")[:300],
        incident_summary=body.get("incident_summary"),
        requested_action=body.get("requested_action"),
        body=body.get("body"),
        tlp=body.get("tlp") or case.tlp,
        language=body.get("language") or case.language,
        in_reply_to=body.get("in_reply_to"),
        escalated_from=body.get("escalated_from"),
        ack_due=_parse_time(body.get("ack_due")),
        reply_due=_parse_time(body.get("reply_due")),
        created_at=_parse_time(body.get("sent_at")) or now,
    )
    session.add(msg)
    session.flush()
    case.level = msg.level if msg.level in LEVELS else case.level
    ledger.append(session, case, "message-received", f"peer {peer.name}", _ledger_view(msg), node.identity, now)
    if msg.in_reply_to:
        original = session.scalars(select(Message).where(Message.uid == msg.in_reply_to)).first()
        if original is not None and original.case_id == case.id and original.direction == "out":
            if original.acknowledged_at is None:
                acknowledge(session, node, original, by=msg.sender_name, now=now, via="reply")
            if original.replied_at is None:
                original.replied_at = now
                timers.cancel(session, "reply", original.id, now, "void: replied")
    if msg.kind == "closure":
        close_case(session, node, case, actor=f"peer {peer.name}", now=now, reason="closed by the counterpart")
    return {"case": case.uid, "message": msg.uid}


@registry.inbox("ack")
def _receive_ack(session: Session, peer: Any, payload: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    msg = get_message(session, str(payload.get("message") or ""))
    sent_to_peer = session.scalars(
        select(Delivery.id).where(Delivery.key == msg.uid, Delivery.peer_id == peer.id)
    ).first()
    if msg.direction != "out" or sent_to_peer is None:
        raise Forbidden("this node was not sent that message")
    done = acknowledge(session, worker_node(), msg, by=str(payload.get("by") or peer.name)[:300], now=now, via="inbox")
    return {"message": msg.uid, "acknowledged": True, "first": done}


@registry.link("message")
def _link_ack(session: Session, claims: dict[str, Any], now: dt.datetime) -> str:
    msg = get_message(session, str(claims.get("sub") or ""))
    if acknowledge(session, worker_node(), msg, by="signed link", now=now, via="link"):
        return f"Receipt of “{msg.subject}” is acknowledged. Thank you."
    return f"“{msg.subject}” was already acknowledged."


def _peer_state(session: Session, peer: Any) -> str | None:
    from accord.auth.models import Party

    party = session.get(Party, peer.party_id)
    return party.state_code if party else None


def _on_delivered(session: Session, row: Delivery, receipt: dict[str, Any], now: dt.datetime) -> None:
    if row.case_id is None:
        return
    case = session.get(Case, row.case_id)
    if case is None:
        return
    data = {"key": row.key, "kind": row.kind, "channel": row.channel, "destination": row.destination}
    if receipt:
        data["receipt_received_at"] = receipt.get("received_at")
    ledger.append(session, case, "delivered", "outbox", data, worker_node().identity, now)


if _on_delivered not in delivery.ON_DELIVERED:
    delivery.ON_DELIVERED.append(_on_delivered)
