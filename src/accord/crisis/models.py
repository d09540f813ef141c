"""Tables of crisis diplomacy: cases and their messages, deadlines (timers), the signed hash-chained ledger,
the delivery outbox and the federation inbox, escalation policies, and reachability-check campaigns.

Every time is UTC. Ids that cross nodes (case ``uid``, message ``uid``, check ``uid``) are UUIDs; integer
ids stay local to a node.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from accord.db import Base, UtcDateTime, utcnow

LEVELS = ("technical", "diplomatic", "political")
MESSAGE_KINDS = (
    "notification",
    "request-information",
    "request-assistance",
    "request-consultations",
    "response",
    "clarification",
    "de-escalation",
    "closure",
)
URGENCIES = ("routine", "priority", "immediate", "flash")


class Case(Base):
    """A crisis case between this node's state (or organisation) and a counterpart state.

    ``ladder`` is the escalation ladder in force for the case: a list of ``{"level", "ack_hours",
    "reply_hours"}`` from the lowest level up (copied from the dyad's policy when the case opens, editable
    per case). ``level`` is the rung the case stands on now.
    """

    __tablename__ = "crisis_cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), index=True)
    origin_state: Mapped[str | None] = mapped_column(ForeignKey("states.code", ondelete="RESTRICT"))
    counterpart_state: Mapped[str] = mapped_column(ForeignKey("states.code", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | closed
    tlp: Mapped[str] = mapped_column(String(20), default="amber")
    language: Mapped[str] = mapped_column(String(10), default="en")
    ladder: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    level: Mapped[str] = mapped_column(String(20), default="technical")
    peer_id: Mapped[int | None] = mapped_column(ForeignKey("federation_peers.id", ondelete="SET NULL"))
    received: Mapped[bool] = mapped_column(Boolean, default=False)  # opened by a peer's message
    opened_by: Mapped[str | None] = mapped_column(String(200))
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    ledger_seq: Mapped[int] = mapped_column(Integer, default=0)  # seq of the last ledger entry
    ledger_head: Mapped[str] = mapped_column(String(64), default="")  # its hash (truncation shows)


class Message(Base):
    """A message of a case, sent (``direction`` out) or received (in). ``uid`` is its idempotency key."""

    __tablename__ = "crisis_messages"
    __table_args__ = (Index("ix_crisis_messages_case", "case_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("crisis_cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    direction: Mapped[str] = mapped_column(String(3))  # out | in
    level: Mapped[str] = mapped_column(String(20), default="technical")
    sender_state: Mapped[str | None] = mapped_column(String(2))
    sender_name: Mapped[str] = mapped_column(String(300))
    sender_node: Mapped[str | None] = mapped_column(String(64))  # key id of the signing node (received)
    recipients: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    urgency: Mapped[str] = mapped_column(String(20), default="priority")
    subject: Mapped[str] = mapped_column(String(300))
    incident_summary: Mapped[str | None] = mapped_column(Text)
    requested_action: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    tlp: Mapped[str] = mapped_column(String(20), default="amber")
    language: Mapped[str] = mapped_column(String(10), default="en")
    in_reply_to: Mapped[str | None] = mapped_column(String(36), index=True)
    escalated_from: Mapped[str | None] = mapped_column(String(36))  # uid of the message this one escalates
    ack_due: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    reply_due: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(300))
    replied_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    created_by: Mapped[str | None] = mapped_column(String(200))


class Timer(Base):
    """A persistent deadline. A worker claims a due timer and applies its effect in one transaction
    (``fired_at`` set only there), so a timer fires once, after a restart too, whatever the number of workers.

    ``kind`` names the handler (``ack``, ``reply``, ``ping-reminder``, ``ping-close``, ``ping-repeat``);
    ``subject_id`` is the local id of the row the handler acts on (a message, a check run, a campaign).
    """

    __tablename__ = "crisis_timers"
    __table_args__ = (Index("ix_crisis_timers_pending", "fired_at", "due_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int] = mapped_column(Integer, index=True)
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    fired_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    fired_by: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(String(200))  # what firing did, or why it was void


class LedgerEntry(Base):
    """One entry of a case's append-only ledger.

    ``hash`` = SHA-256 over ``prev_hash`` and the canonical JSON of (case uid, seq, kind, at, actor, data);
    ``signature`` is the node's Ed25519 signature of ``hash`` (base64url), by key ``kid``.
    """

    __tablename__ = "crisis_ledger"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("crisis_cases.id", ondelete="RESTRICT"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))
    at: Mapped[str] = mapped_column(String(40))  # ISO 8601 UTC, exactly as hashed
    actor: Mapped[str] = mapped_column(String(300))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    kid: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))


class EscalationPolicy(Base):
    """Default escalation ladder for a dyad (``state_a`` → ``state_b``), or the node default (both null)."""

    __tablename__ = "crisis_policies"
    __table_args__ = (UniqueConstraint("state_a", "state_b"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state_a: Mapped[str | None] = mapped_column(ForeignKey("states.code", ondelete="CASCADE"))
    state_b: Mapped[str | None] = mapped_column(ForeignKey("states.code", ondelete="CASCADE"))
    ladder: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class Delivery(Base):
    """The outbox: one envelope to deliver to one destination, a peer node's inbox or an e-mail address.

    The row is written in the transaction that creates what it carries, so nothing is lost if the sender
    dies; a worker claims due rows, signs ``payload`` afresh (new ``jti``/``iat``) for each attempt, and
    retries with exponential back-off until a verified receipt comes back. ``payload["id"]`` is the
    idempotency key the receiver deduplicates on.
    """

    __tablename__ = "crisis_deliveries"
    __table_args__ = (
        UniqueConstraint("key", "channel", "destination"),
        Index("ix_crisis_deliveries_due", "status", "next_attempt"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(80))  # idempotency key = payload["id"]
    kind: Mapped[str] = mapped_column(String(20))  # message | ack | ping | ping-ack
    channel: Mapped[str] = mapped_column(String(10))  # node | email
    destination: Mapped[str] = mapped_column(String(320))  # peer name or e-mail address
    peer_id: Mapped[int | None] = mapped_column(ForeignKey("federation_peers.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("crisis_cases.id", ondelete="CASCADE"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    receipt: Mapped[str | None] = mapped_column(Text)  # the peer's signed receipt (JWS)


class InboxEntry(Base):
    """An envelope accepted by this node's federation inbox, once per (signer, idempotency key)."""

    __tablename__ = "crisis_inbox"
    __table_args__ = (UniqueConstraint("sender_kid", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_kid: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    peer_id: Mapped[int | None] = mapped_column(ForeignKey("federation_peers.id", ondelete="SET NULL"))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    envelope: Mapped[str] = mapped_column(Text)
    receipt: Mapped[str] = mapped_column(Text)


class Nonce(Base):
    """Every envelope ``jti`` seen: an envelope presented twice is a replay and is refused."""

    __tablename__ = "crisis_nonces"
    jti: Mapped[str] = mapped_column(String(80), primary_key=True)
    sender_kid: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


class Refusal(Base):
    """An envelope the inbox refused (forged, altered, replayed, expired, misaddressed), for the record."""

    __tablename__ = "crisis_refusals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    reason: Mapped[str] = mapped_column(String(300))
    remote_addr: Mapped[str | None] = mapped_column(String(100))
    kid: Mapped[str | None] = mapped_column(String(100))
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the refused body
    excerpt: Mapped[str] = mapped_column(String(300))


class PingCampaign(Base):
    """A reachability check of a set of points of contact; repeats every ``repeat_days`` if set.

    ``scope`` is ``all``, ``region`` (``scope_value`` = an M49 region), ``organisation`` (its code: current
    members) or ``state``; ``role`` optionally narrows to one PoC role.
    """

    __tablename__ = "ping_campaigns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(20), default="all")
    scope_value: Mapped[str | None] = mapped_column(String(60))
    role: Mapped[str | None] = mapped_column(String(20))
    window_hours: Mapped[int] = mapped_column(Integer, default=72)
    reminder_hours: Mapped[list[int]] = mapped_column(JSON, default=list)  # e.g. [24, 48]
    repeat_days: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class PingRun(Base):
    """One round of a campaign: the checks sent at ``started_at``, open until ``closes_at``."""

    __tablename__ = "ping_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("ping_campaigns.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    closes_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class PingCheck(Base):
    """The check of one point of contact in a run, with how and when it was acknowledged."""

    __tablename__ = "ping_checks"
    __table_args__ = (UniqueConstraint("run_id", "poc_id"), Index("ix_ping_checks_poc", "poc_id", "sent_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("ping_runs.id", ondelete="CASCADE"), index=True)
    poc_id: Mapped[int] = mapped_column(ForeignKey("points_of_contact.id", ondelete="CASCADE"))
    state_code: Mapped[str] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))  # node | email | web
    sent_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    last_reminder_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    via: Mapped[str | None] = mapped_column(String(10))  # inbox | link | web
    acknowledged_by: Mapped[str | None] = mapped_column(String(300))


class ReceivedPing(Base):
    """A reachability check that arrived from a peer node, waiting for a person here to acknowledge it."""

    __tablename__ = "ping_received"
    __table_args__ = (UniqueConstraint("sender_kid", "check_uid"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_kid: Mapped[str] = mapped_column(String(64))
    peer_id: Mapped[int | None] = mapped_column(ForeignKey("federation_peers.id", ondelete="SET NULL"))
    check_uid: Mapped[str] = mapped_column(String(36))
    campaign: Mapped[str] = mapped_column(String(200))
    poc_name: Mapped[str] = mapped_column(String(300))
    poc_role: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    respond_by: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(300))
