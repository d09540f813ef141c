"""Reachability checks ("ping tests") of the points-of-contact directory.

A **campaign** names a set of points of contact (all of them, a UN M49 region, the current members of an
organisation, or one state; optionally one role) and how a check runs: the acknowledgement window, the
reminder hours and, optionally, every how many days it repeats. Each **run** sends one check per current
point of contact in scope, by the contact's route (``delivery.route``):

* ``node``  — a ``ping`` envelope to the peer node that speaks for the contact; a person there acknowledges
  it in that node's UI and the peer answers with a ``ping-ack`` envelope (``@registry.inbox("ping-ack")``);
* ``email`` — an e-mail with a signed acknowledgement link (``/ack/{token}``, ``@registry.link("ping")``);
* ``web``   — nothing is sent: an operator here reaches the contact another way and records the answer.

Persistent timers do the rest (``@registry.timer``): ``ping-reminder`` re-sends to the checks still
unacknowledged at each reminder hour, ``ping-close`` closes the run at the end of its window, and
``ping-repeat`` starts the next run of a repeating campaign (one pending repeat per campaign, however runs
are started). An acknowledgement counts once, with the time of the first one, and only within the window.

The other direction: a ``ping`` from a peer becomes a :class:`ReceivedPing` that a person here acknowledges
(``acknowledge_received``), which sends the ``ping-ack`` back to that peer.

Reports give, per run and across the runs of a campaign, the checks sent and acknowledged, the response
rate and the median acknowledgement time, in total and by state, region and role; ``last_checks`` gives
the latest result per point of contact for the directory page.

Service functions never commit: the caller owns the transaction (timer and inbox handlers run in the
transaction that claims the timer or records the envelope).
"""

from __future__ import annotations

import datetime as dt
import statistics
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from accord.audit import service as audit
from accord.audit.service import Actor
from accord.core.errors import Conflict, Forbidden, Invalid, NotFound, Problem
from accord.crisis import delivery, registry, timers
from accord.crisis.ledger import iso
from accord.crisis.models import Delivery, PingCampaign, PingCheck, PingRun, ReceivedPing, Timer
from accord.crisis.service import Node
from accord.directory.models import Membership, Organisation, PointOfContact, State
from accord.directory.service import membership_active_on
from accord.sharing.federation_models import Peer

SCOPES = ("all", "region", "organisation", "state")
POC_ROLES = ("technical", "diplomatic", "political", "24-7")
VIAS = ("inbox", "link", "web")
MAX_WINDOW_HOURS = 24 * 30
MAX_REMINDERS = 10
MAX_REPEAT_DAYS = 366

REMINDER, CLOSE, REPEAT = "ping-reminder", "ping-close", "ping-repeat"


# ---------------------------------------------------------------- small helpers


def utc(moment: dt.datetime) -> dt.datetime:
    """An aware UTC datetime (SQLite hands back naive ones for ``DateTime(timezone=True)``)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def human(seconds: float | None) -> str:
    """A duration for people: ``42 s``, ``12 min``, ``3 h 20 min``, ``2 d 4 h``; '' for none."""
    if seconds is None:
        return ""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(s // 3600, 24)
    return f"{d} d {h} h" if h else f"{d} d"


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value or len(value) > 40:
        return None
    try:
        return utc(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _acting_node() -> Node:
    """The node timer and inbox handlers act as: the one the worker set with ``crisis.service.use_node``."""
    from accord.crisis import service

    return service.worker_node()


def _current(today: dt.date) -> Any:
    """Points of contact nominated on ``today``: started (or undated) and not yet ended."""
    return (
        or_(PointOfContact.valid_from.is_(None), PointOfContact.valid_from <= today),
        or_(PointOfContact.valid_to.is_(None), PointOfContact.valid_to >= today),
    )


# ---------------------------------------------------------------- campaigns


def _scope_value(session: Session, scope: str, value: str | None, problems: list[Problem]) -> str | None:
    """The canonical spelling of a scope's value (region name, organisation code, state code), or a problem."""
    value = (value or "").strip()
    if scope == "all":
        if value:
            problems.append(Problem("scope_value", "leave empty when the scope is all"))
        return None
    if not value:
        problems.append(Problem("scope_value", f"name the {scope} to check"))
        return None
    if scope == "region":
        found = session.scalars(
            select(State.m49_region).where(func.lower(State.m49_region) == value.lower()).limit(1)
        ).first()
        what = "no state lies in the M49 region"
    elif scope == "organisation":
        found = session.scalars(
            select(Organisation.code).where(func.lower(Organisation.code) == value.lower()).limit(1)
        ).first()
        what = "no organisation has the code"
    else:
        found = session.scalars(select(State.code).where(State.code == value.upper())).first()
        what = "no state has the code"
    if found is None:
        problems.append(Problem("scope_value", f"{what} {value!r}"))
    return found


def _check_timing(
    window_hours: int, reminder_hours: Sequence[int], repeat_days: int | None, problems: list[Problem]
) -> list[int]:
    if not 1 <= window_hours <= MAX_WINDOW_HOURS:
        problems.append(Problem("window_hours", f"must be between 1 and {MAX_WINDOW_HOURS} hours"))
    reminders = sorted(reminder_hours)
    if len(reminders) > MAX_REMINDERS:
        problems.append(Problem("reminder_hours", f"at most {MAX_REMINDERS} reminders"))
    if len(set(reminders)) != len(reminders):
        problems.append(Problem("reminder_hours", "each reminder hour once"))
    if any(not 1 <= h < window_hours for h in reminders):
        problems.append(Problem("reminder_hours", f"each between 1 and {window_hours - 1} hours (in the window)"))
    if repeat_days is not None:
        if not 1 <= repeat_days <= MAX_REPEAT_DAYS:
            problems.append(Problem("repeat_days", f"must be between 1 and {MAX_REPEAT_DAYS} days"))
        elif repeat_days * 24 < window_hours:
            reason = f"runs would overlap: repeat no sooner than the window ({window_hours} h)"
            problems.append(Problem("repeat_days", reason))
    return reminders


def create_campaign(
    session: Session,
    *,
    name: str,
    scope: str = "all",
    scope_value: str | None = None,
    role: str | None = None,
    window_hours: int = 72,
    reminder_hours: Sequence[int] = (),
    repeat_days: int | None = None,
    actor: Actor = audit.SYSTEM,
    now: dt.datetime | None = None,
) -> PingCampaign:
    """A new campaign; every problem with the input is reported at once (``Invalid`` naming each field)."""
    problems: list[Problem] = []
    name = (name or "").strip()
    if not name or len(name) > 200:
        problems.append(Problem("name", "a name of 1 to 200 characters"))
    value = None
    if scope not in SCOPES:
        problems.append(Problem("scope", f"must be one of {', '.join(SCOPES)}"))
    else:
        value = _scope_value(session, scope, scope_value, problems)
    if role is not None and role not in POC_ROLES:
        problems.append(Problem("role", f"must be one of {', '.join(POC_ROLES)} (or none: every role)"))
    reminders = _check_timing(window_hours, reminder_hours, repeat_days, problems)
    if problems:
        raise Invalid("the campaign is not valid", problems)
    campaign = PingCampaign(
        name=name,
        scope=scope,
        scope_value=value,
        role=role,
        window_hours=window_hours,
        reminder_hours=reminders,
        repeat_days=repeat_days,
        active=True,
        created_by=actor.name,
        created_at=now or dt.datetime.now(dt.UTC),
    )
    session.add(campaign)
    session.flush()
    audit.record(session, actor, "create", "ping_campaigns", campaign.id, None, campaign_dict(campaign))
    return campaign


def campaign_dict(campaign: PingCampaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "scope": campaign.scope,
        "scope_value": campaign.scope_value,
        "role": campaign.role,
        "window_hours": campaign.window_hours,
        "reminder_hours": list(campaign.reminder_hours or []),
        "repeat_days": campaign.repeat_days,
        "active": campaign.active,
        "created_by": campaign.created_by,
        "created_at": iso(utc(campaign.created_at)),
    }


def describe_scope(campaign: PingCampaign) -> str:
    """``all points of contact``, ``region Europe``, ``members of EU``, ``state FR`` — plus the role."""
    where = {
        "all": "all points of contact",
        "region": f"region {campaign.scope_value}",
        "organisation": f"members of {campaign.scope_value}",
        "state": f"state {campaign.scope_value}",
    }.get(campaign.scope, campaign.scope)
    return f"{where}, {campaign.role} contacts" if campaign.role else where


def get_campaign(session: Session, campaign_id: int, *, lock: bool = False) -> PingCampaign:
    campaign = session.get(PingCampaign, campaign_id, with_for_update=lock or None)
    if campaign is None:
        raise NotFound(f"no reachability campaign {campaign_id}")
    return campaign


def list_campaigns(session: Session) -> list[PingCampaign]:
    return list(session.scalars(select(PingCampaign).order_by(PingCampaign.id.desc())))


def set_active(
    session: Session, campaign_id: int, active: bool, *, now: dt.datetime, actor: Actor = audit.SYSTEM
) -> PingCampaign:
    """Stop a campaign repeating (its pending repeat is cancelled) or resume it (the next repeat is
    scheduled ``repeat_days`` after the last run, or now if that has passed)."""
    campaign = get_campaign(session, campaign_id, lock=True)
    if campaign.active == active:
        return campaign
    campaign.active = active
    if not active:
        timers.cancel(session, REPEAT, campaign.id, now, "campaign stopped")
    elif campaign.repeat_days and not timers.pending(session, REPEAT, campaign.id):
        last = session.scalar(select(func.max(PingRun.started_at)).where(PingRun.campaign_id == campaign.id))
        due = now if last is None else max(now, utc(last) + dt.timedelta(days=campaign.repeat_days))
        timers.schedule(session, REPEAT, campaign.id, due)
    audit.record(session, actor, "update", "ping_campaigns", campaign.id, {"active": not active}, {"active": active})
    return campaign


def contacts_in_scope(
    session: Session, campaign: PingCampaign, today: dt.date
) -> list[tuple[PointOfContact, str | None]]:
    """(point of contact, its state's M49 region) for every contact the campaign checks on ``today``."""
    stmt = (
        select(PointOfContact, State.m49_region)
        .join(State, State.code == PointOfContact.state_code)
        .where(*_current(today))
    )
    if campaign.scope == "region":
        stmt = stmt.where(State.m49_region == campaign.scope_value)
    elif campaign.scope == "organisation":
        members = select(Membership.state_code).where(
            Membership.organisation_code == campaign.scope_value, *membership_active_on(today)
        )
        stmt = stmt.where(PointOfContact.state_code.in_(members))
    elif campaign.scope == "state":
        stmt = stmt.where(PointOfContact.state_code == campaign.scope_value)
    if campaign.role:
        stmt = stmt.where(PointOfContact.role == campaign.role)
    stmt = stmt.order_by(PointOfContact.state_code, PointOfContact.role, PointOfContact.id)
    return [(poc, region) for poc, region in session.execute(stmt)]


# ---------------------------------------------------------------- sending


def _ack_link(node: Node, check: PingCheck, campaign: PingCampaign, expires: dt.datetime) -> str | None:
    """A signed link that acknowledges the check (valid until the run closes); None without settings."""
    if node.settings is None:
        return None
    from accord.crisis import links

    token = links.make(node.identity, "ping", check.uid, expires, what=f"Reachability check: {campaign.name}")
    return links.url(node.settings, token)


def _mail(campaign: PingCampaign, run: PingRun, poc_name: str, ack_url: str | None, reminder: int) -> dict[str, str]:
    respond_by = iso(utc(run.closes_at))
    subject = f"Reachability check: {campaign.name}"
    if reminder:
        subject = f"Reminder {reminder}: {subject}"
    how = (
        f"Please confirm that this message reached you by opening this link before {respond_by}:\n\n{ack_url}\n"
        if ack_url
        else f"Please confirm that this message reached you by replying to it before {respond_by}.\n"
    )
    text = (
        f"Dear {poc_name},\n\n"
        f"This is a reachability check of the points-of-contact directory ({campaign.name}).\n"
        f"{how}\n"
        "Nothing else is asked of you: the check only measures whether, and how fast, contacts can be reached.\n"
    )
    return {"subject": subject, "text": text}


def _send(
    session: Session,
    node: Node,
    *,
    check: PingCheck,
    poc: PointOfContact,
    campaign: PingCampaign,
    run: PingRun,
    route: delivery.Route,
    now: dt.datetime,
    reminder: int = 0,
) -> bool:
    """Enqueue the check (or reminder ``n``) for its route; False for ``web`` (nothing to send)."""
    if route.channel not in ("node", "email"):
        return False
    key = f"ping:{check.uid}:reminder:{reminder}" if reminder else f"ping:{check.uid}"
    payload: dict[str, Any] = {"check": check.uid, "campaign": campaign.name, "respond_by": iso(utc(run.closes_at))}
    if route.channel == "node":
        payload["poc"] = {"name": poc.name, "role": poc.role, "state": poc.state_code}
    else:
        ack_url = _ack_link(node, check, campaign, utc(run.closes_at))
        payload.update(_mail(campaign, run, poc.name, ack_url, reminder))
        if ack_url:
            payload["ack_url"] = ack_url
    if reminder:
        payload["reminder"] = reminder
    delivery.enqueue(session, key=key, kind="ping", payload=payload, route=route, now=now)
    return True


def start_run(
    session: Session, node: Node, campaign_id: int, *, now: dt.datetime, actor: Actor = audit.SYSTEM
) -> PingRun:
    """One round of a campaign: a check per current contact in scope, sent in this transaction, with its
    reminder and closing timers; a repeating campaign's next run is scheduled (replacing any pending one)."""
    now = utc(now)
    campaign = get_campaign(session, campaign_id, lock=True)
    run = PingRun(campaign_id=campaign.id, started_at=now, closes_at=now + dt.timedelta(hours=campaign.window_hours))
    session.add(run)
    session.flush()
    for poc, region in contacts_in_scope(session, campaign, now.date()):
        route = delivery.route(session, poc)
        check = PingCheck(
            uid=str(uuid.uuid4()),
            run_id=run.id,
            poc_id=poc.id,
            state_code=poc.state_code,
            region=region,
            role=poc.role,
            channel=route.channel,
            sent_at=now,
        )
        session.add(check)
        session.flush()
        _send(session, node, check=check, poc=poc, campaign=campaign, run=run, route=route, now=now)
    for hours in sorted(campaign.reminder_hours or []):
        timers.schedule(session, REMINDER, run.id, now + dt.timedelta(hours=hours))
    timers.schedule(session, CLOSE, run.id, run.closes_at)
    if campaign.repeat_days and campaign.active:
        timers.cancel(session, REPEAT, campaign.id, now, f"superseded by run {run.id}")
        timers.schedule(session, REPEAT, campaign.id, now + dt.timedelta(days=campaign.repeat_days))
    sent = session.scalar(select(func.count()).select_from(PingCheck).where(PingCheck.run_id == run.id))
    audit.record(session, actor, "run", "ping_campaigns", campaign.id, None, {"run": run.id, "checks": sent})
    return run


def get_run(session: Session, run_id: int) -> PingRun:
    run = session.get(PingRun, run_id)
    if run is None:
        raise NotFound(f"no reachability check run {run_id}")
    return run


# ---------------------------------------------------------------- timers


def _reminder_number(session: Session, timer: Timer) -> int:
    """Which reminder of its run a timer is (1 for the first), from the order they were scheduled in."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Timer)
            .where(Timer.kind == REMINDER, Timer.subject_id == timer.subject_id, Timer.id <= timer.id)
        )
        or 1
    )


@registry.timer(REMINDER)
def _remind(session: Session, timer: Any, now: dt.datetime) -> str:
    """Re-send to every check of the run not yet acknowledged (``web`` checks have nothing to re-send)."""
    run = session.get(PingRun, timer.subject_id)
    if run is None:
        return "void: run gone"
    if run.closed_at is not None:
        return "void: run closed"
    campaign = session.get(PingCampaign, run.campaign_id)
    if campaign is None:  # pragma: no cover - runs are deleted with their campaign
        return "void: campaign gone"
    n = _reminder_number(session, timer)
    node = _acting_node()
    pending = session.execute(
        select(PingCheck, PointOfContact)
        .join(PointOfContact, PointOfContact.id == PingCheck.poc_id)
        .where(PingCheck.run_id == run.id, PingCheck.acknowledged_at.is_(None))
        .order_by(PingCheck.id)
    ).all()
    sent = 0
    for check, poc in pending:
        route = delivery.route(session, poc)  # the contact's details may have changed since the run began
        if _send(session, node, check=check, poc=poc, campaign=campaign, run=run, route=route, now=now, reminder=n):
            check.channel = route.channel
            check.reminders += 1
            check.last_reminder_at = now
            sent += 1
    return f"reminder {n}: sent to {sent} of {len(pending)} unacknowledged"


@registry.timer(CLOSE)
def _close(session: Session, timer: Any, now: dt.datetime) -> str:
    run = session.get(PingRun, timer.subject_id)
    if run is None:
        return "void: run gone"
    if run.closed_at is None:
        run.closed_at = now
    total = run_figures(session, run.id)
    return f"closed: {total.acknowledged} of {total.sent} acknowledged"


@registry.timer(REPEAT)
def _repeat(session: Session, timer: Any, now: dt.datetime) -> str:
    campaign = session.get(PingCampaign, timer.subject_id)
    if campaign is None:
        return "void: campaign gone"
    if not campaign.active or not campaign.repeat_days:
        return "void: campaign does not repeat"
    run = start_run(session, _acting_node(), campaign.id, now=now, actor=Actor("scheduler"))
    return f"started run {run.id}"


# ---------------------------------------------------------------- acknowledgements


@dataclass(frozen=True)
class Ack:
    """The check after an acknowledgement; ``recorded`` is False when it had been acknowledged before."""

    check: PingCheck
    recorded: bool


def get_check(session: Session, check_uid: str) -> PingCheck:
    check = session.scalars(select(PingCheck).where(PingCheck.uid == check_uid)).first()
    if check is None:
        raise NotFound(f"no reachability check {check_uid!r}")
    return check


def acknowledge(
    session: Session,
    check_uid: str,
    *,
    via: str,
    by: str,
    now: dt.datetime,
    at: dt.datetime | None = None,
    actor: Actor | None = None,
) -> Ack:
    """Record that a check was acknowledged (``at``, default ``now``, kept between sending and ``now``).

    Idempotent: a second acknowledgement keeps the first one's time and channel. After the run's window an
    acknowledgement is refused (``Conflict``): the report measures reachability within the window. An
    ``actor`` (a person recording an answer here) is written to the audit log.
    """
    if via not in VIAS:
        raise Invalid("unknown acknowledgement channel", [Problem("via", f"must be one of {', '.join(VIAS)}")])
    check = get_check(session, check_uid)
    if check.acknowledged_at is not None:
        return Ack(check, False)
    now = utc(now)
    moment = min(max(utc(at or now), utc(check.sent_at)), now)
    run = get_run(session, check.run_id)
    if run.closed_at is not None or moment > utc(run.closes_at):
        raise Conflict(f"this check closed at {iso(utc(run.closes_at))}; it can no longer be acknowledged")
    won = session.execute(
        update(PingCheck)
        .where(PingCheck.id == check.id, PingCheck.acknowledged_at.is_(None))
        .values(acknowledged_at=moment, via=via, acknowledged_by=(by or "unknown")[:300])
    )
    session.refresh(check)
    recorded = won.rowcount == 1  # type: ignore[attr-defined]
    if recorded and actor is not None:
        after = {"check": check.uid, "via": via, "by": check.acknowledged_by}
        audit.record(session, actor, "acknowledge", "ping_checks", check.id, None, after)
    return Ack(check, recorded)


@registry.link("ping")
def _link_ack(session: Session, claims: dict[str, Any], now: dt.datetime) -> str:
    """The contact opened the signed link of an e-mailed check."""
    check = get_check(session, str(claims.get("sub") or ""))
    poc = session.get(PointOfContact, check.poc_id)
    ack = acknowledge(session, check.uid, via="link", by=poc.name if poc else "signed link", now=now)
    if ack.recorded:
        return "Thank you: your acknowledgement of this reachability check has been recorded."
    return f"This reachability check was already acknowledged on {iso(utc(ack.check.acknowledged_at or now))}."


@registry.inbox("ping-ack")
def _inbox_ack(session: Session, peer: Any, payload: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """A peer node acknowledges one of our checks; only the peer the check was sent to may."""
    uid = payload.get("check")
    if not isinstance(uid, str) or not uid or len(uid) > 36:
        raise Invalid("not a check acknowledgement", [Problem("check", "the uid of the check")])
    check = get_check(session, uid)
    sent_to = session.scalars(
        select(Delivery.peer_id).where(Delivery.key == f"ping:{uid}", Delivery.channel == "node")
    ).first()
    if sent_to is None or sent_to != getattr(peer, "id", None):
        raise Forbidden("this check was not sent to your node")
    by = payload.get("by") if isinstance(payload.get("by"), str) else None
    label = f"{by} (node {peer.name})" if by else f"node {peer.name}"
    try:
        ack = acknowledge(session, uid, via="inbox", by=label, now=now, at=_parse_time(payload.get("at")))
    except Conflict:
        return {"status": "late", "check": uid}
    return {"status": "acknowledged" if ack.recorded else "already-acknowledged", "check": check.uid}


# ---------------------------------------------------------------- checks from peers


def _text(payload: dict[str, Any], key: str, longest: int) -> str:
    value = payload.get(key)
    return value.strip()[:longest] if isinstance(value, str) else ""


@registry.inbox("ping")
def _inbox_ping(session: Session, peer: Any, payload: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """A peer checks whether its contact here is reachable: keep it for a person here to acknowledge."""
    uid = payload.get("check")
    if not isinstance(uid, str) or not uid or len(uid) > 36:
        raise Invalid("not a reachability check", [Problem("check", "the uid of the check")])
    poc = payload.get("poc") if isinstance(payload.get("poc"), dict) else {}
    sender = str(payload.get("from") or f"peer:{getattr(peer, 'id', '?')}")[:64]
    existing = session.scalars(
        select(ReceivedPing).where(ReceivedPing.sender_kid == sender, ReceivedPing.check_uid == uid)
    ).first()
    if existing is not None:  # a reminder: the check is already waiting (or answered)
        return {"status": "acknowledged" if existing.acknowledged_at else "waiting", "check": uid}
    session.add(
        ReceivedPing(
            sender_kid=sender,
            peer_id=getattr(peer, "id", None),
            check_uid=uid,
            campaign=_text(payload, "campaign", 200) or "reachability check",
            poc_name=_text(poc, "name", 300) or "(not named)",
            poc_role=_text(poc, "role", 20) or "unknown",
            received_at=now,
            respond_by=_parse_time(payload.get("respond_by")),
        )
    )
    session.flush()
    return {"status": "waiting", "check": uid}


def received_pings(session: Session, *, pending: bool | None = None, limit: int = 500) -> list[ReceivedPing]:
    """Checks received from peers, newest first (``pending``: only the unacknowledged, or only the answered)."""
    stmt = select(ReceivedPing)
    if pending is True:
        stmt = stmt.where(ReceivedPing.acknowledged_at.is_(None))
    elif pending is False:
        stmt = stmt.where(ReceivedPing.acknowledged_at.is_not(None))
    return list(session.scalars(stmt.order_by(ReceivedPing.received_at.desc(), ReceivedPing.id.desc()).limit(limit)))


def peer_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return {pid: name for pid, name in session.execute(select(Peer.id, Peer.name).where(Peer.id.in_(wanted)))}


def acknowledge_received(
    session: Session, received_id: int, *, by: str, now: dt.datetime, actor: Actor = audit.SYSTEM
) -> tuple[ReceivedPing, bool]:
    """A person here acknowledges a check from a peer; the ``ping-ack`` goes back to that peer's inbox.

    Idempotent: a second acknowledgement keeps the first and sends nothing more. Returns (check, recorded).
    """
    received = session.get(ReceivedPing, received_id)
    if received is None:
        raise NotFound(f"no received reachability check {received_id}")
    if received.acknowledged_at is not None:
        return received, False
    now = utc(now)
    won = session.execute(
        update(ReceivedPing)
        .where(ReceivedPing.id == received.id, ReceivedPing.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by=(by or "unknown")[:300])
    )
    session.refresh(received)
    if won.rowcount != 1:  # type: ignore[attr-defined]
        return received, False
    peer = session.get(Peer, received.peer_id) if received.peer_id is not None else None
    if peer is not None:
        delivery.enqueue(
            session,
            key=f"ping-ack:{received.check_uid}",
            kind="ping-ack",
            payload={"check": received.check_uid, "by": received.acknowledged_by, "at": iso(now)},
            route=delivery.Route("node", peer.name, peer.id),
            now=now,
        )
    audit.record(
        session, actor, "acknowledge", "ping_received", received.id, None, {"check": received.check_uid, "by": by}
    )
    return received, True


# ---------------------------------------------------------------- reports


def ack_seconds(check: PingCheck) -> float | None:
    if check.acknowledged_at is None:
        return None
    return (utc(check.acknowledged_at) - utc(check.sent_at)).total_seconds()


@dataclass(frozen=True)
class Figures:
    """Checks sent and acknowledged, the response rate (0–1) and the median acknowledgement time."""

    sent: int
    acknowledged: int
    median_seconds: float | None

    @property
    def rate(self) -> float | None:
        return self.acknowledged / self.sent if self.sent else None

    @property
    def median(self) -> str:
        return human(self.median_seconds)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "acknowledged": self.acknowledged,
            "response_rate": None if self.rate is None else round(self.rate, 4),
            "median_seconds": self.median_seconds,
            "median": self.median or None,
        }


def figures(checks: Iterable[PingCheck]) -> Figures:
    rows = list(checks)
    times = [s for s in (ack_seconds(c) for c in rows) if s is not None]
    return Figures(len(rows), len(times), statistics.median(times) if times else None)


@dataclass(frozen=True)
class Group:
    """The figures of one state, region or role."""

    key: str
    label: str
    figures: Figures

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, **self.figures.as_dict()}


def breakdown(
    checks: Sequence[PingCheck], key: Callable[[PingCheck], str | None], labels: dict[str, str]
) -> list[Group]:
    """Figures per value of ``key`` (checks without one are grouped as "unknown"), sorted by label."""
    groups: dict[str, list[PingCheck]] = defaultdict(list)
    for check in checks:
        groups[key(check) or "unknown"].append(check)
    rows = [Group(k, labels.get(k, k), figures(v)) for k, v in groups.items()]
    return sorted(rows, key=lambda g: (g.label.lower(), g.key))


@dataclass(frozen=True)
class Report:
    totals: Figures
    by_state: list[Group]
    by_region: list[Group]
    by_role: list[Group]

    def as_dict(self) -> dict[str, Any]:
        return {
            "totals": self.totals.as_dict(),
            "by_state": [g.as_dict() for g in self.by_state],
            "by_region": [g.as_dict() for g in self.by_region],
            "by_role": [g.as_dict() for g in self.by_role],
        }


def state_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    return {code: name for code, name in session.execute(select(State.code, State.name).where(State.code.in_(wanted)))}


def report(checks: Sequence[PingCheck], names: dict[str, str]) -> Report:
    """Totals and the breakdowns by state (labelled with ``names``), region and role."""
    return Report(
        totals=figures(checks),
        by_state=breakdown(checks, lambda c: c.state_code, names),
        by_region=breakdown(checks, lambda c: c.region, {}),
        by_role=breakdown(checks, lambda c: c.role, {}),
    )


@dataclass(frozen=True)
class CheckRow:
    """One check as a report lists it, with the contact's name."""

    check: PingCheck
    poc_name: str
    state_name: str

    @property
    def seconds(self) -> float | None:
        return ack_seconds(self.check)

    def as_dict(self) -> dict[str, Any]:
        c = self.check
        return {
            "uid": c.uid,
            "poc_id": c.poc_id,
            "poc_name": self.poc_name,
            "state_code": c.state_code,
            "region": c.region,
            "role": c.role,
            "channel": c.channel,
            "sent_at": iso(utc(c.sent_at)),
            "reminders": c.reminders,
            "acknowledged_at": iso(utc(c.acknowledged_at)) if c.acknowledged_at else None,
            "via": c.via,
            "acknowledged_by": c.acknowledged_by,
            "seconds": self.seconds,
        }


def run_status(run: PingRun, now: dt.datetime) -> str:
    return "closed" if run.closed_at is not None or utc(run.closes_at) <= utc(now) else "open"


def run_dict(run: PingRun, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": run.id,
        "campaign_id": run.campaign_id,
        "started_at": iso(utc(run.started_at)),
        "closes_at": iso(utc(run.closes_at)),
        "closed_at": iso(utc(run.closed_at)) if run.closed_at else None,
        "status": run_status(run, now),
    }


@dataclass(frozen=True)
class RunReport:
    run: PingRun
    campaign: PingCampaign
    report: Report
    checks: list[CheckRow] = field(default_factory=list)

    def as_dict(self, now: dt.datetime) -> dict[str, Any]:
        return {
            "run": run_dict(self.run, now),
            "campaign": campaign_dict(self.campaign),
            **self.report.as_dict(),
            "checks": [c.as_dict() for c in self.checks],
        }


def run_figures(session: Session, run_id: int) -> Figures:
    return figures(session.scalars(select(PingCheck).where(PingCheck.run_id == run_id)))


def run_report(session: Session, run_id: int) -> RunReport:
    run = get_run(session, run_id)
    campaign = get_campaign(session, run.campaign_id)
    rows = session.execute(
        select(PingCheck, PointOfContact.name)
        .join(PointOfContact, PointOfContact.id == PingCheck.poc_id)
        .where(PingCheck.run_id == run.id)
        .order_by(PingCheck.state_code, PingCheck.role, PointOfContact.name, PingCheck.id)
    ).all()
    checks = [c for c, _ in rows]
    names = state_names(session, (c.state_code for c in checks))
    listed = [CheckRow(c, name, names.get(c.state_code, c.state_code)) for c, name in rows]
    return RunReport(run, campaign, report(checks, names), listed)


@dataclass(frozen=True)
class CampaignReport:
    """A campaign's runs, newest first, each with its figures, and the report across all of them."""

    campaign: PingCampaign
    runs: list[tuple[PingRun, Figures]]
    overall: Report

    def as_dict(self, now: dt.datetime) -> dict[str, Any]:
        return {
            "campaign": campaign_dict(self.campaign),
            "scope": describe_scope(self.campaign),
            "runs": [{**run_dict(r, now), **f.as_dict()} for r, f in self.runs],
            "overall": self.overall.as_dict(),
        }


def campaign_report(session: Session, campaign_id: int) -> CampaignReport:
    campaign = get_campaign(session, campaign_id)
    runs = list(session.scalars(select(PingRun).where(PingRun.campaign_id == campaign.id).order_by(PingRun.id.desc())))
    of_campaign = select(PingRun.id).where(PingRun.campaign_id == campaign.id)
    checks = list(session.scalars(select(PingCheck).where(PingCheck.run_id.in_(of_campaign))))
    per_run: dict[int, list[PingCheck]] = defaultdict(list)
    for check in checks:
        per_run[check.run_id].append(check)
    names = state_names(session, (c.state_code for c in checks))
    return CampaignReport(campaign, [(r, figures(per_run[r.id])) for r in runs], report(checks, names))


def latest_runs(session: Session, campaign_ids: Iterable[int]) -> dict[int, tuple[PingRun, Figures]]:
    """The newest run of each campaign, with its figures (for the campaign list)."""
    wanted = sorted(set(campaign_ids))
    if not wanted:
        return {}
    newest = select(func.max(PingRun.id)).where(PingRun.campaign_id.in_(wanted)).group_by(PingRun.campaign_id)
    runs = list(session.scalars(select(PingRun).where(PingRun.id.in_(newest))))
    per_run: dict[int, list[PingCheck]] = defaultdict(list)
    for check in session.scalars(select(PingCheck).where(PingCheck.run_id.in_([r.id for r in runs]))):
        per_run[check.run_id].append(check)
    return {r.campaign_id: (r, figures(per_run[r.id])) for r in runs}


# ---------------------------------------------------------------- the directory with last results


@dataclass(frozen=True)
class ContactRow:
    """A current point of contact and the result of its latest check (None if never checked)."""

    poc: PointOfContact
    state_name: str
    region: str | None
    last: PingCheck | None
    last_open: bool = False  # the latest check's run is still open

    @property
    def seconds(self) -> float | None:
        return ack_seconds(self.last) if self.last is not None else None


def last_checks(session: Session, poc_ids: Iterable[int] | None = None) -> dict[int, PingCheck]:
    """The latest check of each point of contact (of ``poc_ids``, or of every contact ever checked)."""
    newest = select(func.max(PingCheck.id)).group_by(PingCheck.poc_id)
    if poc_ids is not None:
        wanted = sorted(set(poc_ids))
        if not wanted:
            return {}
        newest = newest.where(PingCheck.poc_id.in_(wanted))
    return {c.poc_id: c for c in session.scalars(select(PingCheck).where(PingCheck.id.in_(newest)))}


def contacts_directory(
    session: Session, *, today: dt.date, now: dt.datetime, state: str | None = None, role: str | None = None
) -> list[ContactRow]:
    """Current points of contact (optionally of one state and/or role) with their latest check."""
    stmt = (
        select(PointOfContact, State.name, State.m49_region)
        .join(State, State.code == PointOfContact.state_code)
        .where(*_current(today))
    )
    if state:
        stmt = stmt.where(PointOfContact.state_code == state)
    if role:
        stmt = stmt.where(PointOfContact.role == role)
    rows = session.execute(stmt.order_by(State.name, PointOfContact.role, PointOfContact.name)).all()
    last = last_checks(session, [poc.id for poc, _, _ in rows])
    runs = {r.id: r for r in session.scalars(select(PingRun).where(PingRun.id.in_({c.run_id for c in last.values()})))}
    return [
        ContactRow(
            poc,
            name,
            region,
            last.get(poc.id),
            poc.id in last and run_status(runs[last[poc.id].run_id], now) == "open",
        )
        for poc, name, region in rows
    ]
