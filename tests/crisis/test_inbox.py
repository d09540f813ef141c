"""The federation inbox: what it accepts (once), and what it refuses and records — forged, altered,
unsigned, expired, misaddressed, replayed (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from accord.config import Settings
from accord.core.errors import Invalid
from accord.crisis import delivery, identity, inbox, registry
from accord.crisis.models import InboxEntry, Nonce, Refusal
from accord.db import unit_of_work, utcnow

from .test_delivery import KIND, Pair, make_pair, raw_base64

INBOX = "/federation/v1/inbox"
JOSE = {"Content-Type": "application/jose"}


@pytest.fixture
def pair(engine: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    yield from make_pair(engine, tmp_path, monkeypatch)


def envelope(p: Pair, signer: identity.Identity | None = None, **changes: Any) -> str:
    """An envelope from the sender to the receiver, with fields changed (None removes a field)."""
    body = {
        "id": str(uuid.uuid4()),
        "type": KIND,
        "n": 1,
        "from": p.sender.key_id,
        "to": p.receiver.key_id,
        "iat": int(time.time()),
        "jti": str(uuid.uuid4()),
    }
    body.update(changes)
    body = {k: v for k, v in body.items() if v is not None}
    return (signer or p.sender).sign(body)


def refusal(p: Pair, text: str) -> Refusal:
    digest = hashlib.sha256(text.encode()).hexdigest()
    with p.factory() as s:
        row = s.scalars(select(Refusal).where(Refusal.digest == digest).order_by(Refusal.id.desc())).first()
        assert row is not None, "the refusal was not recorded"
        return row


def post(client: TestClient, text: str, **headers: str) -> Any:
    return client.post(INBOX, content=text.encode(), headers={**JOSE, **headers})


def test_accepted_once_and_duplicates_get_the_stored_receipt(pair: Pair) -> None:
    client = pair.client()
    key = str(uuid.uuid4())
    first = post(client, envelope(pair, id=key, n=5))
    assert first.status_code == 200, first.text
    receipt = first.json()["receipt"]
    assert first.json()["duplicate"] is False
    _kid, claims = identity.verify(receipt, {pair.receiver.key_id: pair.receiver.public_key})
    assert claims["id"] == key and claims["to"] == pair.sender.key_id and claims["echo"] == 5
    again = post(client, envelope(pair, id=key, n=5))  # the same message, a new attempt (new jti)
    assert again.status_code == 200 and again.json() == {"receipt": receipt, "duplicate": True}
    assert len(pair.calls) == 1
    with pair.factory() as s:
        entry = s.scalars(select(InboxEntry).where(InboxEntry.key == key)).one()
        assert entry.sender_kid == pair.sender.key_id and entry.peer_id == pair.from_sender and entry.kind == KIND
        assert s.scalar(select(func.count()).select_from(Nonce).where(Nonce.sender_kid == pair.sender.key_id)) >= 2


def test_a_replayed_envelope_is_refused_and_recorded(pair: Pair, caplog: pytest.LogCaptureFixture) -> None:
    client = pair.client()
    text = envelope(pair)
    assert post(client, text).status_code == 200
    with caplog.at_level(logging.WARNING, logger="accord.crisis.inbox"):
        replay = post(client, text)
    assert replay.status_code == 409
    assert replay.headers["content-type"].startswith("application/problem+json")
    assert "already presented" in replay.json()["detail"]
    row = refusal(pair, text)
    assert "already presented" in row.reason and row.kid == pair.sender.key_id
    assert row.remote_addr == "testclient" and row.excerpt == text[:300]
    assert any("refused" in r.getMessage() and row.digest in r.getMessage() for r in caplog.records)
    assert len(pair.calls) == 1


def _altered(text: str) -> str:
    header, body, sig = text.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["n"] = 1000
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{sig}"


def _unsigned(p: Pair) -> str:
    body = {"id": "x", "type": KIND, "from": p.sender.key_id, "to": p.receiver.key_id, "iat": int(time.time())}
    return jwt.api_jws.encode(
        json.dumps(body).encode(),
        None,
        algorithm="none",
        headers={"kid": p.sender.key_id, "typ": identity.ENVELOPE_TYPE},
    )


def _impostor(p: Pair) -> str:
    """Signed by a stranger's key but claiming the sender's key id."""
    body = {"id": "x", "type": KIND, "from": p.sender.key_id, "to": p.receiver.key_id, "iat": int(time.time())}
    return jwt.api_jws.encode(
        json.dumps(body).encode(),
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": p.sender.key_id, "typ": identity.ENVELOPE_TYPE},
    )


STRANGER = identity.Identity(Ed25519PrivateKey.generate())
CASES: dict[str, tuple[Any, int, str]] = {
    "forged (unregistered key)": (lambda p: envelope(p, STRANGER, **{"from": STRANGER.key_id}), 401, "unknown key"),
    "impostor (registered kid)": (_impostor, 401, "does not verify"),
    "altered": (lambda p: _altered(envelope(p)), 401, "does not verify"),
    "alg none": (_unsigned, 401, "only EdDSA"),
    "not a JWS": (lambda p: "hello, inbox", 401, "not a JWS"),
    "expired": (lambda p: envelope(p, iat=int(time.time()) - 16 * 60), 401, "older than"),
    "from the future": (lambda p: envelope(p, iat=int(time.time()) + 10 * 60), 401, "in the future"),
    "wrong to": (lambda p: envelope(p, to=STRANGER.key_id), 400, "another node"),
    "no to": (lambda p: envelope(p, to=None), 400, "another node"),
    "from another": (lambda p: envelope(p, **{"from": STRANGER.key_id}), 400, "'from'"),
    "no id": (lambda p: envelope(p, id=None), 400, "'id'"),
    "no jti": (lambda p: envelope(p, jti=None), 400, "'jti'"),
    "no iat": (lambda p: envelope(p, iat=None), 400, "'iat'"),
    "unknown type": (lambda p: envelope(p, type="no-such-kind"), 400, "unknown envelope type"),
    "handler refuses": (lambda p: envelope(p, type="test-refuse"), 422, "not for us"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refused_envelopes_are_recorded_and_logged(
    pair: Pair, case: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(session: Any, peer: Any, payload: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        raise Invalid("not for us")

    monkeypatch.setitem(registry.INBOX, "test-refuse", refuse)
    make, status, reason = CASES[case]
    text = make(pair)
    with caplog.at_level(logging.WARNING, logger="accord.crisis.inbox"):
        response = post(pair.client(), text)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert reason in response.json()["detail"]
    row = refusal(pair, text)
    assert reason in row.reason and row.remote_addr == "testclient" and len(row.excerpt) <= 300
    assert any("inbox refused" in r.getMessage() for r in caplog.records)
    assert pair.calls == []
    with pair.factory() as s:  # nothing of a refused envelope is kept but the refusal
        assert s.scalar(select(func.count()).select_from(InboxEntry).where(InboxEntry.envelope == text)) == 0


def test_problem_json_whatever_the_client_accepts(pair: Pair) -> None:
    response = post(pair.client(), "nonsense", Accept="text/html")
    assert response.status_code == 401 and response.headers["content-type"].startswith("application/problem+json")


def test_oversized_envelope_is_refused(pair: Pair) -> None:
    response = post(pair.client(), "x" * (inbox.MAX_BODY + 1))
    assert response.status_code == 413


def test_csrf_and_public_read_do_not_apply_to_peers(engine: Any, tmp_path: Any, pair: Pair) -> None:
    """A node posts without cookies or a user; a stray cookie pair or a private node changes nothing."""
    from accord.web.app import create_app

    private = create_app(Settings(data_dir=pair.app.state.settings.data_dir, public_read=False), engine=engine)
    client = TestClient(private)
    client.cookies.set("accord_csrf", "some-cookie")
    client.cookies.set("accord_session", "not-a-session")
    response = post(client, envelope(pair))
    assert response.status_code == 200, response.text


def test_concurrent_deliveries_of_one_key_process_it_once(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    started = threading.Barrier(2, timeout=10)

    def slow(session: Any, peer: Any, payload: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        time.sleep(0.3)  # both deliveries are inside their transaction at once
        return {"slow": True}

    monkeypatch.setitem(registry.INBOX, "test-slow", slow)
    key = str(uuid.uuid4())
    texts = [envelope(pair, id=key, type="test-slow") for _ in range(2)]
    answers: list[Any] = [None, None]

    def send(i: int) -> None:
        client = pair.client()
        started.wait()
        answers[i] = post(client, texts[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert answers[0].json()["receipt"] == answers[1].json()["receipt"]
    assert sorted(a.json()["duplicate"] for a in answers) == [False, True]
    with pair.factory() as s:
        assert s.scalar(select(func.count()).select_from(InboxEntry).where(InboxEntry.key == key)) == 1


def test_peer_keys_in_pem_or_base64() -> None:
    me = identity.Identity(Ed25519PrivateKey.generate())
    for text in (identity.public_pem(me.public_key), raw_base64(me.public_key)):
        key = inbox.peer_key(text)
        assert key is not None and identity.fingerprint(key) == me.key_id
    urlsafe = raw_base64(me.public_key).replace("+", "-").replace("/", "_").rstrip("=")
    assert identity.fingerprint(inbox.peer_key(urlsafe)) == me.key_id  # type: ignore[arg-type]
    assert inbox.peer_key(None) is None and inbox.peer_key("  ") is None
    for bad in ("not base64!", base64.b64encode(b"short").decode()):
        with pytest.raises(Exception, match="peer's public key"):
            inbox.peer_key(bad)


def test_old_nonces_are_pruned(pair: Pair) -> None:
    now = utcnow()
    old, fresh = f"old-{uuid.uuid4()}", f"fresh-{uuid.uuid4()}"
    with unit_of_work(pair.factory) as s:
        s.add(Nonce(jti=old, sender_kid="k", seen_at=now - dt.timedelta(hours=2)))
        s.add(Nonce(jti=fresh, sender_kid="k", seen_at=now))
    with unit_of_work(pair.factory) as s:
        assert inbox.prune_nonces(s, max_age=dt.timedelta(minutes=15), now=now) >= 1
    with pair.factory() as s:
        assert s.get(Nonce, old) is None and s.get(Nonce, fresh) is not None


def test_the_digest_ignores_per_attempt_fields() -> None:
    a = {"id": "k", "type": "t", "from": "a", "to": "b", "iat": 1, "jti": "x"}
    assert inbox.content_digest(a) == inbox.content_digest({**a, "iat": 2, "jti": "y"})
    assert inbox.content_digest(a) != inbox.content_digest({**a, "text": "changed"})
    assert delivery.content_digest is inbox.content_digest
