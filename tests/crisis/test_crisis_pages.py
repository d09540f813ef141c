"""The crisis room pages (SQLite and PostgreSQL): who may see and act, opening a case through the form,
composing from a template, countdowns, acknowledging, decisions, closure, escalation status, the ledger check
and escaping of everything users write.

The app is built like the shared ``app`` fixture (``Settings()``: no node state, so cases have no origin
state) but with its own data directory, so the node key these tests create stays out of the checkout.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from accord.config import Settings
from accord.crisis import registry, service, timers
from accord.crisis.models import Case, LedgerEntry, Message
from accord.db import make_sessionmaker, unit_of_work
from accord.directory.models import PointOfContact
from tests.conftest_helpers import PASSWORD, login

COUNTERPART = "UY"  # a state no other test module opens cases with
PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ISO = re.compile(r'<time datetime="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)">')


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("crisis-pages"), node_state=None)


@pytest.fixture(scope="module")
def crisis_app(engine: Any, settings: Settings) -> Any:
    from accord.web.app import create_app

    assert settings.node_state is None
    return create_app(settings, engine=engine)


@pytest.fixture(scope="module")
def factory(engine: Any) -> Any:
    return make_sessionmaker(engine)


@pytest.fixture(scope="module")
def contacts(factory: Any) -> dict[str, int]:
    """A technical, a 24/7 and a diplomatic point of contact of the counterpart (names unique to this run)."""
    tag = uuid.uuid4().hex[:6]
    ids = {}
    with unit_of_work(factory) as s:
        for role in ("technical", "24-7", "diplomatic"):
            poc = PointOfContact(
                state_code=COUNTERPART,
                role=role,
                name=f"UY {role} officer {tag}",
                channels=[{"kind": "email", "value": f"{role}.{tag}@example.org"}],
            )
            s.add(poc)
            s.flush()
            ids[role] = poc.id
    return ids


def client_for(app: Any, role: str | None) -> TestClient:
    client = TestClient(app)
    if role is not None:
        assert login(client, role, PASSWORD).status_code in (302, 303)
    return client


@pytest.fixture(scope="module")
def clients(crisis_app: Any, accounts: dict[str, str]) -> dict[str, TestClient]:
    return {role: client_for(crisis_app, role) for role in ("viewer", "analyst", "liaison", "admin")}


@pytest.fixture
def liaison(clients: dict[str, TestClient], contacts: dict[str, int]) -> TestClient:
    return clients["liaison"]


@pytest.fixture
def opened(factory: Any, settings: Settings) -> Iterator[list[str]]:
    """Uids of the cases a test opens; those still open are closed afterwards, so no deadline lingers."""
    uids: list[str] = []
    yield uids
    node = service.Node.from_settings(settings)
    with unit_of_work(factory) as s:
        for uid in uids:
            case = service.get_case(s, uid)
            service.close_case(s, node, case, actor="test teardown", now=dt.datetime.now(dt.UTC), reason="test over")


def csrf(client: TestClient) -> str:
    return client.cookies.get("accord_csrf", "")


def post(client: TestClient, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, data={**data, "csrf_token": csrf(client)}, follow_redirects=False)


def open_case(client: TestClient, opened: list[str], title: str | None = None, **changes: Any) -> str:
    data = {
        "title": title or f"Wiper on water utility {uuid.uuid4().hex[:6]}",
        "counterpart_state": COUNTERPART,
        "incident_id": "",
        "tlp": "amber",
        "language": "en",
        **changes,
    }
    response = post(client, "/crisis/cases/new", data)
    assert response.status_code == 303, response.text[:2000]
    match = re.fullmatch(r"/crisis/cases/([0-9a-f-]{36})\?done=opened", response.headers["location"])
    assert match, response.headers["location"]
    opened.append(match.group(1))
    return match.group(1)


def compose(client: TestClient, uid: str, **changes: Any) -> Any:
    page = client.get(f"/crisis/cases/{uid}/compose?kind={changes.get('kind', 'request-assistance')}")
    assert page.status_code == 200
    data = {
        "kind": "request-assistance",
        "urgency": "priority",
        "level": "technical",
        "tlp": "amber",
        "language": "en",
        "in_reply_to": "",
        "subject": "",
        "incident_summary": "Wiper found on the utility's SCADA servers on 2 March.",
        "requested_action": "",
        "body": "",
        "ack_hours": "",
        "reply_hours": "",
        **changes,
    }
    return post(client, f"/crisis/cases/{uid}/compose", data)


def sent_uid(response: Any) -> str:
    assert response.status_code == 303, response.text[:3000]
    match = re.search(r"#m-([0-9a-f-]{36})$", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


def receive(factory: Any, settings: Settings, case_uid: str, **body: Any) -> str:
    """A message from the counterpart's node, through the inbox handler (as if a peer had delivered it)."""
    registry.load_all()
    service.use_node(service.Node.from_settings(settings))
    uid = str(uuid.uuid4())
    now = dt.datetime.now(dt.UTC)
    message = {
        "uid": uid,
        "kind": "request-information",
        "level": "technical",
        "sender_state": COUNTERPART,
        "sender_name": "UY CERT duty officer",
        "urgency": "immediate",
        "subject": "Questions about the wiper",
        "incident_summary": "We see the same wiper.",
        "requested_action": "Share the hashes.",
        "body": "Please share what you have.",
        "ack_due": (now + dt.timedelta(hours=2)).isoformat(),
        "reply_due": (now + dt.timedelta(hours=20)).isoformat(),
        "sent_at": now.isoformat(),
        **body,
    }
    peer = SimpleNamespace(id=None, name="uy-node", party_id=None)
    with unit_of_work(factory) as s:
        registry.INBOX["message"](s, peer, {"case": {"uid": case_uid}, "message": message}, now)
    return uid


def message(factory: Any, uid: str) -> Message:
    with factory() as s:
        msg = service.get_message(s, uid)
        s.expunge(msg)
        return msg


def count_cases(factory: Any) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(Case)) or 0


# ---------------------------------------------------------------- who may see and act


def test_visitors_and_viewers_are_kept_out(crisis_app: Any, clients: dict[str, TestClient]) -> None:
    anonymous = client_for(crisis_app, None)
    response = anonymous.get("/crisis", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert clients["viewer"].get("/crisis").status_code == 403
    assert clients["viewer"].get("/crisis/cases/new").status_code == 403
    assert 'href="/crisis"' not in clients["viewer"].get("/").text  # no "Crisis room" in the navigation
    assert 'href="/crisis"' in clients["analyst"].get("/").text
    assert post(anonymous, "/crisis/cases/new", {"title": "x", "counterpart_state": "UY"}).status_code in (401, 403)


def test_analyst_sees_cases_but_no_button_to_act(
    clients: dict[str, TestClient], liaison: TestClient, factory: Any, settings: Settings, opened: list[str]
) -> None:
    title = f"Analyst can read {uuid.uuid4().hex[:6]}"
    uid = open_case(liaison, opened, title)
    incoming = receive(factory, settings, uid)
    analyst = clients["analyst"]
    room = analyst.get("/crisis")
    assert room.status_code == 200 and title in room.text
    assert "Open a case" not in room.text
    page = analyst.get(f"/crisis/cases/{uid}")
    assert page.status_code == 200
    assert "Questions about the wiper" in page.text
    assert "/acknowledge" not in page.text and "/compose" not in page.text and "/decisions" not in page.text
    assert "Record a decision" not in page.text and "Close the case" not in page.text
    assert analyst.get(f"/crisis/cases/{uid}/compose").status_code == 403
    assert post(analyst, f"/crisis/messages/{incoming}/acknowledge", {}).status_code == 403
    assert post(analyst, f"/crisis/cases/{uid}/decisions", {"text": "no"}).status_code == 403
    assert post(analyst, f"/crisis/cases/{uid}/close", {"reason": "no"}).status_code == 403
    assert message(factory, incoming).acknowledged_at is None
    # the liaison does get the buttons
    page = liaison.get(f"/crisis/cases/{uid}")
    assert f'action="/crisis/messages/{incoming}/acknowledge"' in page.text and "Record a decision" in page.text


# ---------------------------------------------------------------- opening a case


def test_bad_case_form_shows_the_problems_by_their_fields_and_opens_nothing(liaison: TestClient, factory: Any) -> None:
    form = liaison.get("/crisis/cases/new")
    assert form.status_code == 200
    assert '<option value="UY">Uruguay (UY)</option>' in form.text
    assert 'class="ladder with-hours"' in form.text and "ack 4 h" in form.text  # the default ladder, read-only
    before = count_cases(factory)
    bad = {"title": "  ", "counterpart_state": "", "incident_id": "abc", "tlp": "purple", "language": "tlh"}
    response = post(liaison, "/crisis/cases/new", bad)
    assert response.status_code == 422
    for name in ("title", "counterpart_state", "incident_id", "tlp", "language"):
        assert f'id="e-{name}"' in response.text, name
        assert re.search(rf'name="{name}"[^>]*aria-invalid="true"', response.text), name
    assert "The case was not opened" in response.text
    assert count_cases(factory) == before
    long_title = post(liaison, "/crisis/cases/new", {**bad, "title": "x" * 301, "counterpart_state": "UY"})
    assert long_title.status_code == 422 and "at most 300 characters" in long_title.text
    assert count_cases(factory) == before


def test_liaison_opens_a_case_through_the_form(
    liaison: TestClient, factory: Any, session: Any, opened: list[str]
) -> None:
    from accord.incidents.models import Incident

    incident = session.scalars(select(Incident).where(Incident.slug == "notpetya-2017")).one()
    title = f"NotPetya follow-up {uuid.uuid4().hex[:6]}"
    uid = open_case(liaison, opened, title, incident_id=str(incident.id), tlp="red", language="fr")
    with factory() as s:
        case = service.get_case(s, uid)
        assert (case.counterpart_state, case.tlp, case.language, case.origin_state) == (COUNTERPART, "red", "fr", None)
        assert case.incident_id == incident.id and case.opened_by.endswith("(liaison)")
    page = liaison.get(f"/crisis/cases/{uid}?done=opened")
    assert page.status_code == 200
    assert title in page.text and "Uruguay" in page.text and "TLP:RED" in page.text
    assert f'href="/incidents/{incident.id}"' in page.text
    assert re.search(r'<li class="rung current" aria-current="step">\s*<span class="rung-name">Technical', page.text)
    assert "Compose its first message" in page.text  # the notice after opening
    assert "Verified" in page.text and f"/crisis/cases/{uid}/export.pdf" in page.text
    room = liaison.get("/crisis")
    assert title in room.text and "Open a case" in room.text and "No deadline running" in room.text


def test_the_form_shows_the_ladder_agreed_with_the_counterpart(liaison: TestClient, factory: Any) -> None:
    with unit_of_work(factory) as s:
        service.set_policy(s, None, "PY", [{"level": "diplomatic", "ack_hours": 2, "reply_hours": 6}])
    default = liaison.get("/crisis/cases/new")
    assert "Ladders agreed with particular states" in default.text and "Paraguay" in default.text
    chosen = liaison.get("/crisis/cases/new?counterpart_state=PY")
    assert 'value="PY" selected' in chosen.text
    assert re.search(r'aria-current="step">\s*<span class="rung-name">Diplomatic', chosen.text)
    assert "ack 2 h · reply 6 h" in chosen.text and "Technical" not in chosen.text.split('id="c-counterpart"')[1]


def test_forms_need_the_csrf_token(liaison: TestClient, factory: Any) -> None:
    before = count_cases(factory)
    response = liaison.post(
        "/crisis/cases/new", data={"title": "No token", "counterpart_state": COUNTERPART}, follow_redirects=False
    )
    assert response.status_code == 403 and count_cases(factory) == before


# ---------------------------------------------------------------- composing


def test_compose_prefills_from_the_template_and_lists_the_contacts(
    liaison: TestClient, contacts: dict[str, int], opened: list[str]
) -> None:
    uid = open_case(liaison, opened, "Grid outage")
    form = liaison.get(f"/crisis/cases/{uid}/compose?kind=request-assistance")
    assert form.status_code == 200
    assert 'value="Request for assistance: Grid outage"' in form.text
    assert "Take reasonable steps to mitigate the activity" in form.text  # requested action of the template
    assert "UN GGE norm (h)" in form.text  # the purpose of the type is shown
    for role, poc_id in contacts.items():
        assert f'name="recipients" value="{poc_id}"' in form.text, role
    french = liaison.get(f"/crisis/cases/{uid}/compose?kind=request-assistance&language=fr")
    assert "Demande d&#39;assistance : Grid outage" in french.text
    assert 'data-drafts="' in form.text  # what crisis.js refills the fields from


def test_bad_message_is_not_sent_and_the_form_says_why(liaison: TestClient, factory: Any, opened: list[str]) -> None:
    uid = open_case(liaison, opened)
    response = compose(
        liaison, uid, kind="ultimatum", urgency="now", ack_hours="soon", reply_hours="-3", recipients=["x"]
    )
    assert response.status_code == 422
    for name in ("kind", "urgency", "ack_hours", "reply_hours", "recipients"):
        assert f'id="e-{name}"' in response.text, name
    assert "The message was not sent" in response.text
    assert "Wiper found on the utility" in response.text  # what was typed is kept
    response = compose(liaison, uid, kind="response")  # a response must answer something
    assert response.status_code == 422 and 'id="e-in_reply_to"' in response.text
    with factory() as s:
        assert service.messages_of(s, service.get_case(s, uid)) == []


def test_send_from_template_shows_deadlines_as_countdowns(
    liaison: TestClient, factory: Any, contacts: dict[str, int], opened: list[str]
) -> None:
    uid = open_case(liaison, opened, "Ransomware at the port")
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    mid = sent_uid(compose(liaison, uid, recipients=[str(contacts["technical"])], urgency="immediate"))
    msg = message(factory, mid)
    assert msg.subject == "Request for assistance: Ransomware at the port"
    assert [r["poc_id"] for r in msg.recipients] == [contacts["technical"]]
    assert msg.sender_name and msg.created_by.endswith("(liaison)")
    assert before + dt.timedelta(hours=4) <= msg.ack_due <= before + dt.timedelta(hours=4, seconds=5)

    page = liaison.get(f"/crisis/cases/{uid}?done=sent")
    assert page.status_code == 200
    assert "The message was sent" in page.text
    assert f'id="m-{mid}"' in page.text and "Take reasonable steps" in page.text
    assert "UY technical officer" in page.text and "email" in page.text  # recipient with its channel
    stamps = set(ISO.findall(page.text))
    assert msg.ack_due.strftime("%Y-%m-%dT%H:%M:%SZ") in stamps
    assert msg.reply_due.strftime("%Y-%m-%dT%H:%M:%SZ") in stamps
    countdowns = re.findall(r'data-countdown="([^"]+)" role="timer">([^<]+)<', page.text)
    ack_left = [text for due, text in countdowns if due == msg.ack_due.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert ack_left and all(text in ("4 h left", "3 h 59 min left", "3 h 58 min left") for text in ack_left)
    assert "Acknowledgement due from the counterpart" in page.text
    assert "Substantive reply due from the counterpart" in page.text
    assert "Awaiting acknowledgement" in page.text

    room = liaison.get("/crisis")
    card = room.text[room.text.index("Ransomware at the port") :]
    card = re.split(r'<li class="case-card|id="h-closed"', card)[0]  # this case's card only
    assert "Acknowledgement due from the counterpart" in room.text
    assert re.search(r'data-countdown="[^"]+" role="timer">[^<]+ left<', card)


def test_durations_read_like_the_browser_shows_them() -> None:
    from accord.web.pages.crisis import Clock

    now = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    clock = Clock(now)
    assert clock.left(now + dt.timedelta(hours=3, minutes=12, seconds=40)) == "3 h 12 min left"
    assert clock.left(now + dt.timedelta(days=2, hours=4)) == "2 d 4 h left"
    assert clock.left(now + dt.timedelta(seconds=20)) == "less than a minute left"
    assert clock.left(now - dt.timedelta(minutes=20)) == "overdue by 20 min"
    assert clock.left(now - dt.timedelta(hours=1)) == "overdue by 1 h"
    assert clock.stamp(now) == "2 Mar 2026, 08:00 UTC" and clock.iso(now) == "2026-03-02T08:00:00Z"


# ---------------------------------------------------------------- acknowledging, deciding, closing


def test_acknowledge_record_a_decision_and_close(
    liaison: TestClient, factory: Any, settings: Settings, opened: list[str]
) -> None:
    uid = open_case(liaison, opened)
    out = sent_uid(compose(liaison, uid, kind="notification"))
    incoming = receive(factory, settings, uid)
    page = liaison.get(f"/crisis/cases/{uid}")
    assert "Questions about the wiper" in page.text and "We must acknowledge" in page.text
    assert "Acknowledgement due from us" in page.text

    # a received message: acknowledged here (and reported back to the sender's node when there is one)
    response = post(liaison, f"/crisis/messages/{incoming}/acknowledge", {})
    assert response.status_code == 303
    assert response.headers["location"] == f"/crisis/cases/{uid}?done=acknowledged#m-{incoming}"
    assert message(factory, incoming).acknowledged_by.endswith("(liaison)")
    # a sent message: the counterpart's acknowledgement came by phone
    response = post(liaison, f"/crisis/messages/{out}/acknowledge", {"by": "UY duty officer, by phone"})
    assert response.status_code == 303
    acked = message(factory, out)
    assert acked.acknowledged_by.startswith("UY duty officer, by phone (recorded by ")
    again = post(liaison, f"/crisis/messages/{out}/acknowledge", {"by": "someone else"})
    assert again.headers["location"].startswith(f"/crisis/cases/{uid}?done=already")
    assert message(factory, out).acknowledged_by == acked.acknowledged_by
    page = liaison.get(f"/crisis/cases/{uid}")
    assert "UY duty officer, by phone" in page.text and "Acknowledgement of" in page.text
    assert f'action="/crisis/messages/{out}/acknowledge"' not in page.text

    # a decision: empty is refused next to the field, then recorded in the ledger
    response = post(liaison, f"/crisis/cases/{uid}/decisions", {"text": "   "})
    assert response.status_code == 422 and 'id="e-text"' in response.text and "Nothing was recorded" in response.text
    response = post(liaison, f"/crisis/cases/{uid}/decisions", {"text": "Political level informed by phone"})
    assert response.status_code == 303
    page = liaison.get(f"/crisis/cases/{uid}")
    assert "Political level informed by phone" in page.text

    # closing: a reason is required; then every deadline stops and the forms go
    response = post(liaison, f"/crisis/cases/{uid}/close", {"reason": ""})
    assert response.status_code == 422 and 'id="e-reason"' in response.text
    response = post(liaison, f"/crisis/cases/{uid}/close", {"reason": "Mitigated jointly."})
    assert response.status_code == 303
    with factory() as s:
        case = service.get_case(s, uid)
        assert case.status == "closed"
        assert all(not timers.pending(s, k, m.id) for m in service.messages_of(s, case) for k in ("ack", "reply"))
    page = liaison.get(f"/crisis/cases/{uid}")
    assert "Mitigated jointly." in page.text and "Closed" in page.text
    assert "Record a decision" not in page.text and "/compose" not in page.text
    assert "Verified" in page.text and "TAMPERED" not in page.text
    assert liaison.get(f"/crisis/cases/{uid}/compose").status_code == 409
    room = liaison.get("/crisis")
    closed = room.text[room.text.index('id="h-closed"') :]
    assert case.title in closed


def test_replying_answers_a_received_message(
    liaison: TestClient, factory: Any, settings: Settings, opened: list[str]
) -> None:
    uid = open_case(liaison, opened)
    incoming = receive(factory, settings, uid)
    page = liaison.get(f"/crisis/cases/{uid}")
    assert f"/crisis/cases/{uid}/compose?kind=response&amp;reply_to={incoming}" in page.text
    form = liaison.get(f"/crisis/cases/{uid}/compose?kind=response&reply_to={incoming}")
    assert "In reply to “Questions about the wiper”" in form.text
    assert f'name="in_reply_to" value="{incoming}"' in form.text
    reply = sent_uid(compose(liaison, uid, kind="response", in_reply_to=incoming, body="Hashes attached."))
    answered = message(factory, incoming)
    assert answered.replied_at is not None and answered.acknowledged_at is not None
    assert message(factory, reply).in_reply_to == incoming
    page = liaison.get(f"/crisis/cases/{uid}")
    assert 'Replied</span> <time datetime="' in page.text and f'href="#m-{reply}"' in page.text
    assert "Acknowledgement due from us" not in page.text


# ---------------------------------------------------------------- escalation and the ledger


def test_escalation_shows_after_the_deadline_passes(
    liaison: TestClient, factory: Any, settings: Settings, contacts: dict[str, int], opened: list[str]
) -> None:
    uid = open_case(liaison, opened)
    mid = sent_uid(compose(liaison, uid))
    service.use_node(service.Node.from_settings(settings))  # the worker signs as this node
    future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=4, minutes=5)
    timers.run_due(factory, worker="t", now=future)
    with factory() as s:
        case = service.get_case(s, uid)
        assert case.level == "diplomatic"
        up = s.scalars(select(Message).where(Message.escalated_from == mid)).one()
        assert [r["poc_id"] for r in up.recipients] == [contacts["diplomatic"]]
        up_uid = up.uid
    page = liaison.get(f"/crisis/cases/{uid}")
    assert re.search(r'<li class="rung current" aria-current="step">\s*<span class="rung-name">Diplomatic', page.text)
    assert '<li class="rung passed">' in page.text
    escalation = page.text[page.text.index('id="h-escalation"') : page.text.index('id="h-timeline"')]
    assert "escalated to the <strong>diplomatic</strong> level" in escalation
    assert "UY diplomatic officer" in escalation and f'href="#m-{up_uid}"' in escalation
    assert "acknowledgement deadline passed" in escalation
    assert "Not acknowledged in time" in page.text
    assert f'Escalation of <a href="#m-{mid}">' in page.text
    assert "[Escalated to diplomatic level]" in page.text


def test_a_tampered_ledger_is_shown_as_such(liaison: TestClient, factory: Any, opened: list[str]) -> None:
    uid = open_case(liaison, opened)
    with unit_of_work(factory) as s:
        case = service.get_case(s, uid)
        first = s.scalars(select(LedgerEntry).where(LedgerEntry.case_id == case.id, LedgerEntry.seq == 1)).one()
        actor = first.actor
        s.execute(update(LedgerEntry).where(LedgerEntry.id == first.id).values(actor="someone else"))
    try:
        page = liaison.get(f"/crisis/cases/{uid}")
        assert "TAMPERED" in page.text and "entry 1: content altered" in page.text
    finally:
        with unit_of_work(factory) as s:
            s.execute(update(LedgerEntry).where(LedgerEntry.id == first.id).values(actor=actor))
    assert "Verified" in liaison.get(f"/crisis/cases/{uid}").text


# ---------------------------------------------------------------- escaping


def test_user_text_is_escaped_everywhere(
    liaison: TestClient, factory: Any, settings: Settings, opened: list[str]
) -> None:
    uid = open_case(liaison, opened, f"Case {PAYLOAD}")
    sent_uid(compose(liaison, uid, subject=f"Subject {PAYLOAD}", body=f"Body {PAYLOAD}", incident_summary=PAYLOAD))
    receive(factory, settings, uid, subject=f"Incoming {PAYLOAD}", sender_name=f"Sender {PAYLOAD}")
    post(liaison, f"/crisis/cases/{uid}/decisions", {"text": f"Decision {PAYLOAD}"})
    for url in ("/crisis", f"/crisis/cases/{uid}", f"/crisis/cases/{uid}/compose"):
        text = liaison.get(url).text
        assert "<script>alert" not in text and "<img src=x" not in text, url
        assert "&lt;script&gt;alert(" in text, url
    bad = post(liaison, "/crisis/cases/new", {"title": PAYLOAD, "counterpart_state": PAYLOAD, "language": PAYLOAD})
    assert bad.status_code == 422 and "<script>alert" not in bad.text
