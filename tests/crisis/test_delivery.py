"""Delivery between nodes: the outbox worker signs each attempt, posts it to the peer's inbox (a second app
served in-process), verifies the receipt, retries with back-off, and survives a kill mid-send — exactly
once on the receiving side (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update

from accord.config import Settings
from accord.crisis import delivery, identity, node, registry
from accord.crisis.delivery import Route
from accord.crisis.models import Delivery, InboxEntry
from accord.db import make_sessionmaker, unit_of_work, utcnow
from accord.sharing import federation

KIND = "test-echo"


@dataclass
class Pair:
    """A sending node and a receiving node (its own app and identity) sharing one test database."""

    factory: Any
    app: Any
    sender: identity.Identity
    receiver: identity.Identity
    sender_settings: Settings
    to_receiver: int  # the sender's peer row for the receiver
    from_sender: int  # the receiver's peer row for the sender
    calls: list[dict[str, Any]] = field(default_factory=list)
    delivered: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def client(self) -> TestClient:
        return TestClient(self.app)

    def enqueue(self, payload: dict[str, Any] | None = None, *, now: dt.datetime, kind: str = KIND) -> int:
        with unit_of_work(self.factory) as s:
            peer = s.get(federation.Peer, self.to_receiver)
            row = delivery.enqueue(
                s,
                key=str(uuid.uuid4()),
                kind=kind,
                payload=payload or {"n": 1},
                route=Route("node", peer.name, peer.id),
                now=now,
            )
            assert row is not None
            return row.id

    def run(self, ids: list[int], now: dt.datetime, client: Any = None) -> int:
        return delivery.run_pending(
            self.factory,
            settings=self.sender_settings,
            identity=self.sender,
            now=now,
            client=client if client is not None else self.client(),
            ids=ids,
        )

    def row(self, delivery_id: int) -> Delivery:
        with self.factory() as s:
            row = s.get(Delivery, delivery_id)
            assert row is not None
            return row

    def inbox_count(self, key: str) -> int:
        with self.factory() as s:
            return int(s.scalar(select(func.count()).select_from(InboxEntry).where(InboxEntry.key == key)) or 0)


def raw_base64(key: Any) -> str:
    return base64.b64encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def make_pair(engine: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    """The body of the ``pair`` fixture (test_inbox uses it too)."""
    from accord.web.app import create_app

    monkeypatch.setenv("ACCORD_SECRET_KEY", Fernet.generate_key().decode())  # peer tokens sealed off the repo
    registry.load_all()
    factory = make_sessionmaker(engine)
    sender = identity.load_or_create(tmp_path / "sender" / "node.ed25519.pem")
    receiver_settings = Settings(data_dir=tmp_path / "receiver", public_url="http://testserver")
    receiver = node.identity(receiver_settings)
    tag = uuid.uuid4().hex[:8]
    with unit_of_work(factory) as s:
        to_receiver = federation.add_peer(
            s,
            name=f"receiver-{tag}",
            base_url="http://testserver",
            token="unused",
            public_key=identity.public_pem(receiver.public_key),  # PEM
        ).id
        from_sender = federation.add_peer(
            s,
            name=f"sender-{tag}",
            base_url="http://sender.invalid",
            token="unused",
            public_key=raw_base64(sender.public_key),  # raw base64
        ).id
    p = Pair(
        factory,
        create_app(receiver_settings, engine=engine),
        sender,
        receiver,
        Settings(data_dir=tmp_path / "sender"),
        to_receiver,
        from_sender,
    )

    def echo(session: Any, peer: Any, payload: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        p.calls.append(payload)
        return {"echo": payload.get("n"), "peer": peer.name}

    def hook(session: Any, row: Delivery, claims: dict[str, Any], now: dt.datetime) -> None:
        p.delivered.append((row.id, claims))

    monkeypatch.setitem(registry.INBOX, KIND, echo)
    delivery.ON_DELIVERED.append(hook)
    yield p
    delivery.ON_DELIVERED.remove(hook)
    with unit_of_work(factory) as s:  # leave no pending rows for other tests' workers
        s.execute(delete(Delivery).where(Delivery.peer_id == to_receiver))


@pytest.fixture
def pair(engine: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    yield from make_pair(engine, tmp_path, monkeypatch)


class Killed(BaseException):
    """Stands for kill -9: nothing after it runs in the sender."""


class KillAfterSend(httpx.BaseTransport):
    """Delivers the request to the receiver, then the sender dies before it reads the answer."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        raise Killed


def refusing(status: int, body: str = "") -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(status, text=body)))


def down() -> httpx.Client:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    return httpx.Client(transport=httpx.MockTransport(fail))


# ---------------------------------------------------------------- tests


def test_delivered_once_with_a_verified_receipt(pair: Pair) -> None:
    t0 = utcnow()
    did = pair.enqueue({"n": 7, "text": "née"}, now=t0)
    assert pair.run([did], t0) == 1
    row = pair.row(did)
    assert row.status == "delivered" and row.attempts == 1 and row.last_error is None
    assert row.delivered_at is not None and row.receipt
    # the receipt is the receiver's signature over what it processed
    kid, claims = identity.verify(row.receipt, {pair.receiver.key_id: pair.receiver.public_key})
    assert kid == pair.receiver.key_id
    assert claims["type"] == "receipt" and claims["id"] == row.key
    assert claims["from"] == pair.receiver.key_id and claims["to"] == pair.sender.key_id
    assert claims["echo"] == 7 and claims["peer"].startswith("sender-")
    # the handler got the envelope's payload: ours, plus sender, addressee, time and nonce
    assert len(pair.calls) == 1
    got = pair.calls[0]
    assert got["id"] == row.key and got["type"] == KIND and got["text"] == "née"
    assert got["from"] == pair.sender.key_id and got["to"] == pair.receiver.key_id and got["jti"]
    assert claims["digest"] == delivery.content_digest(got)
    assert pair.inbox_count(row.key) == 1
    # the ledger hook saw the delivery once, with the verified claims
    assert pair.delivered == [(did, claims)]
    # nothing more to do
    assert pair.run([did], t0 + dt.timedelta(hours=2)) == 0


def test_a_resent_message_gets_the_same_receipt_and_is_processed_once(pair: Pair) -> None:
    t0 = utcnow()
    did = pair.enqueue(now=t0)
    pair.run([did], t0)
    first = pair.row(did).receipt
    # as if the sender had lost the answer: the same key goes again (new jti, new iat)
    with unit_of_work(pair.factory) as s:
        s.execute(update(Delivery).where(Delivery.id == did).values(status="pending", receipt=None, next_attempt=t0))
    assert pair.run([did], t0) == 1
    row = pair.row(did)
    assert row.status == "delivered" and row.receipt == first
    assert len(pair.calls) == 1 and pair.inbox_count(row.key) == 1


def test_receiver_down_backs_off_then_delivers(pair: Pair) -> None:
    t0 = utcnow()
    did = pair.enqueue(now=t0)
    assert pair.run([did], t0, client=down()) == 1
    row = pair.row(did)
    assert row.status == "pending" and row.attempts == 1
    assert "ConnectError" in (row.last_error or "")
    wait = _aware(row.next_attempt) - t0
    assert dt.timedelta(seconds=30) <= wait <= dt.timedelta(seconds=33)
    assert pair.run([did], t0 + dt.timedelta(seconds=20)) == 0  # not before the back-off
    assert pair.run([did], t0 + wait, client=down()) == 1
    row = pair.row(did)
    assert row.attempts == 2
    assert dt.timedelta(seconds=60) <= _aware(row.next_attempt) - (t0 + wait) <= dt.timedelta(seconds=66)
    assert pair.calls == []
    assert pair.run([did], t0 + dt.timedelta(minutes=5)) == 1
    row = pair.row(did)
    assert row.status == "delivered" and row.attempts == 3 and row.last_error is None
    assert len(pair.calls) == 1


def test_backoff_doubles_and_is_capped() -> None:
    assert delivery.backoff(1, jitter=0) == dt.timedelta(seconds=30)
    assert delivery.backoff(2, jitter=0) == dt.timedelta(seconds=60)
    assert delivery.backoff(5, jitter=0) == dt.timedelta(seconds=480)
    assert delivery.backoff(30, jitter=0) == dt.timedelta(hours=1)
    assert dt.timedelta(hours=1) <= delivery.backoff(30) <= dt.timedelta(hours=1.1)


def test_refusals_and_bad_answers_are_retried_and_recorded_then_fail(pair: Pair) -> None:
    t0 = utcnow()
    did = pair.enqueue(now=t0)
    at = t0
    answers = [
        refusing(500, "boom"),
        refusing(401, '{"detail": "signed by an unknown key"}'),
        refusing(200, '{"receipt": "not.a.jws"}'),
        refusing(200, "{}"),
    ]
    for n, client in enumerate(answers, start=1):
        pair.run([did], at, client=client)
        row = pair.row(did)
        assert row.status == "pending" and row.attempts == n
        at = _aware(row.next_attempt)
    assert "HTTP 500" not in (row.last_error or "") and "no receipt" in (row.last_error or "")
    # a receipt signed by someone else is not a receipt
    stranger = identity.Identity(identity.Ed25519PrivateKey.generate())
    forged = stranger.sign({"type": "receipt", "id": row.key})
    pair.run([did], at, client=refusing(200, f'{{"receipt": "{forged}"}}'))
    row = pair.row(did)
    assert "does not verify" in (row.last_error or "") and row.attempts == 5
    at = _aware(row.next_attempt)
    while row.status == "pending":
        pair.run([did], at, client=refusing(503))
        row = pair.row(did)
        at = _aware(row.next_attempt)
    assert row.status == "failed" and row.attempts == delivery.MAX_ATTEMPTS and "HTTP 503" in (row.last_error or "")
    assert pair.run([did], at + dt.timedelta(days=1)) == 0  # failed rows are left alone
    with unit_of_work(pair.factory) as s:
        assert delivery.requeue(s, did, at)
    assert pair.run([did], at) == 1
    assert pair.row(did).status == "delivered" and len(pair.calls) == 1


def test_a_peer_that_does_not_know_us_is_retried(pair: Pair) -> None:
    t0 = utcnow()
    with unit_of_work(pair.factory) as s:
        s.get(federation.Peer, pair.from_sender).public_key = None  # the receiver forgot our key
    did = pair.enqueue(now=t0)
    pair.run([did], t0)
    row = pair.row(did)
    assert row.status == "pending" and "HTTP 401" in (row.last_error or "") and "unknown key" in row.last_error
    with unit_of_work(pair.factory) as s:
        s.get(federation.Peer, pair.from_sender).public_key = identity.public_pem(pair.sender.public_key)
    pair.run([did], _aware(row.next_attempt))
    assert pair.row(did).status == "delivered"


def test_no_receiver_key_means_no_attempt_can_succeed(pair: Pair) -> None:
    t0 = utcnow()
    with unit_of_work(pair.factory) as s:
        s.get(federation.Peer, pair.to_receiver).public_key = None
    did = pair.enqueue(now=t0)
    pair.run([did], t0)
    row = pair.row(did)
    assert row.status == "pending" and "no public key" in (row.last_error or "") and pair.calls == []


def test_killed_mid_send_loses_nothing_and_processes_once(pair: Pair) -> None:
    t0 = utcnow()
    did = pair.enqueue({"n": 3}, now=t0)
    receiving = pair.client()
    killer = httpx.Client(transport=KillAfterSend(receiving._transport), base_url="http://testserver")
    with pytest.raises(Killed):
        pair.run([did], t0, client=killer)
    assert len(pair.calls) == 1  # the receiver processed it; the sender never learnt so
    row = pair.row(did)
    assert row.status == "pending" and row.attempts == 0 and row.receipt is None
    assert _aware(row.next_attempt) == t0 + delivery.LEASE  # leased, not lost
    assert pair.run([did], t0 + dt.timedelta(minutes=1)) == 0  # the lease holds
    assert pair.run([did], t0 + delivery.LEASE) == 1  # ... then any worker takes it up
    row = pair.row(did)
    assert row.status == "delivered" and row.receipt
    assert len(pair.calls) == 1 and pair.inbox_count(row.key) == 1  # processed exactly once


def test_a_claimed_row_is_retried_after_its_lease(pair: Pair) -> None:
    t0 = utcnow()
    did = pair.enqueue(now=t0)
    claimed = delivery.claim(pair.factory, t0, ids=[did])  # then the worker died
    assert claimed is not None and claimed.id == did and claimed.peer_url == "http://testserver"
    assert delivery.claim(pair.factory, t0, ids=[did]) is None  # nobody else takes it meanwhile
    assert pair.run([did], t0 + delivery.LEASE - dt.timedelta(seconds=1)) == 0
    assert pair.run([did], t0 + delivery.LEASE) == 1
    assert pair.row(did).status == "delivered"


def test_a_failing_hook_rolls_back_and_the_message_is_resent(pair: Pair) -> None:
    t0 = utcnow()
    did = pair.enqueue(now=t0)
    seen: list[int] = []

    def broken(session: Any, row: Delivery, claims: dict[str, Any], now: dt.datetime) -> None:
        seen.append(row.id)
        if len(seen) == 1:
            raise RuntimeError("ledger unavailable")

    delivery.ON_DELIVERED.insert(0, broken)  # fails before the other hooks run
    try:
        pair.run([did], t0)
        row = pair.row(did)
        assert row.status == "pending" and "ledger unavailable" in (row.last_error or "")
        pair.run([did], _aware(row.next_attempt))
    finally:
        delivery.ON_DELIVERED.remove(broken)
    row = pair.row(did)
    assert row.status == "delivered" and seen == [did, did]
    assert len(pair.calls) == 1 and [d for d, _ in pair.delivered] == [did]


def test_only_due_rows_are_claimed_and_each_once(pair: Pair) -> None:
    t0 = utcnow()
    ids = [pair.enqueue({"n": n}, now=t0 + dt.timedelta(seconds=n)) for n in range(3)]
    assert pair.run(ids, t0 + dt.timedelta(seconds=1)) == 2
    assert [pair.row(i).status for i in ids] == ["delivered", "delivered", "pending"]
    assert pair.run(ids, t0 + dt.timedelta(seconds=2)) == 1
    assert sorted(c["n"] for c in pair.calls) == [0, 1, 2]


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
