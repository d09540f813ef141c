"""Crisis cases end to end in one node: template, deadlines, escalation up the ladder, acknowledgement,
replies, closure — and the signed ledger that records every step (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, update

from accord.core.errors import Conflict, Invalid
from accord.crisis import ledger, registry, service, timers
from accord.crisis.identity import Identity
from accord.crisis.models import Case, Delivery, LedgerEntry, Message, Timer
from accord.crisis.service import Node
from accord.db import make_sessionmaker, unit_of_work
from accord.directory.models import PointOfContact

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def node() -> Node:
    n = Node(Identity(Ed25519PrivateKey.generate()), "EE")
    service.use_node(n)
    return n


@pytest.fixture
def factory(engine: Any) -> Any:
    return make_sessionmaker(engine)


def _pocs(session: Any, state: str, tag: str) -> dict[str, int]:
    ids = {}
    for role in ("technical", "diplomatic", "political"):
        poc = PointOfContact(
            state_code=state,
            role=role,
            name=f"{role} contact {tag}",
            channels=[{"kind": "email", "value": f"{role}.{tag}@example.org"}],
        )
        session.add(poc)
        session.flush()
        ids[role] = poc.id
    return ids


def _open(factory: Any, node: Node, counterpart: str = "FI", **kw: Any) -> tuple[str, dict[str, int]]:
    tag = uuid.uuid4().hex[:6]
    with unit_of_work(factory) as s:
        # contacts of a state other cases do not use, so counts below are exact
        pocs = _pocs(s, counterpart, tag)
        case = service.open_case(
            s, node, title=f"Wiper on grid operator {tag}", counterpart_state=counterpart, actor="tester", now=T0, **kw
        )
        return case.uid, pocs


def _send(factory: Any, node: Node, uid: str, kind: str = "request-assistance", **kw: Any) -> str:
    with unit_of_work(factory) as s:
        case = service.get_case(s, uid)
        msg = service.send_message(
            s, node, case, kind=kind, actor="tester", now=kw.pop("now", T0), incident_summary="Wiper found", **kw
        )
        return msg.uid


def test_message_from_template_gets_both_deadlines_and_goes_to_technical_contacts(factory: Any, node: Node) -> None:
    uid, pocs = _open(factory, node, counterpart="LV")
    mid = _send(factory, node, uid)
    with factory() as s:
        msg = service.get_message(s, mid)
        assert msg.subject.startswith("Request for assistance: Wiper on grid operator")
        assert msg.requested_action.startswith("Take reasonable steps")
        assert msg.ack_due == T0 + dt.timedelta(hours=4) and msg.reply_due == T0 + dt.timedelta(hours=24)
        assert [r["poc_id"] for r in msg.recipients] == [pocs["technical"]]
        assert msg.recipients[0]["channel"] == "email"
        kinds = sorted(t.kind for t in s.scalars(select(Timer).where(Timer.subject_id == msg.id)))
        assert kinds == ["ack", "reply"]
        mail = s.scalars(select(Delivery).where(Delivery.key == mid)).one()
        assert mail.channel == "email" and mail.destination.startswith("technical.")
        assert "Acknowledge receipt" in mail.payload["text"] or "ack_url" not in mail.payload


def test_missed_acknowledgement_climbs_the_ladder_once_per_rung_then_stops(factory: Any, node: Node) -> None:
    uid, pocs = _open(factory, node, counterpart="LT")
    first = _send(factory, node, uid)
    # nothing due yet
    assert timers.run_due(factory, worker="w1", now=T0 + dt.timedelta(hours=3)) == 0
    timers.run_due(factory, worker="w1", now=T0 + dt.timedelta(hours=4, minutes=1))
    with factory() as s:
        case = service.get_case(s, uid)
        assert case.level == "diplomatic"
        up = s.scalars(select(Message).where(Message.escalated_from == first)).one()
        assert up.level == "diplomatic" and [r["poc_id"] for r in up.recipients] == [pocs["diplomatic"]]
        assert up.subject.startswith("[Escalated to diplomatic level]")
        assert up.ack_due == T0 + dt.timedelta(hours=4, minutes=1) + dt.timedelta(hours=8)
    # firing again at the same moment does nothing more
    assert timers.run_due(factory, worker="w2", now=T0 + dt.timedelta(hours=4, minutes=1)) == 0
    timers.run_due(factory, worker="w1", now=T0 + dt.timedelta(hours=13))
    timers.run_due(factory, worker="w1", now=T0 + dt.timedelta(days=3))
    with factory() as s:
        case = service.get_case(s, uid)
        assert case.level == "political"
        kinds = [e.kind for e in ledger.entries(s, case)]
        assert kinds.count("escalated") == 2
        assert "ladder-exhausted" in kinds
        assert s.scalar(select(func.count()).select_from(Message).where(Message.case_id == case.id)) == 3
        assert ledger.verify(s, case, {node.identity.key_id: node.identity.public_key}).ok


def test_acknowledgement_in_time_stops_escalation_and_reply_closes_the_loop(factory: Any, node: Node) -> None:
    uid, _ = _open(factory, node, counterpart="PL")
    mid = _send(factory, node, uid, kind="notification")
    with unit_of_work(factory) as s:
        msg = service.get_message(s, mid)
        assert service.acknowledge(s, node, msg, by="PL CERT (phone)", now=T0 + dt.timedelta(hours=1))
        assert not service.acknowledge(s, node, msg, by="again", now=T0 + dt.timedelta(hours=2))
    timers.run_due(factory, worker="w", now=T0 + dt.timedelta(days=5))
    with factory() as s:
        case = service.get_case(s, uid)
        assert case.level == "technical"
        msg = service.get_message(s, mid)
        assert msg.acknowledged_by == "PL CERT (phone)" and msg.escalated_at is None
        outcomes = {t.kind: t.outcome for t in s.scalars(select(Timer).where(Timer.subject_id == msg.id))}
        assert outcomes["ack"].startswith("void: acknowledged")
        assert outcomes["reply"] == "void: no reply expected"  # a notification asks for no reply


def test_full_case_notification_escalation_reply_and_closure(factory: Any, node: Node) -> None:
    """A request is missed at technical level, escalates, is acknowledged and answered, and the case closes."""
    uid, _ = _open(factory, node, counterpart="SE", incident_id=None)
    _send(factory, node, uid, kind="notification")
    req = _send(factory, node, uid, kind="request-assistance", now=T0 + dt.timedelta(minutes=5))
    timers.run_due(factory, worker="w", now=T0 + dt.timedelta(hours=5))
    with unit_of_work(factory) as s:
        case = service.get_case(s, uid)
        up = s.scalars(select(Message).where(Message.escalated_from == req)).one()
        service.acknowledge(s, node, up, by="SE MFA duty officer", now=T0 + dt.timedelta(hours=6), via="web")
        up.replied_at = T0 + dt.timedelta(hours=20)  # their answer came by note verbale
        service.record_decision(s, node, case, text="Reply received by note verbale", actor="desk", now=up.replied_at)
        service.send_message(
            s, node, case, kind="closure", actor="desk", now=T0 + dt.timedelta(days=1), body="Mitigated jointly."
        )
    timers.run_due(factory, worker="w", now=T0 + dt.timedelta(days=10))
    with factory() as s:
        case = service.get_case(s, uid)
        assert case.status == "closed" and case.level == "diplomatic"
        kinds = [e.kind for e in ledger.entries(s, case)]
        assert kinds[0] == "opened" and kinds[-1] == "closed"
        assert (
            kinds.count("escalated") == 2 and "decision" in kinds
        )  # the notification was not acknowledged either and "acknowledgement-received" in kinds
        assert ledger.verify(s, case, {node.identity.key_id: node.identity.public_key}).ok
        with pytest.raises(Conflict):
            service.send_message(s, node, case, kind="notification", actor="x", now=T0 + dt.timedelta(days=2))


def test_bad_input_names_the_field(factory: Any, node: Node) -> None:
    with factory() as s:
        with pytest.raises(Invalid) as exc:
            service.open_case(s, node, title=" ", counterpart_state="XX", actor="t", now=T0, tlp="purple")
        fields = {p.field for p in exc.value.problems}
        assert {"title", "counterpart_state", "tlp"} <= fields
        with pytest.raises(Invalid) as exc:
            service.check_ladder([{"level": "political", "ack_hours": 1, "reply_hours": 2}, {"level": "technical"}])
        assert {"ladder.1.ack_hours", "ladder"} <= {p.field for p in exc.value.problems}
    uid, _ = _open(factory, node, counterpart="NO")
    with factory() as s:
        case = service.get_case(s, uid)
        with pytest.raises(Invalid) as exc:
            service.send_message(s, node, case, kind="ultimatum", actor="t", now=T0, urgency="now", recipients=[10**9])
        assert {"kind", "urgency"} <= {p.field for p in exc.value.problems}
        with pytest.raises(Invalid) as exc:
            service.send_message(s, node, case, kind="response", actor="t", now=T0)
        assert {p.field for p in exc.value.problems} == {"in_reply_to"}


def test_dyad_policy_sets_the_ladder_of_new_cases(factory: Any, node: Node) -> None:
    with unit_of_work(factory) as s:
        service.set_policy(s, "EE", "DK", [{"level": "diplomatic", "ack_hours": 2, "reply_hours": 6}])
    uid, _ = _open(factory, node, counterpart="DK")
    with factory() as s:
        case = service.get_case(s, uid)
        assert case.ladder == [{"level": "diplomatic", "ack_hours": 2, "reply_hours": 6}]
        assert case.level == "diplomatic"


def test_ledger_detects_every_kind_of_tampering(factory: Any, node: Node) -> None:
    uid, _ = _open(factory, node, counterpart="IS")
    _send(factory, node, uid)
    keys = {node.identity.key_id: node.identity.public_key}
    with factory() as s:
        case = service.get_case(s, uid)
        assert ledger.verify(s, case, keys).ok
        n = len(ledger.entries(s, case))
    edits = [
        ("data", lambda e: {**e.data, "subject": "nothing happened"}),
        ("actor", lambda e: "someone else"),
        ("at", lambda e: "2020-01-01T00:00:00.000000Z"),
        ("signature", lambda e: e.signature[:-4] + "AAAA"),
    ]
    for column, change in edits:
        with unit_of_work(factory) as s:
            case = service.get_case(s, uid)
            entry = ledger.entries(s, case)[-1]
            original = getattr(entry, column)
            s.execute(update(LedgerEntry).where(LedgerEntry.id == entry.id).values({column: change(entry)}))
        with factory() as s:
            result = ledger.verify(s, service.get_case(s, uid), keys)
            assert not result.ok, column
            assert f"entry {n}" in result.summary()
        with unit_of_work(factory) as s:
            s.execute(update(LedgerEntry).where(LedgerEntry.id == entry.id).values({column: original}))
    # cutting the last entry off shows against the case head
    with unit_of_work(factory) as s:
        case = service.get_case(s, uid)
        last = ledger.entries(s, case)[-1]
        saved = {c: getattr(last, c) for c in ("case_id", "seq", "kind", "at", "actor", "data", "prev_hash", "hash")}
        saved.update(kid=last.kid, signature=last.signature)
        s.delete(last)
    with factory() as s:
        assert not ledger.verify(s, service.get_case(s, uid), keys).ok
    with unit_of_work(factory) as s:
        s.add(LedgerEntry(**saved))
    with factory() as s:
        assert ledger.verify(s, service.get_case(s, uid), keys).ok
        # another node's key is not this node's
        other = Identity(Ed25519PrivateKey.generate())
        assert not ledger.verify(s, service.get_case(s, uid), {other.key_id: other.public_key}).ok


def test_handlers_are_registered() -> None:
    registry.load_all()
    assert {"ack", "reply"} <= set(registry.TIMERS)
    assert {"message", "ack"} <= set(registry.INBOX)
    assert "message" in registry.LINKS
    assert Case.__tablename__ == "crisis_cases"
