"""E-mail to contacts without a node, through a real SMTP server (aiosmtpd) on a free local port."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete

from accord.config import Settings
from accord.crisis import delivery, links, mail
from accord.crisis.delivery import Route
from accord.crisis.identity import Identity
from accord.crisis.models import Delivery
from accord.db import make_sessionmaker, unit_of_work, utcnow

PASSWORD = "s3cret-smtp-pass"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 OK"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"accord"
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 on failure


@pytest.fixture
def smtp() -> Iterator[tuple[Collector, int]]:
    handler = Collector()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator,
        auth_require_tls=False,  # a test server without TLS; production uses STARTTLS
    )
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


CREATED: list[int] = []


@pytest.fixture
def factory(engine: Any) -> Iterator[Any]:
    factory = make_sessionmaker(engine)
    yield factory
    with unit_of_work(factory) as s:  # leave no pending rows for other tests' workers
        s.execute(delete(Delivery).where(Delivery.id.in_(CREATED)))
    CREATED.clear()


def _enqueue(factory: Any, payload: dict[str, Any], now: dt.datetime, to: str | None = None) -> int:
    with unit_of_work(factory) as s:
        row = delivery.enqueue(
            s,
            key=str(uuid.uuid4()),
            kind="message",
            payload=payload,
            route=Route("email", to or f"cert-{uuid.uuid4().hex[:6]}@example.org"),
            now=now,
        )
        assert row is not None
        CREATED.append(row.id)
        return row.id


def _row(factory: Any, did: int) -> Delivery:
    with factory() as s:
        row = s.get(Delivery, did)
        assert row is not None
        return row


def _run(factory: Any, settings: Settings, did: int, now: dt.datetime) -> int:
    me = Identity(Ed25519PrivateKey.generate())
    return delivery.run_pending(factory, settings=settings, identity=me, now=now, ids=[did])


def test_email_carries_subject_text_and_the_signed_ack_link(factory: Any, smtp: Any, tmp_path: Any) -> None:
    collector, port = smtp
    settings = Settings(
        data_dir=tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="crisis@node.example",
        public_url="https://node.example/",
    )
    from accord.crisis import node

    expires = utcnow() + dt.timedelta(days=3)
    ack_url = links.url(settings, links.make(node.identity(settings), "message", "m-1", expires))
    now = utcnow()
    to = f"cert-{uuid.uuid4().hex[:6]}@example.org"
    seen: list[tuple[int, dict[str, Any]]] = []

    def hook(session: Any, row: Delivery, claims: dict[str, Any], at: dt.datetime) -> None:
        seen.append((row.id, claims))

    did = _enqueue(
        factory, {"subject": "Request for assistance: wiper", "text": "Please respond.", "ack_url": ack_url}, now, to
    )
    delivery.ON_DELIVERED.append(hook)
    try:
        assert _run(factory, settings, did, now) == 1
    finally:
        delivery.ON_DELIVERED.remove(hook)
    row = _row(factory, did)
    assert row.status == "delivered" and row.attempts == 1 and row.receipt is None and row.last_error is None
    assert seen == [(did, {})]
    [msg] = collector.messages
    assert msg["Subject"] == "Request for assistance: wiper"
    assert msg["From"] == "crisis@node.example" and msg["To"] == to
    assert msg["X-Accord-Key"] == row.key
    assert msg["Message-ID"] == mail.message_id(row.key, to, "crisis@node.example")
    assert msg["Message-ID"].endswith("@node.example>") and msg["Date"]
    body = msg.get_content()
    assert "Please respond." in body and ack_url in body
    assert ack_url.startswith("https://node.example/ack/")
    assert collector.envelopes[0].rcpt_tos == [to]


def test_the_link_is_not_added_twice(tmp_path: Any) -> None:
    settings = Settings(data_dir=tmp_path)
    url = "https://node.example/ack/abc"
    msg = mail.build(
        settings,
        key="k",
        destination="a@example.org",
        payload={"subject": "S", "text": f"see {url}", "ack_url": url},
        now=utcnow(),
    )
    assert msg.get_content().count(url) == 1
    msg = mail.build(
        settings,
        key="k",
        destination="a@example.org",
        payload={"subject": "S\r\nBcc: x@evil", "text": "t"},
        now=utcnow(),
    )
    assert msg["Subject"] == "S Bcc: x@evil" and msg["Bcc"] is None  # no header injection through the subject


def test_signs_in_when_configured_and_never_reveals_the_password(factory: Any, smtp: Any, tmp_path: Any) -> None:
    collector, port = smtp
    now = utcnow()
    wrong = Settings(
        data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_user="accord", smtp_password="wrong-" + PASSWORD
    )
    did = _enqueue(factory, {"subject": "S", "text": "T"}, now)
    _run(factory, wrong, did, now)
    row = _row(factory, did)
    assert row.status == "pending" and row.attempts == 1 and "sign-in refused" in (row.last_error or "")
    assert PASSWORD not in (row.last_error or "")
    right = Settings(
        data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_user="accord", smtp_password=PASSWORD
    )
    _run(factory, right, did, _aware(row.next_attempt))
    assert _row(factory, did).status == "delivered" and len(collector.messages) == 1


def test_without_smtp_the_mail_waits(factory: Any, tmp_path: Any) -> None:
    now = utcnow()
    did = _enqueue(factory, {"subject": "S", "text": "T"}, now)
    assert _run(factory, Settings(data_dir=tmp_path, smtp_host=None), did, now) == 1
    row = _row(factory, did)
    assert row.status == "pending" and row.attempts == 0 and row.last_error == "no SMTP server configured"
    assert _aware(row.next_attempt) == now + delivery.UNCONFIGURED_RETRY


def test_smtp_server_down_backs_off(factory: Any, tmp_path: Any) -> None:
    now = utcnow()
    did = _enqueue(factory, {"subject": "S", "text": "T"}, now)
    settings = Settings(data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=free_port())
    _run(factory, settings, did, now)
    row = _row(factory, did)
    assert row.status == "pending" and row.attempts == 1 and "ConnectionRefused" in (row.last_error or "")
    assert dt.timedelta(seconds=30) <= _aware(row.next_attempt) - now <= dt.timedelta(seconds=33)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
