"""Sharing hub pages: collections, communities, the object browser, object pages, the share dialog and the
federation status — always compared with what TAXII (the same TLP policy) reveals to the same user."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import uuid
from typing import Any

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from accord.auth import service as accounts
from accord.auth.access import read_access
from accord.config import Settings
from accord.db import make_sessionmaker, unit_of_work
from accord.sharing import tlp
from accord.sharing.models import Collection, Share, StixObject
from accord.web.app import create_app
from accord.web.pages import sharing as sharing_pages
from accord.web.security import verify_csrf

from ..conftest_helpers import PASSWORD, login
from .conftest import indicator

IDS = {level: mid for mid, level in tlp.TLP2_IDS.items()}
READERS = ("producer", "member", "outsider", "client", "noparty")
_APPS: dict[int, Any] = {}


def web_app(hub: Any) -> Any:
    """A fresh app on the hub's database with the sharing pages included like the other pages."""
    key = id(hub.engine)
    if key not in _APPS:
        app = create_app(Settings(), engine=hub.engine)
        if not any(getattr(r, "path", None) == "/sharing" for r in app.routes):
            app.include_router(sharing_pages.router, dependencies=[Depends(read_access("read")), Depends(verify_csrf)])
        _APPS[key] = app
    return _APPS[key]


def browser(hub: Any, who: str | None) -> TestClient:
    c = TestClient(web_app(hub))
    if who is not None:
        username = hub.users.get(who, who)
        r = login(c, username, PASSWORD)
        assert r.status_code == 303, r.text
    return c


def csrf(c: TestClient) -> str:
    return c.cookies.get("accord_csrf", "")


def page_ids(hub: Any, text: str) -> set[str]:
    return set(re.findall(rf"/sharing/collections/{hub.collection}/objects/([a-z0-9-]+--[0-9a-f-]{{36}})", text))


def taxii_latest(hub: Any, who: str) -> dict[str, dict[str, Any]]:
    body = hub.client(who).get(hub.url("objects/"), params={"limit": 1000}).json()
    return {o["id"]: o for o in body.get("objects", [])}


def community_id(hub: Any) -> int:
    with make_sessionmaker(hub.engine)() as s:
        return s.get(Collection, hub.collection).community_id


def pre_json(text: str) -> dict[str, Any]:
    match = re.search(r'<pre class="stix-json"[^>]*>(.*?)</pre>', text, re.S)
    assert match, "no STIX JSON on the page"
    return json.loads(html.unescape(match.group(1)))


def stored(hub: Any) -> tuple[int, int]:
    with make_sessionmaker(hub.engine)() as s:
        objects = s.scalar(
            select(func.count()).select_from(StixObject).where(StixObject.collection_id == hub.collection)
        )
        shares = s.scalar(select(func.count()).select_from(Share).where(Share.collection_id == hub.collection))
    return objects, shares


def share(c: TestClient, hub: Any, payload: Any, level: str, recipients: list[int] = (), token: str | None = None):
    text = payload if isinstance(payload, str) else json.dumps(payload)
    data: dict[str, Any] = {"stix": text, "tlp": level, "recipients": [str(r) for r in recipients]}
    if token is not False:
        data["csrf_token"] = csrf(c) if token is None else token
    return c.post(f"/sharing/collections/{hub.collection}/share", data=data, follow_redirects=False)


# ---------------------------------------------------------------- access


def test_pages_need_a_signed_in_user(hub):
    obj = indicator(1, markings=[IDS["clear"]])
    hub.post("producer", [obj])
    urls = [
        "/sharing",
        f"/sharing/communities/{community_id(hub)}",
        f"/sharing/collections/{hub.collection}",
        f"/sharing/collections/{hub.collection}/objects/{obj['id']}",
        f"/sharing/collections/{hub.collection}/share",
        "/sharing/peers",
    ]
    anonymous = browser(hub, None)
    for url in urls:
        r = anonymous.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), url
    producer = browser(hub, "producer")
    for url in urls:
        r = producer.get(url)
        assert r.status_code == 200, (url, r.text[:500])
        assert r.text.count("<h1") == 1, url
        assert "<script>" not in r.text and " style=" not in r.text, url  # strict CSP: no inline script/style
    viewer = browser(hub, "noparty")  # signed in, no organisation: reads CLEAR only, may not share
    for url in urls[:4] + urls[5:]:
        assert viewer.get(url).status_code == 200, url
    assert viewer.get(urls[4]).status_code == 403
    assert producer.get("/sharing/collections/00000000-0000-4000-8000-000000000000").status_code == 404


def test_overview_lists_collections_and_my_communities(hub):
    hub.post("producer", [indicator(i, markings=[IDS[lv]]) for i, lv in enumerate(("clear", "green", "red"))])
    text = browser(hub, "producer").get("/sharing").text
    assert f"/sharing/collections/{hub.collection}" in text and f"/sharing/communities/{community_id(hub)}" in text
    assert f"/sharing/collections/{hub.collection}/share" in text  # the producer may write
    member = browser(hub, "member").get("/sharing").text
    assert f"/sharing/communities/{community_id(hub)}" in member
    assert f"/sharing/collections/{hub.collection}/share" not in member  # read only
    outsider = browser(hub, "outsider").get("/sharing").text
    assert "belongs to no sharing community" in outsider


# ---------------------------------------------------------------- the object browser and TLP


def test_browser_shows_what_taxii_shows_and_never_red_to_non_recipients(hub):
    objs = {lv: indicator(i, markings=[IDS[lv]], name=f"Level {lv} object") for i, lv in enumerate(tlp.LEVELS)}
    unmarked = indicator(9, markings=[], name="Unmarked object")  # node default: RED
    hub.post("producer", [*objs.values(), unmarked])
    expected = {
        "producer": {*tlp.LEVELS, "unmarked"},
        "member": {"clear", "green", "amber", "amber+strict"},
        "client": {"clear", "amber"},
        "outsider": {"clear"},
        "noparty": {"clear"},
    }
    ids = {lv: o["id"] for lv, o in objs.items()} | {"unmarked": unmarked["id"]}
    for who in READERS:
        c = browser(hub, who)
        text = c.get(f"/sharing/collections/{hub.collection}").text
        seen = page_ids(hub, text)
        assert seen == set(taxii_latest(hub, who)), who
        assert seen == {ids[lv] for lv in expected[who]}, who
        assert f"{len(seen)} object" in text
        for lv, oid in ids.items():
            if lv not in expected[who]:
                assert oid not in text, (who, lv)
                assert f"Level {lv} object" not in text and (lv != "unmarked" or "Unmarked object" not in text)
                assert c.get(f"/sharing/collections/{hub.collection}/objects/{oid}").status_code == 404, (who, lv)
        if who != "producer":
            assert 'class="tlp tlp-red"' not in text, who  # no RED badge (the filter menu names the level)


def test_browser_badges_filters_and_paging(hub, monkeypatch):
    objs = [indicator(i, markings=[IDS[lv]]) for i, lv in enumerate(tlp.LEVELS)]
    objs.append({**indicator(7, markings=[IDS["green"]]), "type": "indicator"})
    hub.post("producer", objs)
    c = browser(hub, "producer")
    text = c.get(f"/sharing/collections/{hub.collection}").text
    for label, cls in (
        ("CLEAR", "clear"),
        ("GREEN", "green"),
        ("AMBER", "amber"),
        ("AMBER+STRICT", "amber-strict"),
        ("RED", "red"),
    ):
        assert f'<span class="tlp tlp-{cls}">TLP:{label}</span>' in text
    green = c.get(f"/sharing/collections/{hub.collection}", params={"tlp": "green"}).text
    assert page_ids(hub, green) == {objs[1]["id"], objs[5]["id"]}
    assert page_ids(hub, c.get(f"/sharing/collections/{hub.collection}", params={"type": "malware"}).text) == set()
    bad = c.get(f"/sharing/collections/{hub.collection}", params={"tlp": "purple", "type": "<b>"})
    assert bad.status_code == 200 and "Some filters were ignored" in bad.text and "<b>" not in bad.text
    monkeypatch.setattr(sharing_pages, "PAGE_SIZE", 4)
    first = c.get(f"/sharing/collections/{hub.collection}").text
    more = re.search(r'rel="next" href="([^"]+)"', first)
    assert more, "no next page link"
    second = c.get(html.unescape(more.group(1))).text
    one, two = page_ids(hub, first), page_ids(hub, second)
    assert len(one) == 4 and len(two) == 2 and not one & two
    assert one | two == {o["id"] for o in objs}
    assert c.get(f"/sharing/collections/{hub.collection}", params={"before": "junk"}).status_code == 200


def test_object_page_hides_granular_fields_like_taxii(hub):
    secret = "the description only producers may read"
    obj = indicator(
        3,
        markings=[IDS["green"]],
        description=secret,
        granular_markings=[{"marking_ref": IDS["red"], "selectors": ["description"]}],
    )
    hub.post("producer", [obj])
    url = f"/sharing/collections/{hub.collection}/objects/{obj['id']}"
    for who in ("producer", "member"):
        r = browser(hub, who).get(url)
        assert r.status_code == 200
        shown = pre_json(r.text)
        assert shown == taxii_latest(hub, who)[obj["id"]], who
        assert (secret in r.text) is (who == "producer"), who
    assert "description" not in pre_json(browser(hub, "member").get(url).text)
    assert browser(hub, "outsider").get(url).status_code == 404


def test_object_page_version_history(hub):
    oid = f"indicator--{uuid.uuid4()}"
    v1 = indicator(1, oid=oid, markings=[IDS["green"]], modified="2024-01-15T00:00:00.000Z", name="First")
    v2 = indicator(1, oid=oid, markings=[IDS["red"]], modified="2024-02-15T00:00:00.000Z", name="Second")
    v3 = indicator(1, oid=oid, markings=[IDS["clear"]], modified="2024-03-15T00:00:00.000Z", name="Third")
    hub.post("producer", [v1, v2, v3])
    url = f"/sharing/collections/{hub.collection}/objects/{oid}"
    producer = browser(hub, "producer").get(url).text
    for stamp in ("2024-01-15T00:00:00.000Z", "2024-02-15T00:00:00.000Z", "2024-03-15T00:00:00.000Z"):
        assert stamp in producer
    assert "TLP:RED" in producer and "TLP:GREEN" in producer and "TLP:CLEAR" in producer
    member = browser(hub, "member")
    text = member.get(url).text
    assert "2024-02-15T00:00:00.000Z" not in text and "Second" not in text and "TLP:RED" not in text
    assert "2024-01-15T00:00:00.000Z" in text and pre_json(text)["name"] == "Third"
    older = member.get(url, params={"version": "2024-01-15T00:00:00.000Z"}).text
    assert pre_json(older)["name"] == "First" and "earlier version" in older
    hidden = member.get(url, params={"version": "2024-02-15T00:00:00.000Z"}).text
    assert "Second" not in hidden and pre_json(hidden)["name"] == "Third"  # a hidden version is never shown
    outsider = browser(hub, "outsider").get(url).text
    assert "2024-01-15T00:00:00.000Z" not in outsider and "2024-03-15T00:00:00.000Z" in outsider


# ---------------------------------------------------------------- the share dialog


def test_share_dialog_marks_and_names_recipients(hub):
    c = browser(hub, "producer")
    form = c.get(f"/sharing/collections/{hub.collection}/share")
    assert form.status_code == 200 and 'name="csrf_token"' in form.text
    assert f'value="{hub.parties["member"]}"' in form.text  # recipients to pick from
    red = [indicator(i, markings=[]) for i in range(2)]
    r = share(c, hub, red, "red", [hub.parties["member"]])
    assert r.status_code == 200 and "Shared 2 objects" in r.text
    for who, sees in (("member", True), ("outsider", False), ("client", False), ("producer", True)):
        got = taxii_latest(hub, who)
        for o in red:
            assert (o["id"] in got) is sees, who
            if sees:
                assert got[o["id"]]["object_marking_refs"] == [IDS["red"]]
    amber = indicator(5, markings=[])
    r = share(
        c,
        hub,
        {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [amber]},
        "amber",
        [hub.parties["outsider"]],
    )
    assert r.status_code == 200
    assert amber["id"] in taxii_latest(hub, "outsider")
    assert amber["id"] not in taxii_latest(hub, "member")  # named recipients replace the community default
    assert amber["id"] in page_ids(hub, browser(hub, "outsider").get(f"/sharing/collections/{hub.collection}").text)
    # GREEN: recipients ignored; an object already carrying a TLP keeps it
    statement = "marking-definition--" + str(uuid.uuid4())
    plain, marked = indicator(6, markings=[statement]), indicator(7, markings=[IDS["clear"]])
    r = share(c, hub, [plain, marked], "green", [hub.parties["outsider"]])
    assert r.status_code == 200
    mine = taxii_latest(hub, "producer")
    assert mine[plain["id"]]["object_marking_refs"] == [statement, IDS["green"]]
    assert mine[marked["id"]]["object_marking_refs"] == [IDS["clear"]]
    assert plain["id"] not in taxii_latest(hub, "outsider") and marked["id"] in taxii_latest(hub, "outsider")


def test_share_dialog_reports_failures_and_writes_nothing_when_malformed(hub):
    c = browser(hub, "producer")
    before = stored(hub)
    for bad in ("{not json", "", "42", '{"type": "bundle", "objects": 3}', "[]"):
        r = share(c, hub, bad, "green")
        assert r.status_code == 422 and "Nothing was shared" in r.text, bad
    assert share(c, hub, [indicator()], "purple").status_code == 422
    assert share(c, hub, [indicator()], "red", [999_999_999]).status_code == 422
    assert stored(hub) == before  # no object, no share recorded
    good = indicator(2, markings=[])
    r = share(c, hub, [good, {"type": "indicator", "id": "nonsense"}], "green")
    assert r.status_code == 200 and "Shared 1 of 2 objects" in r.text and "Refused" in r.text and "nonsense" in r.text
    assert good["id"] in taxii_latest(hub, "member")


def test_share_dialog_refuses_readers_and_requests_without_csrf(hub):
    payload = [indicator(1, markings=[])]
    before = stored(hub)
    for who in ("member", "outsider", "client", "noparty"):
        c = browser(hub, who)
        assert c.get(f"/sharing/collections/{hub.collection}/share").status_code == 403, who
        assert share(c, hub, payload, "green").status_code == 403, who
    producer = browser(hub, "producer")
    assert share(producer, hub, payload, "green", token=False).status_code == 403
    assert share(producer, hub, payload, "green", token="forged").status_code == 403
    assert stored(hub) == before


def test_user_content_is_escaped(hub):
    c = browser(hub, "producer")
    evil = indicator(1, markings=[], name='<script>alert("x")</script>', description="<img src=x onerror=alert(1)>")
    r = share(c, hub, [evil], "green")
    assert r.status_code == 200
    for url in (
        f"/sharing/collections/{hub.collection}",
        f"/sharing/collections/{hub.collection}/objects/{evil['id']}",
    ):
        text = c.get(url).text
        assert "<script>alert" not in text and "<img src=x" not in text, url
        assert "&lt;script&gt;alert" in text, url
    r = share(c, hub, "</textarea><script>alert(1)</script>", "green")
    assert r.status_code == 422 and "<script>alert" not in r.text and "&lt;/textarea&gt;&lt;script&gt;" in r.text


# ---------------------------------------------------------------- communities


def test_admin_manages_members(hub, unique):
    with unit_of_work(make_sessionmaker(hub.engine)) as s:
        accounts.create_user(s, username=f"admin-{unique}", password=PASSWORD, role="admin")
    green = indicator(1, markings=[IDS["green"]])
    hub.post("producer", [green])
    cid = community_id(hub)
    url = f"/sharing/communities/{cid}"
    admin = browser(hub, f"admin-{unique}")
    page = admin.get(url).text
    assert "Add a member" in page and f"producer {unique}" in page
    # a member sees the members but no form; an outsider sees neither
    member_page = browser(hub, "member").get(url).text
    assert f"producer {unique}" in member_page and "Add a member" not in member_page
    outsider = browser(hub, "outsider")
    assert "visible to members" in outsider.get(url).text
    assert (
        outsider.post(
            f"{url}/members", data={"party_id": hub.parties["outsider"], "can_read": "on", "csrf_token": csrf(outsider)}
        ).status_code
        == 403
    )
    assert green["id"] not in taxii_latest(hub, "outsider")
    r = admin.post(
        f"{url}/members",
        data={"party_id": hub.parties["outsider"], "can_read": "on", "csrf_token": csrf(admin)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert green["id"] in taxii_latest(hub, "outsider")  # now a member: GREEN is visible
    assert green["id"] in page_ids(hub, outsider.get(f"/sharing/collections/{hub.collection}").text)
    assert admin.post(f"{url}/members", data={"party_id": hub.parties["outsider"]}).status_code == 403  # no CSRF
    assert admin.post(f"{url}/members", data={"party_id": "x", "csrf_token": csrf(admin)}).status_code == 422
    r = admin.post(
        f"{url}/members/{hub.parties['outsider']}/remove", data={"csrf_token": csrf(admin)}, follow_redirects=False
    )
    assert r.status_code == 303 and green["id"] not in taxii_latest(hub, "outsider")


# ---------------------------------------------------------------- federation status


def test_peers_page_shows_status_without_secrets(hub, unique):
    fed = pytest.importorskip("accord.sharing.federation_models")
    now = dt.datetime.now(dt.UTC)
    with unit_of_work(make_sessionmaker(hub.engine)) as s:
        ok = fed.Peer(
            name=f"ok-{unique}",
            base_url="https://ok.example",
            token_sealed="SEALED-SECRET",
            party_id=hub.parties["outsider"],
        )
        down = fed.Peer(
            name=f"down-{unique}",
            base_url="https://down.example",
            token_sealed="SEALED-SECRET",
            party_id=hub.parties["client"],
        )
        s.add_all([ok, down])
        s.flush()
        s.add_all(
            [
                fed.FederationLink(
                    peer_id=ok.id,
                    local_collection_id=hub.collection,
                    remote_collection_id="r1",
                    direction="pull",
                    objects_after=1_700_000_000_000_000,
                    last_attempt=now - dt.timedelta(minutes=5),
                    last_success=now - dt.timedelta(minutes=5),
                ),
                fed.FederationLink(
                    peer_id=down.id,
                    local_collection_id=hub.collection,
                    remote_collection_id="r2",
                    direction="push",
                    last_attempt=now,
                    last_success=now - dt.timedelta(hours=3),
                    last_error="<b>connection refused</b>",
                    failures=4,
                    next_attempt=now + dt.timedelta(minutes=8),
                ),
            ]
        )
    status = {p["name"]: p for p in sharing_pages.peer_status(make_sessionmaker(hub.engine)())}
    assert status[f"ok-{unique}"]["lag"] == "5 min" and not status[f"ok-{unique}"]["failing"]
    assert status[f"down-{unique}"]["failing"] and status[f"down-{unique}"]["lag"] == "3 h"
    with unit_of_work(make_sessionmaker(hub.engine)) as s:
        accounts.create_user(s, username=f"admin-{unique}", password=PASSWORD, role="admin")
    admin = browser(hub, f"admin-{unique}").get("/sharing/peers").text
    assert f"ok-{unique}" in admin and f"down-{unique}" in admin and "in sync" in admin and "failing" in admin
    assert "&lt;b&gt;connection refused&lt;/b&gt;" in admin and "<b>connection" not in admin
    assert "SEALED-SECRET" not in admin
    viewer = browser(hub, "member").get("/sharing/peers").text
    assert "failing" in viewer and "connection refused" not in viewer and "SEALED-SECRET" not in viewer
