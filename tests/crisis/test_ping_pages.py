"""Pages of reachability checks (SQLite and PostgreSQL): create a campaign from the form (and see its
problems when the input is wrong), run it, read the report with its chart, acknowledge a check, the
points-of-contact directory with the latest results, checks received from peers — and who may do what."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from accord.config import Settings
from accord.crisis import ping, registry, timers
from accord.crisis.models import PingRun, ReceivedPing
from accord.db import make_sessionmaker, unit_of_work, utcnow
from accord.directory.models import PointOfContact, State
from accord.sharing import federation
from tests.conftest_helpers import PASSWORD, login

PAYLOAD = '<script>alert("x")</script>'
SOURCED: dict[str, Any] = {"sources": ["https://example.org/ping-test"], "as_of": dt.date(2026, 1, 1)}


@pytest.fixture(scope="module")
def ping_app(engine: Any, accounts: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The node's app with its identity in a temporary data directory (e-mailed checks are signed)."""
    from accord.web.app import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("node"), public_url="https://accord.test")
    return create_app(settings, engine=engine)


def signed_in(app: Any, role: str) -> TestClient:
    client = TestClient(app)
    assert login(client, role, PASSWORD).status_code in (302, 303)
    return client


def csrf(client: TestClient) -> str:
    return client.cookies.get("accord_csrf", "")


@pytest.fixture(scope="module")
def liaison(ping_app: Any) -> TestClient:
    return signed_in(ping_app, "liaison")


@pytest.fixture(scope="module")
def analyst(ping_app: Any) -> TestClient:
    return signed_in(ping_app, "analyst")


@pytest.fixture
def factory(engine: Any) -> Any:
    return make_sessionmaker(engine)


def free_state(factory: Any, region: str) -> tuple[str, str]:
    with factory() as s:
        taken = select(PointOfContact.state_code)
        row = s.execute(
            select(State.code, State.name)
            .where(State.m49_region == region, State.code.not_in(taken), State.un_status == "member")
            .order_by(State.code.desc())
            .limit(1)
        ).one()
        return row[0], row[1]


def no_inline_script(html: str) -> None:
    """CSP allows no inline script: every <script> has a src or carries JSON data."""
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag


def test_campaign_form_run_report_and_acknowledgement(liaison: TestClient, factory: Any) -> None:
    code, name = free_state(factory, "Americas")
    with unit_of_work(factory) as s:
        s.add(PointOfContact(state_code=code, role="technical", name=f"Tech {PAYLOAD}", channels=[], **SOURCED))
        mail = [{"kind": "email", "value": "dip@example.org"}]
        s.add(PointOfContact(state_code=code, role="diplomatic", name="Dip Mail", channels=mail, **SOURCED))
    page = liaison.get("/crisis/ping")
    assert page.status_code == 200 and "New campaign" in page.text and 'name="csrf_token"' in page.text
    no_inline_script(page.text)

    form = {"csrf_token": csrf(liaison), "name": "Page check", "scope": "state", "value_state": code}
    bad = liaison.post("/crisis/ping", data={**form, "window_hours": "24", "reminder_hours": "30, soon"})
    assert bad.status_code == 422
    assert "The campaign was not created" in bad.text and "reminder hours" in bad.text
    assert 'value="30, soon"' in bad.text  # what was typed is kept
    bad = liaison.post("/crisis/ping", data={**form, "value_state": "", "reminder_hours": "30"})
    assert bad.status_code == 422 and "scope value" in bad.text
    assert liaison.post("/crisis/ping", data={**form, "csrf_token": "forged"}).status_code == 403

    good = {**form, "window_hours": "48", "reminder_hours": "24"}
    r = liaison.post("/crisis/ping", data=good, follow_redirects=False)
    assert r.status_code == 303
    campaign_url = r.headers["location"]
    campaign_id = int(campaign_url.rsplit("/", 1)[1])
    page = liaison.get(campaign_url)
    assert page.status_code == 200 and "Page check" in page.text and "Not run yet" in page.text
    assert "Run now" in page.text

    r = liaison.post(f"{campaign_url}/run", data={"csrf_token": csrf(liaison)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/crisis/ping/runs/")
    run_id = int(r.headers["location"].rsplit("/", 1)[1])
    report = liaison.get(r.headers["location"])
    assert report.status_code == 200
    html = report.text
    no_inline_script(html)
    assert "Response rate" in html and "Median time to acknowledge" in html
    assert 'id="ping-region-chart"' in html and 'id="ping-chart-data"' in html and "/static/js/ping.js" in html
    assert PAYLOAD not in html and "&lt;script&gt;" in html  # contact names are escaped
    assert "Dip Mail" in html and "e-mail" in html and name in html
    acks = re.findall(r'action="(/crisis/ping/checks/[0-9a-f-]{36}/ack)"', html)
    assert len(acks) == 2

    r = liaison.post(acks[0], data={"csrf_token": csrf(liaison)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/crisis/ping/runs/{run_id}#check-")
    again = liaison.post(acks[0], data={"csrf_token": csrf(liaison)}, follow_redirects=False)
    assert again.status_code == 303  # idempotent
    html = liaison.get(f"/crisis/ping/runs/{run_id}").text
    assert "via web" in html and len(re.findall(r"/crisis/ping/checks/[0-9a-f-]{36}/ack", html)) == 1
    assert "50 %" in html  # one of two acknowledged

    listing = liaison.get("/crisis/ping").text
    assert f'href="/crisis/ping/campaigns/{campaign_id}"' in listing and f"state {code}" in listing
    overall = liaison.get(campaign_url).text
    assert "Across all runs" in overall and f"/crisis/ping/runs/{run_id}" in overall

    directory = liaison.get("/crisis/contacts", params={"state": code})
    assert directory.status_code == 200
    assert "Dip Mail" in directory.text and "acknowledged" in directory.text and "waiting" in directory.text
    assert PAYLOAD not in directory.text
    assert "Some filters were ignored" in liaison.get("/crisis/contacts?state=QQ&role=boss").text

    with unit_of_work(factory) as s:  # leave no pending timer behind
        for kind in (ping.REMINDER, ping.CLOSE):
            timers.cancel(s, kind, run_id, utcnow(), "test over")
        assert s.get(PingRun, run_id).campaign_id == campaign_id


def test_received_checks_page(liaison: TestClient, analyst: TestClient, factory: Any) -> None:
    uid = str(uuid.uuid4())
    with unit_of_work(factory) as s:
        peer = federation.add_peer(
            s, name=f"peer-{uid[:8]}", base_url="https://peer.example.org", token="t0ken", public_key=None
        )
        payload = {"check": uid, "from": "c" * 64, "campaign": "Regional check", "poc": {"name": "Desk Officer"}}
        registry.INBOX["ping"](s, peer, payload, utcnow())
        row_id = s.scalars(select(ReceivedPing.id).where(ReceivedPing.check_uid == uid)).one()
    page = analyst.get("/crisis/inbox/pings")
    assert page.status_code == 200 and "Regional check" in page.text and peer.name in page.text
    assert f"/crisis/inbox/pings/{row_id}/ack" not in page.text  # analysts read, liaison officers answer
    assert analyst.post(f"/crisis/inbox/pings/{row_id}/ack", data={"csrf_token": csrf(analyst)}).status_code == 403
    page = liaison.get("/crisis/inbox/pings")
    assert f"/crisis/inbox/pings/{row_id}/ack" in page.text
    r = liaison.post(f"/crisis/inbox/pings/{row_id}/ack", data={"csrf_token": csrf(liaison)}, follow_redirects=False)
    assert r.status_code == 303
    with factory() as s:
        assert s.get(ReceivedPing, row_id).acknowledged_by == "liaison"


def test_who_may_see_and_use_the_pages(ping_app: Any, analyst: TestClient) -> None:
    anonymous = TestClient(ping_app)
    for url in ("/crisis/ping", "/crisis/contacts", "/crisis/inbox/pings"):
        r = anonymous.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    viewer = signed_in(ping_app, "viewer")
    assert viewer.get("/crisis/ping").status_code == 403
    assert viewer.get("/crisis/contacts").status_code == 403
    page = analyst.get("/crisis/ping")
    assert page.status_code == 200 and "New campaign" not in page.text
    r = analyst.post("/crisis/ping", data={"csrf_token": csrf(analyst), "name": "x", "scope": "all"})
    assert r.status_code == 403
    assert analyst.get("/crisis/ping/runs/999999999").status_code == 404
    assert analyst.get("/crisis/ping/campaigns/abc").status_code == 404
