"""Signed acknowledgement links: the token, and the page that acts on it for anonymous visitors — even on a
node that does not publish its data (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from accord.config import Settings
from accord.crisis import links, node, registry
from accord.crisis.identity import Identity
from accord.db import utcnow

KIND = "test-ack"


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings(data_dir=tmp_path, public_url="https://node.example/", public_read=False)


@pytest.fixture
def acked(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def handler(session: Any, claims: dict[str, Any], now: dt.datetime) -> str:
        calls.append(claims)
        return f"Receipt of {claims['sub']} acknowledged." if len(calls) == 1 else "Already acknowledged."

    registry.load_all()
    monkeypatch.setitem(registry.LINKS, KIND, handler)
    return calls


@pytest.fixture
def browser(engine: Any, settings: Settings) -> TestClient:
    from accord.web.app import create_app

    return TestClient(create_app(settings, engine=engine))


def _token(
    settings: Settings, *, hours: float = 24, kind: str = KIND, what: str | None = "the démarche of 2 March"
) -> str:
    return links.make(node.identity(settings), kind, "msg-1", utcnow() + dt.timedelta(hours=hours), what=what)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the form carries no CSRF token"
    return found.group(1)


def test_round_trip(settings: Settings) -> None:
    now = utcnow()
    token = links.make(node.identity(settings), KIND, "msg-1", now + dt.timedelta(days=2))
    claims = links.check(settings, token, now)
    assert claims["kind"] == KIND and claims["sub"] == "msg-1" and claims["aud"] == links.AUDIENCE
    assert claims["exp"] == int((now + dt.timedelta(days=2)).timestamp()) and claims["jti"]
    assert links.url(settings, token) == f"https://node.example/ack/{token}"
    assert links.make(node.identity(settings), KIND, "msg-1", now) != links.make(
        node.identity(settings), KIND, "msg-1", now
    )


def test_expired_tampered_and_foreign_tokens_are_refused(settings: Settings) -> None:
    now = utcnow()
    token = links.make(node.identity(settings), KIND, "msg-1", now + dt.timedelta(hours=1))
    with pytest.raises(links.LinkExpired, match="could be used until"):
        links.check(settings, token, now + dt.timedelta(hours=2))
    header, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = "msg-2"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(links.LinkInvalid, match="altered"):
        links.check(settings, f"{header}.{forged}.{sig}", now)
    stranger = Identity(Ed25519PrivateKey.generate())
    with pytest.raises(links.LinkInvalid):
        links.check(settings, links.make(stranger, KIND, "msg-1", now + dt.timedelta(hours=1)), now)
    # an envelope this node signed for another use is not a link
    receipt = node.identity(settings).sign({"type": "receipt", "id": "x", "kind": KIND, "sub": "x", "exp": 2**40})
    with pytest.raises(links.LinkInvalid, match="not an acknowledgement link"):
        links.check(settings, receipt, now)
    with pytest.raises(links.LinkInvalid):
        links.check(settings, "garbage", now)


def test_the_page_shows_a_form_and_get_changes_nothing(
    browser: TestClient, settings: Settings, acked: list[dict[str, Any]]
) -> None:
    token = _token(settings)
    for _ in range(2):  # as a mail scanner prefetching the link would
        page = browser.get(f"/ack/{token}", follow_redirects=False)
        assert page.status_code == 200, page.text  # anonymous, on a node with ACCORD_PUBLIC_READ=false
        assert "the démarche of 2 March" in page.text
        assert f'action="/ack/{token}"' in page.text and 'method="post"' in page.text
        assert _csrf(page.text)
    assert acked == []


def test_posting_the_form_acknowledges_once(
    browser: TestClient, settings: Settings, acked: list[dict[str, Any]]
) -> None:
    token = _token(settings)
    csrf = _csrf(browser.get(f"/ack/{token}").text)
    done = browser.post(f"/ack/{token}", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 200, done.text
    assert "Receipt of msg-1 acknowledged." in done.text
    assert len(acked) == 1 and acked[0]["sub"] == "msg-1" and acked[0]["kind"] == KIND
    again = browser.post(f"/ack/{token}", data={"csrf_token": csrf})
    assert again.status_code == 200 and "Already acknowledged." in again.text  # the handler decides


def test_posting_without_the_csrf_token_is_refused(
    browser: TestClient, settings: Settings, acked: list[dict[str, Any]]
) -> None:
    token = _token(settings)
    browser.get(f"/ack/{token}")
    response = browser.post(f"/ack/{token}", data={})
    assert response.status_code == 403 and acked == []
    stranger = TestClient(browser.app)  # a cross-site form post: no cookie at all
    response = stranger.post(f"/ack/{token}", data={"csrf_token": "guess"})
    assert response.status_code == 403 and acked == []


@pytest.mark.parametrize("method", ["get", "post"])
def test_tampered_and_expired_links_get_a_clear_page(
    browser: TestClient, settings: Settings, acked: list[dict[str, Any]], method: str
) -> None:
    csrf = _csrf(browser.get(f"/ack/{_token(settings)}").text)
    header, body, sig = _token(settings).split(".")
    tampered = f"{header}.{body[:-2]}{'AB' if body[-2:] != 'AB' else 'BA'}.{sig}"
    expired = _token(settings, hours=-1)
    for token, status, text in (
        (tampered, 401, "not valid"),
        (expired, 400, "has expired"),
        ("x.y.z", 401, "not valid"),
    ):
        call = getattr(browser, method)
        response = call(
            f"/ack/{token}", follow_redirects=False, **({"data": {"csrf_token": csrf}} if method == "post" else {})
        )
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("text/html")
        assert text in response.text
    assert acked == []


def test_a_link_of_an_unknown_kind(browser: TestClient, settings: Settings) -> None:
    token = _token(settings, kind=f"gone-{uuid.uuid4().hex[:6]}", what=None)
    page = browser.get(f"/ack/{token}")
    assert page.status_code == 200 and "msg-1" in page.text
    response = browser.post(f"/ack/{token}", data={"csrf_token": _csrf(page.text)})
    assert response.status_code == 400 and "no longer acknowledges" in response.text
