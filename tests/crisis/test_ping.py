"""Reachability checks end to end on one node (SQLite and PostgreSQL): scope selection, one delivery per
route, reminders only to the unacknowledged, idempotent acknowledgements by signed link, peer inbox and the
web, a hand-worked report, repetition exactly once, the API (validation, permissions) and the CLI.

Contacts are created in states that have none yet, so every count below is exact although the database is
shared with other tests. Timers are dated in 2020 (other tests use later dates) and none is left pending.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from typer.testing import CliRunner

from accord.audit.models import AuditEntry
from accord.config import Settings
from accord.core.errors import Conflict, Forbidden, Invalid
from accord.crisis import inbox, links, ping, registry, service, timers
from accord.crisis.identity import Identity, public_pem
from accord.crisis.models import Delivery, PingCampaign, PingCheck, PingRun, ReceivedPing, Timer
from accord.crisis.service import Node
from accord.db import make_sessionmaker, unit_of_work, utcnow
from accord.directory.models import Membership, Organisation, PointOfContact, State
from accord.sharing import federation

T0 = dt.datetime(2020, 1, 6, 9, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
PING_TIMERS = (ping.REMINDER, ping.CLOSE)
SOURCED: dict[str, Any] = {"sources": ["https://example.org/ping-test"], "as_of": dt.date(2020, 1, 1)}


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def factory(engine: Any) -> Any:
    return make_sessionmaker(engine)


@pytest.fixture
def node(tmp_path: Any) -> Node:
    """This node (identity in a temporary data directory), also the one timer handlers act as."""
    n = Node.from_settings(Settings(data_dir=tmp_path, public_url="https://accord.test", node_state="EE"))
    service.use_node(n)
    return n


def free_states(s: Any, region: str, n: int) -> list[str]:
    """``n`` states of ``region`` that have no point of contact at all (so scopes select only ours)."""
    taken = select(PointOfContact.state_code)
    codes = list(
        s.scalars(
            select(State.code)
            .where(State.m49_region == region, State.code.not_in(taken), State.un_status == "member")
            .order_by(State.code)
            .limit(n)
        )
    )
    assert len(codes) == n, f"not enough states without contacts in {region}"
    return codes


def add_poc(s: Any, state: str, role: str, name: str, channels: list[dict[str, str]] | None = None, **kw: Any) -> int:
    poc = PointOfContact(state_code=state, role=role, name=name, channels=channels or [], **SOURCED, **kw)
    s.add(poc)
    s.flush()
    return poc.id


def add_peer(s: Any, public_key: str | None = None) -> Any:
    name = f"peer-{uuid.uuid4().hex[:8]}"
    return federation.add_peer(s, name=name, base_url="https://peer.example.org", token="t0ken", public_key=public_key)


def add_org(s: Any, members: list[str], former: list[str] = ()) -> str:
    code = f"T{uuid.uuid4().hex[:8].upper()}"
    s.add(Organisation(code=code, name=f"Test forum {code}", kind="regional", **SOURCED))
    joined = dt.date(2001, 1, 1)
    for state in members:
        s.add(Membership(organisation_code=code, state_code=state, joined=joined, **SOURCED))
    for state in former:
        s.add(Membership(organisation_code=code, state_code=state, joined=joined, left=dt.date(2010, 1, 1), **SOURCED))
    s.flush()
    return code


def checks_of(s: Any, run_id: int) -> dict[int, PingCheck]:
    """poc id → check of a run."""
    return {c.poc_id: c for c in s.scalars(select(PingCheck).where(PingCheck.run_id == run_id))}


def finish(factory: Any, *, runs: list[int] = (), campaigns: list[int] = ()) -> None:
    """Leave no pending timer behind: cancel this test's reminders, closings and repeats."""
    with unit_of_work(factory) as s:
        for run_id in runs:
            for kind in PING_TIMERS:
                timers.cancel(s, kind, run_id, T0, "test over")
        for campaign_id in campaigns:
            timers.cancel(s, ping.REPEAT, campaign_id, T0, "test over")


def pending_kinds(s: Any, run_id: int) -> list[tuple[str, dt.datetime]]:
    rows = s.execute(
        select(Timer.kind, Timer.due_at)
        .where(Timer.kind.in_(PING_TIMERS), Timer.subject_id == run_id, Timer.fired_at.is_(None))
        .order_by(Timer.due_at)
    )
    return [(k, ping.utc(d)) for k, d in rows]


# ---------------------------------------------------------------- campaigns: validation and scope


def test_campaign_input_is_validated_field_by_field(session: Any) -> None:
    with pytest.raises(Invalid) as caught:
        ping.create_campaign(
            session,
            name=" ",
            scope="region",
            scope_value="Atlantis",
            role="janitor",
            window_hours=48,
            reminder_hours=[12, 12, 48],
            repeat_days=1,
        )
    fields = sorted({p.field for p in caught.value.problems})
    assert fields == ["name", "reminder_hours", "repeat_days", "role", "scope_value"]
    with pytest.raises(Invalid) as caught:
        ping.create_campaign(session, name="x", scope="organisation")
    assert [p.field for p in caught.value.problems] == ["scope_value"]
    with pytest.raises(Invalid) as caught:
        ping.create_campaign(session, name="x", scope="all", scope_value="Europe")
    assert [p.field for p in caught.value.problems] == ["scope_value"]
    # values are found whatever their case, and stored as the directory spells them
    c = ping.create_campaign(session, name="x", scope="region", scope_value="oceania", reminder_hours=[48, 24])
    assert (c.scope_value, c.reminder_hours) == ("Oceania", [24, 48])
    assert ping.create_campaign(session, name="x", scope="organisation", scope_value="eu").scope_value == "EU"
    assert ping.create_campaign(session, name="x", scope="state", scope_value="fr").scope_value == "FR"
    session.rollback()


def test_scope_selects_current_contacts_of_a_region_an_organisation_a_state_and_a_role(session: Any) -> None:
    today = T0.date()
    (o1,) = free_states(session, "Oceania", 1)
    a1, a2, a3 = free_states(session, "Africa", 3)
    ids = {
        "o1-tech": add_poc(session, o1, "technical", "O1 tech"),
        "a1-tech": add_poc(session, a1, "technical", "A1 tech"),
        "a1-dip": add_poc(session, a1, "diplomatic", "A1 dip"),
        "a2-dip": add_poc(session, a2, "diplomatic", "A2 dip"),
        "a3-dip": add_poc(session, a3, "diplomatic", "A3 dip (former member)"),
        "a1-ended": add_poc(session, a1, "technical", "A1 ended", valid_to=today - dt.timedelta(days=1)),
        "a1-future": add_poc(session, a1, "technical", "A1 future", valid_from=today + dt.timedelta(days=1)),
        "a2-last-day": add_poc(session, a2, "technical", "A2 last day", valid_to=today),
    }
    org = add_org(session, [a1, a2, o1], former=[a3])

    def selected(**kw: Any) -> set[int]:
        campaign = PingCampaign(name="t", **kw)
        return {poc.id for poc, _ in ping.contacts_in_scope(session, campaign, today)}

    ours = set(ids.values())
    in_oceania = selected(scope="region", scope_value="Oceania") & ours
    assert in_oceania == {ids["o1-tech"]}
    assert all(
        r == "Oceania"
        for _, r in ping.contacts_in_scope(session, PingCampaign(scope="region", scope_value="Oceania"), today)
    )
    assert selected(scope="organisation", scope_value=org) == {
        ids["o1-tech"], ids["a1-tech"], ids["a1-dip"], ids["a2-dip"], ids["a2-last-day"]
    }  # fmt: skip
    assert selected(scope="organisation", scope_value=org, role="diplomatic") == {ids["a1-dip"], ids["a2-dip"]}
    assert selected(scope="state", scope_value=a1) == {ids["a1-tech"], ids["a1-dip"]}
    everyone = selected(scope="all")
    assert ours - everyone == {ids["a1-ended"], ids["a1-future"]}
    session.rollback()


# ---------------------------------------------------------------- runs: deliveries and timers


def test_a_run_sends_one_check_per_contact_by_its_route(factory: Any, node: Node) -> None:
    with unit_of_work(factory) as s:
        (state,) = free_states(s, "Americas", 1)
        peer = add_peer(s)
        by_node = add_poc(s, state, "technical", "Ana Node", [{"kind": "node", "value": peer.name}])
        by_mail = add_poc(s, state, "diplomatic", "Bea Mail", [{"kind": "email", "value": "bea@example.org"}])
        by_web = add_poc(s, state, "24-7", "Cid Phone", [{"kind": "phone", "value": "+1 555 0100"}])
        campaign = ping.create_campaign(
            s, name="Quarterly check", scope="state", scope_value=state, window_hours=72, reminder_hours=[24, 48]
        )
        run = ping.start_run(s, node, campaign.id, now=T0)
        run_id, campaign_id, peer_name, peer_id = run.id, campaign.id, peer.name, peer.id
    with factory() as s:
        checks = checks_of(s, run_id)
        assert {poc: c.channel for poc, c in checks.items()} == {by_node: "node", by_mail: "email", by_web: "web"}
        assert all(c.sent_at == T0 and c.region == "Americas" for c in checks.values())
        deliveries = {
            d.channel: d
            for d in s.scalars(
                select(Delivery).where(
                    Delivery.key.like("ping:%"), Delivery.key.in_([f"ping:{c.uid}" for c in checks.values()])
                )
            )
        }
        assert set(deliveries) == {"node", "email"}  # nothing to send to a contact reached only by phone
        env = deliveries["node"]
        assert (env.kind, env.destination, env.peer_id) == ("ping", peer_name, peer_id)
        assert env.payload == {
            "id": f"ping:{checks[by_node].uid}",
            "type": "ping",
            "check": checks[by_node].uid,
            "campaign": "Quarterly check",
            "poc": {"name": "Ana Node", "role": "technical", "state": state},
            "respond_by": "2020-01-09T09:00:00.000000Z",
        }
        mail = deliveries["email"]
        assert mail.destination == "bea@example.org" and mail.kind == "ping"
        assert mail.payload["subject"] == "Reachability check: Quarterly check"
        assert "Dear Bea Mail" in mail.payload["text"] and mail.payload["ack_url"] in mail.payload["text"]
        assert mail.payload["ack_url"].startswith("https://accord.test/ack/")
        claims = links.check(node.settings, mail.payload["ack_url"].rsplit("/", 1)[1], T0)
        assert (claims["kind"], claims["sub"]) == ("ping", checks[by_mail].uid)
        assert links.expires_at(claims) == T0 + 72 * H
        assert pending_kinds(s, run_id) == [
            (ping.REMINDER, T0 + 24 * H), (ping.REMINDER, T0 + 48 * H), (ping.CLOSE, T0 + 72 * H)
        ]  # fmt: skip
        assert timers.pending(s, ping.REPEAT, campaign_id) == []  # not a repeating campaign
    finish(factory, runs=[run_id])


def test_reminders_go_only_to_unacknowledged_checks_and_the_run_closes(factory: Any, node: Node) -> None:
    with unit_of_work(factory) as s:
        (state,) = free_states(s, "Americas", 1)
        early = add_poc(s, state, "technical", "Early", [{"kind": "email", "value": "early@example.org"}])
        late = add_poc(s, state, "diplomatic", "Late", [{"kind": "email", "value": "late@example.org"}])
        silent = add_poc(s, state, "political", "Silent", [{"kind": "email", "value": "silent@example.org"}])
        phone = add_poc(s, state, "24-7", "Phone only")
        campaign = ping.create_campaign(s, name="r", scope="state", scope_value=state, reminder_hours=[24, 48])
        run_id = ping.start_run(s, node, campaign.id, now=T0).id
    with unit_of_work(factory) as s:
        checks = checks_of(s, run_id)
        ping.acknowledge(s, checks[early].uid, via="web", by="Early (phone)", now=T0 + 2 * H)
    assert timers.run_due(factory, worker="w1", now=T0 + 25 * H) == 1
    with unit_of_work(factory) as s:
        checks = checks_of(s, run_id)
        assert {p: c.reminders for p, c in checks.items()} == {early: 0, late: 1, silent: 1, phone: 0}
        assert checks[late].last_reminder_at == T0 + 25 * H
        keys = set(s.scalars(select(Delivery.key).where(Delivery.key.like("ping:%:reminder:%"))))
        assert f"ping:{checks[late].uid}:reminder:1" in keys and f"ping:{checks[silent].uid}:reminder:1" in keys
        assert not any(checks[early].uid in k or checks[phone].uid in k for k in keys)
        reminder = s.scalars(select(Delivery).where(Delivery.key == f"ping:{checks[late].uid}:reminder:1")).one()
        assert reminder.payload["subject"].startswith("Reminder 1: ") and reminder.payload["reminder"] == 1
        ping.acknowledge(s, checks[late].uid, via="web", by="Late", now=T0 + 30 * H)
    assert timers.run_due(factory, worker="w2", now=T0 + 25 * H) == 0  # nothing fires twice
    assert timers.run_due(factory, worker="w1", now=T0 + 73 * H) == 2  # reminder 2, then the closing
    with factory() as s:
        checks = checks_of(s, run_id)
        assert {p: c.reminders for p, c in checks.items()} == {early: 0, late: 1, silent: 2, phone: 0}
        assert s.scalar(select(Delivery.id).where(Delivery.key == f"ping:{checks[silent].uid}:reminder:2"))
        assert s.get(PingRun, run_id).closed_at == T0 + 73 * H
        outcomes = [
            t.outcome
            for t in s.scalars(
                select(Timer).where(Timer.subject_id == run_id, Timer.kind.in_(PING_TIMERS)).order_by(Timer.id)
            )
        ]
        assert outcomes == [
            "reminder 1: sent to 2 of 3 unacknowledged",
            "reminder 2: sent to 1 of 2 unacknowledged",
            "closed: 2 of 4 acknowledged",
        ]
        uid = checks[silent].uid
    with unit_of_work(factory) as s, pytest.raises(Conflict, match="closed"):
        ping.acknowledge(s, uid, via="web", by="too late", now=T0 + 80 * H)


# ---------------------------------------------------------------- acknowledgements


def test_link_acknowledgement_is_idempotent(factory: Any, node: Node) -> None:
    with unit_of_work(factory) as s:
        (state,) = free_states(s, "Americas", 1)
        poc = add_poc(s, state, "technical", "Link User", [{"kind": "email", "value": "link@example.org"}])
        campaign = ping.create_campaign(s, name="l", scope="state", scope_value=state)
        run_id = ping.start_run(s, node, campaign.id, now=T0).id
    with factory() as s:
        check = checks_of(s, run_id)[poc]
        url = s.scalars(select(Delivery.payload).where(Delivery.key == f"ping:{check.uid}")).one()["ack_url"]
    claims = links.check(node.settings, url.rsplit("/", 1)[1], T0 + H)
    with unit_of_work(factory) as s:
        assert "has been recorded" in registry.LINKS["ping"](s, claims, T0 + H)
    with unit_of_work(factory) as s:
        assert "already acknowledged" in registry.LINKS["ping"](s, claims, T0 + 5 * H)
    with factory() as s:
        check = checks_of(s, run_id)[poc]
        assert (check.acknowledged_at, check.via, check.acknowledged_by) == (T0 + H, "link", "Link User")
    finish(factory, runs=[run_id])


def test_peer_inbox_acknowledgement_through_the_real_inbox(factory: Any, node: Node) -> None:
    """The peer's ``ping-ack`` envelope, signed by its key, goes through the federation inbox; only the
    peer the check was sent to may acknowledge it; a re-sent acknowledgement changes nothing."""
    other = Identity(Ed25519PrivateKey.generate())
    with unit_of_work(factory) as s:
        (state,) = free_states(s, "Americas", 1)
        peer = add_peer(s, public_pem(other.public_key))
        stranger = add_peer(s)
        poc = add_poc(s, state, "technical", "Node User", [{"kind": "node", "value": peer.name}])
        campaign = ping.create_campaign(s, name="i", scope="state", scope_value=state)
        run_id = ping.start_run(s, node, campaign.id, now=T0).id
    with factory() as s:
        uid = checks_of(s, run_id)[poc].uid
        with pytest.raises(Forbidden):
            registry.INBOX["ping-ack"](s, stranger, {"check": uid, "by": "impostor"}, T0 + H)

    def deliver(at: dt.datetime, now: dt.datetime) -> inbox.Accepted:
        """The peer signs a ``ping-ack`` made at ``at`` and our inbox receives it at ``now``."""
        payload = {
            "id": f"ping-ack:{uid}",
            "type": "ping-ack",
            "check": uid,
            "by": "Duty officer",
            "at": at.isoformat(),
        }
        claims = {
            "from": other.key_id,
            "to": node.identity.key_id,
            "iat": int(now.timestamp()),
            "jti": str(uuid.uuid4()),
        }
        body = other.sign({**payload, **claims}).encode()
        return inbox.receive(factory, body, identity=node.identity, max_age=dt.timedelta(minutes=15), now=now)

    # acknowledged 2 h after sending, received 3 h after (in the window); then re-sent by the peer's outbox
    first = deliver(T0 + 2 * H, T0 + 3 * H)
    again = deliver(T0 + 4 * H, T0 + 5 * H)
    assert not first.duplicate and again.duplicate
    with factory() as s:
        check = checks_of(s, run_id)[poc]
        assert check.acknowledged_at == T0 + 2 * H and check.via == "inbox"
        assert check.acknowledged_by == f"Duty officer (node {peer.name})"
        # a fresh key (a new acknowledgement of the same check) keeps the first time too
        later = {"check": uid, "at": (T0 + 6 * H).isoformat()}
        result = registry.INBOX["ping-ack"](s, s.get(type(peer), peer.id), later, T0 + 6 * H)
        assert result == {"status": "already-acknowledged", "check": uid}
    finish(factory, runs=[run_id])


def test_a_check_from_a_peer_waits_here_and_its_acknowledgement_goes_back(factory: Any, node: Node) -> None:
    uid = str(uuid.uuid4())
    payload = {
        "id": f"ping:{uid}",
        "type": "ping",
        "from": "a" * 64,
        "check": uid,
        "campaign": "OSCE CBM 8 check",
        "poc": {"name": "Our CERT desk", "role": "technical", "state": "EE"},
        "respond_by": "2020-01-09T09:00:00Z",
    }
    with unit_of_work(factory) as s:
        peer = add_peer(s)
        assert registry.INBOX["ping"](s, peer, payload, T0) == {"status": "waiting", "check": uid}
        reminder = {**payload, "id": f"ping:{uid}:reminder:1", "reminder": 1}
        assert registry.INBOX["ping"](s, peer, reminder, T0 + H) == {"status": "waiting", "check": uid}
        peer_id, peer_name = peer.id, peer.name
    with unit_of_work(factory) as s:
        row = s.scalars(select(ReceivedPing).where(ReceivedPing.check_uid == uid)).one()
        assert (row.campaign, row.poc_name, row.poc_role, row.peer_id) == (
            "OSCE CBM 8 check",
            "Our CERT desk",
            "technical",
            peer_id,
        )
        assert row.respond_by == dt.datetime(2020, 1, 9, 9, tzinfo=dt.UTC)
        received, recorded = ping.acknowledge_received(s, row.id, by="Liaison officer", now=T0 + 2 * H)
        assert recorded
    with unit_of_work(factory) as s:
        _, recorded = ping.acknowledge_received(s, row.id, by="someone else", now=T0 + 3 * H)
        assert not recorded
        acks = list(s.scalars(select(Delivery).where(Delivery.key == f"ping-ack:{uid}")))
        assert len(acks) == 1
        assert (acks[0].kind, acks[0].channel, acks[0].destination, acks[0].peer_id) == (
            "ping-ack",
            "node",
            peer_name,
            peer_id,
        )
        assert acks[0].payload["check"] == uid and acks[0].payload["by"] == "Liaison officer"
        assert acks[0].payload["at"].startswith("2020-01-06T11:00:00")
        assert registry.INBOX["ping"](s, s.get(type(peer), peer_id), payload, T0 + 4 * H)["status"] == "acknowledged"
    with pytest.raises(Invalid), factory() as s:
        registry.INBOX["ping"](s, None, {"check": 42}, T0)


# ---------------------------------------------------------------- the report, worked by hand


def test_report_rates_and_medians_by_state_region_and_role(factory: Any, node: Node) -> None:
    """Five checks; four acknowledged after 1 h, 3 h, 2 h and 30 min:

    total   5 sent, 4 acknowledged, 80 %, median of (1800, 3600, 7200, 10800) s = 5400 s = 1 h 30 min
    Africa  2/2, 100 %, median (1800, 7200) = 4500 s;   Oceania 3/2, 67 %, median (3600, 10800) = 7200 s
    technical 3/2, median (3600, 7200) = 5400 s;   diplomatic 1/1, 10800 s;   24-7 1/1, 1800 s
    O1 2/2, median 7200 s;   O2 1/0, no median;   A1 2/2, median 4500 s
    """
    other = Identity(Ed25519PrivateKey.generate())
    with unit_of_work(factory) as s:
        o1, o2 = free_states(s, "Oceania", 2)
        (a1,) = free_states(s, "Africa", 1)
        peer = add_peer(s, public_pem(other.public_key))
        p = {
            "o1-tech": add_poc(s, o1, "technical", "O1 tech", [{"kind": "email", "value": "o1t@example.org"}]),
            "o1-dip": add_poc(s, o1, "diplomatic", "O1 dip"),
            "o2-tech": add_poc(s, o2, "technical", "O2 tech", [{"kind": "email", "value": "o2t@example.org"}]),
            "a1-tech": add_poc(s, a1, "technical", "A1 tech", [{"kind": "node", "value": peer.name}]),
            "a1-247": add_poc(s, a1, "24-7", "A1 duty"),
        }
        org = add_org(s, [o1, o2, a1])
        campaign = ping.create_campaign(s, name="Hand-worked", scope="organisation", scope_value=org, window_hours=24)
        run_id = ping.start_run(s, node, campaign.id, now=T0).id
    with unit_of_work(factory) as s:
        c = checks_of(s, run_id)
        claims = {"kind": "ping", "sub": c[p["o1-tech"]].uid, "exp": int((T0 + 24 * H).timestamp())}
        registry.LINKS["ping"](s, claims, T0 + H)
        ping.acknowledge(s, c[p["o1-dip"]].uid, via="web", by="operator", now=T0 + 3 * H)
        registry.INBOX["ping-ack"](s, s.get(type(peer), peer.id), {"check": c[p["a1-tech"]].uid, "by": "x"}, T0 + 2 * H)
        ping.acknowledge(s, c[p["a1-247"]].uid, via="web", by="operator", now=T0 + H / 2)
    assert timers.run_due(factory, worker="w", now=T0 + 25 * H) == 1  # the closing
    with factory() as s:
        result = ping.run_report(s, run_id)
        names = ping.state_names(s, [o1, o2, a1])
    totals = result.report.totals
    assert (totals.sent, totals.acknowledged, totals.rate, totals.median_seconds, totals.median) == (
        5, 4, 0.8, 5400, "1 h 30 min"
    )  # fmt: skip

    def table(groups: list[ping.Group]) -> dict[str, tuple[int, int, float | None, float | None]]:
        return {
            g.key: (g.figures.sent, g.figures.acknowledged, g.figures.rate, g.figures.median_seconds) for g in groups
        }

    assert table(result.report.by_region) == {"Africa": (2, 2, 1.0, 4500), "Oceania": (3, 2, 2 / 3, 7200)}
    assert table(result.report.by_role) == {
        "technical": (3, 2, 2 / 3, 5400), "diplomatic": (1, 1, 1.0, 10800), "24-7": (1, 1, 1.0, 1800)
    }  # fmt: skip
    assert table(result.report.by_state) == {o1: (2, 2, 1.0, 7200), o2: (1, 0, 0.0, None), a1: (2, 2, 1.0, 4500)}
    assert {g.key: g.label for g in result.report.by_state} == names
    as_json = result.as_dict(T0 + 25 * H)
    assert as_json["run"]["status"] == "closed" and as_json["totals"]["response_rate"] == 0.8
    assert as_json["by_region"][1] == {
        "key": "Oceania", "label": "Oceania", "sent": 3, "acknowledged": 2, "response_rate": 0.6667,
        "median_seconds": 7200, "median": "2 h",
    }  # fmt: skip
    assert {r["poc_name"]: r["seconds"] for r in as_json["checks"]} == {
        "O1 tech": 3600, "O1 dip": 10800, "O2 tech": None, "A1 tech": 7200, "A1 duty": 1800
    }  # fmt: skip
    # the directory shows each contact's latest result
    with factory() as s:
        last = ping.last_checks(s, p.values())
        assert {k: ping.ack_seconds(last[v]) for k, v in p.items()} == {
            "o1-tech": 3600, "o1-dip": 10800, "o2-tech": None, "a1-tech": 7200, "a1-247": 1800
        }  # fmt: skip
        rows = {r.poc.id: r for r in ping.contacts_directory(s, today=T0.date(), now=T0 + 25 * H, state=o2)}
        assert list(rows) == [p["o2-tech"]] and rows[p["o2-tech"]].last is not None and not rows[p["o2-tech"]].last_open


def test_human_durations() -> None:
    assert [ping.human(s) for s in (None, 0, 59.4, 60, 3599, 3600, 5400, 86399, 86400, 93600, 183600)] == [
        "", "0 s", "59 s", "1 min", "59 min", "1 h", "1 h 30 min", "23 h 59 min", "1 d", "1 d 2 h", "2 d 3 h"
    ]  # fmt: skip


# ---------------------------------------------------------------- repetition


def test_a_repeating_campaign_schedules_its_next_run_exactly_once(factory: Any, node: Node) -> None:
    with unit_of_work(factory) as s:
        (state,) = free_states(s, "Africa", 1)
        add_poc(s, state, "technical", "Weekly", [{"kind": "email", "value": "weekly@example.org"}])
        campaign = ping.create_campaign(
            s, name="weekly", scope="state", scope_value=state, window_hours=24, repeat_days=7
        )
        campaign_id = campaign.id
        ping.start_run(s, node, campaign_id, now=T0)
        ping.start_run(s, node, campaign_id, now=T0 + H)  # run by hand too: still one pending repeat
    with factory() as s:
        pending = timers.pending(s, ping.REPEAT, campaign_id)
        assert [ping.utc(t.due_at) for t in pending] == [T0 + H + dt.timedelta(days=7)]
    due = T0 + H + dt.timedelta(days=7)
    timers.run_due(factory, worker="w1", now=due)
    timers.run_due(factory, worker="w2", now=due)  # a second worker finds nothing to do
    with factory() as s:
        runs = list(s.scalars(select(PingRun).where(PingRun.campaign_id == campaign_id).order_by(PingRun.id)))
        assert [ping.utc(r.started_at) for r in runs] == [T0, T0 + H, due]
        assert [ping.utc(t.due_at) for t in timers.pending(s, ping.REPEAT, campaign_id)] == [due + dt.timedelta(days=7)]
        fired = s.scalars(
            select(Timer.outcome).where(
                Timer.kind == ping.REPEAT, Timer.subject_id == campaign_id, Timer.fired_by == "w1"
            )
        ).all()
        assert fired == [f"started run {runs[-1].id}"]
        assert s.scalar(select(func.count()).select_from(PingCheck).where(PingCheck.run_id == runs[-1].id)) == 1
    with unit_of_work(factory) as s:  # stopping cancels the pending repeat; resuming schedules one again
        ping.set_active(s, campaign_id, False, now=due + H)
        assert timers.pending(s, ping.REPEAT, campaign_id) == []
        ping.set_active(s, campaign_id, True, now=due + H)
        assert [ping.utc(t.due_at) for t in timers.pending(s, ping.REPEAT, campaign_id)] == [due + dt.timedelta(days=7)]
        ping.set_active(s, campaign_id, False, now=due + H)
    timers.run_due(factory, worker="w1", now=due + dt.timedelta(days=8))
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(PingRun).where(PingRun.campaign_id == campaign_id)) == 3
    finish(factory, runs=[r.id for r in runs], campaigns=[campaign_id])


# ---------------------------------------------------------------- the API


def _campaign_via_api(client: Any, state: str, **extra: Any) -> int:
    r = client.post(
        "/api/v1/ping/campaigns", json={"name": "API check", "scope": "state", "scope_value": state, **extra}
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/api/v1/ping/campaigns/{r.json()['id']}"
    return r.json()["id"]


def test_api_bad_input_is_a_problem_naming_each_field(client: Any) -> None:
    r = client.post("/api/v1/ping/campaigns", json={"name": "", "scope": "planet", "window_hours": 0, "extra": 1})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in r.json()["errors"]} == {"name", "scope", "window_hours", "extra"}
    r = client.post(
        "/api/v1/ping/campaigns",
        json={"name": "x", "scope": "region", "scope_value": "Atlantis", "window_hours": 24, "reminder_hours": [30]},
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"scope_value", "reminder_hours"}
    assert client.get("/api/v1/ping/campaigns/999999999").status_code == 404
    assert client.get("/api/v1/ping/runs/0").status_code == 422
    assert client.post(f"/api/v1/ping/checks/{uuid.uuid4()}/ack").status_code == 404
    assert client.post("/api/v1/ping/received/999999/ack").status_code == 404


def test_api_permissions(role_clients: dict[str, Any], session: Any) -> None:
    body = {"name": "perm check", "scope": "state", "scope_value": "FR"}
    assert role_clients["anonymous"].get("/api/v1/ping/campaigns").status_code == 401
    assert role_clients["viewer"].get("/api/v1/ping/campaigns").status_code == 403
    assert role_clients["viewer"].post("/api/v1/ping/campaigns", json=body).status_code == 403
    assert role_clients["analyst"].get("/api/v1/ping/campaigns").status_code == 200
    assert role_clients["analyst"].get("/api/v1/ping/received").status_code == 200
    assert role_clients["analyst"].post("/api/v1/ping/campaigns", json=body).status_code == 403
    r = role_clients["liaison"].post("/api/v1/ping/campaigns", json=body)
    assert r.status_code == 201
    assert role_clients["analyst"].post(f"/api/v1/ping/campaigns/{r.json()['id']}/runs").status_code == 403
    assert (
        role_clients["analyst"].patch(f"/api/v1/ping/campaigns/{r.json()['id']}", json={"active": False}).status_code
        == 403
    )
    row = session.get(PingCampaign, r.json()["id"])
    assert row.created_by == "liaison" and row.scope_value == "FR"


def test_api_run_report_and_idempotent_web_acknowledgement(client: Any, factory: Any) -> None:
    with unit_of_work(factory) as s:
        (state,) = free_states(s, "Africa", 1)
        poc = add_poc(s, state, "technical", "Api Contact", [{"kind": "email", "value": "api@example.org"}])
    campaign_id = _campaign_via_api(client, state, reminder_hours=[24], window_hours=48, repeat_days=30)
    r = client.post(f"/api/v1/ping/campaigns/{campaign_id}/runs")
    assert r.status_code == 201, r.text
    report = r.json()
    run_id = report["run"]["id"]
    assert r.headers["location"] == f"/api/v1/ping/runs/{run_id}"
    assert report["run"]["status"] == "open" and report["totals"]["sent"] == 1
    assert report["totals"]["response_rate"] == 0.0 and report["totals"]["median"] is None
    (check,) = report["checks"]
    assert (check["poc_id"], check["channel"], check["acknowledged_at"]) == (poc, "email", None)
    first = client.post(f"/api/v1/ping/checks/{check['uid']}/ack", json={"by": "Api Contact, by phone"})
    assert first.status_code == 200 and first.json()["recorded"] is True
    assert first.json()["check"]["via"] == "web" and first.json()["check"]["acknowledged_by"] == "Api Contact, by phone"
    with factory() as s:  # the person who recorded it is in the audit log
        audited = s.scalars(
            select(AuditEntry).where(AuditEntry.resource == "ping_checks", AuditEntry.action == "acknowledge")
        ).all()
        assert any(e.after["check"] == check["uid"] and e.actor == "admin" for e in audited)
    second = client.post(f"/api/v1/ping/checks/{check['uid']}/ack")
    assert second.json()["recorded"] is False
    assert second.json()["check"]["acknowledged_at"] == first.json()["check"]["acknowledged_at"]
    got = client.get(f"/api/v1/ping/runs/{run_id}").json()
    assert got["totals"]["acknowledged"] == 1 and got["totals"]["response_rate"] == 1.0
    assert got["by_region"][0]["key"] == "Africa" and got["by_role"][0]["key"] == "technical"
    detail = client.get(f"/api/v1/ping/campaigns/{campaign_id}").json()
    assert [x["id"] for x in detail["runs"]] == [run_id] and detail["overall"]["totals"]["acknowledged"] == 1
    assert detail["scope"] == f"state {state}"
    listed = {c["id"]: c for c in client.get("/api/v1/ping/campaigns").json()["items"]}
    assert listed[campaign_id]["last_run"]["id"] == run_id and listed[campaign_id]["last_run"]["acknowledged"] == 1
    stopped = client.patch(f"/api/v1/ping/campaigns/{campaign_id}", json={"active": False})
    assert stopped.status_code == 200 and stopped.json()["active"] is False
    with factory() as s:
        assert timers.pending(s, ping.REPEAT, campaign_id) == []
    finish(factory, runs=[run_id], campaigns=[campaign_id])


def test_api_received_checks(client: Any, factory: Any) -> None:
    uid = str(uuid.uuid4())
    with unit_of_work(factory) as s:
        peer = add_peer(s)
        payload = {"check": uid, "from": "b" * 64, "campaign": "API inbound", "poc": {"name": "Desk", "role": "24-7"}}
        registry.INBOX["ping"](s, peer, payload, utcnow())
        row_id = s.scalars(select(ReceivedPing.id).where(ReceivedPing.check_uid == uid)).one()
    waiting = client.get("/api/v1/ping/received", params={"pending": "true"}).json()["items"]
    assert any(x["id"] == row_id and x["peer"] == peer.name for x in waiting)
    r = client.post(f"/api/v1/ping/received/{row_id}/ack")
    assert r.status_code == 200 and r.json()["recorded"] is True and r.json()["received"]["acknowledged_by"]
    assert client.post(f"/api/v1/ping/received/{row_id}/ack").json()["recorded"] is False
    assert all(x["id"] != row_id for x in client.get("/api/v1/ping/received?pending=true").json()["items"])
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Delivery).where(Delivery.key == f"ping-ack:{uid}")) == 1


# ---------------------------------------------------------------- the CLI


def test_cli_campaign_run_and_report(engine: Any, factory: Any, tmp_path: Any) -> None:
    import accord.cli.main  # noqa: F401  (the CLI's entry module registers its sub-commands, ping among them)
    from accord.cli.ping import ping_app

    with unit_of_work(factory) as s:
        (state,) = free_states(s, "Americas", 1)
        add_poc(s, state, "diplomatic", "Cli Contact", [{"kind": "email", "value": "cli@example.org"}])
    env = {
        "ACCORD_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "ACCORD_DATA_DIR": str(tmp_path),
        "COLUMNS": "200",
    }
    runner = CliRunner()
    bad = runner.invoke(ping_app, ["campaign", "add", "Bad", "--scope", "region", "--value", "Atlantis"], env=env)
    assert bad.exit_code == 1 and "scope_value:" in bad.output
    r = runner.invoke(
        ping_app, ["campaign", "add", "CLI check", "--scope", "state", "--value", state, "--reminder", "24"], env=env
    )
    assert r.exit_code == 0, r.output
    campaign_id = int(r.output.strip())
    r = runner.invoke(ping_app, ["campaign", "list"], env=env)
    assert r.exit_code == 0 and "CLI check" in r.output and f"state {state}" in r.output
    r = runner.invoke(ping_app, ["run", str(campaign_id)], env=env)
    assert r.exit_code == 0 and "1 check sent" in r.output, r.output
    run_id = int(r.output.split()[1].rstrip(":"))
    r = runner.invoke(ping_app, ["report", str(run_id)], env=env)
    assert r.exit_code == 0 and "0 of 1 acknowledged" in r.output and "by region" in r.output
    r = runner.invoke(ping_app, ["report", str(run_id), "--json"], env=env)
    assert json.loads(r.output)["checks"][0]["poc_name"] == "Cli Contact"
    assert runner.invoke(ping_app, ["report", "999999"], env=env).exit_code == 1
    finish(factory, runs=[run_id], campaigns=[campaign_id])
