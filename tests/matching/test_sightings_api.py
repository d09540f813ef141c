"""The sightings REST API (SQLite and PostgreSQL): lists with filters and pages, one sighting as JSON and as STIX,
incident links, sharing back to the hub, TLP, problem+json errors naming the field, permissions and CSRF."""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from stix2validator import ValidationOptions, validate_instance

from accord.audit.models import AuditEntry
from accord.auth import service as accounts
from accord.db import make_sessionmaker, unit_of_work
from tests.conftest_helpers import PASSWORD, login

from .test_sightings import Hub, WarningLists, indicator, load, make_hub, match, new_incident, publish, record, sid

API = "/api/v1/sightings"


def problems(resp: Any, status: int) -> set[str]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
    body = resp.json()
    assert body["status"] == status and body["title"]
    return {e["field"] for e in body.get("errors", [])}


def client_for(app: Any, engine: Any, username: str, scopes: tuple[str, ...] = ("read", "write")) -> TestClient:
    with unit_of_work(make_sessionmaker(engine)) as s:
        _token, secret = accounts.create_token(s, username, name="sightings", scopes=list(scopes))
    c = TestClient(app)
    c.headers["Authorization"] = f"Bearer {secret}"
    return c


def hub_clients(app: Any, hub: Hub) -> dict[str, TestClient]:
    return {who: client_for(app, hub.engine, user.username) for who, user in hub.users.items()}


def test_list_one_and_stix(app: Any, engine: Any, unique: str) -> None:
    hub = make_hub(engine, unique)
    c = hub_clients(app, hub)["cert"]
    ind = publish(hub, indicator("green"))
    ods = [sid("observed-data"), sid("observed-data")]
    record(engine, [match(ind, [ods[0]], 1, 2, 2, "198.51.100.1"), match(ind, [ods[1]], 3, 4, 1, "198.51.100.1")])
    s = load(engine, ind)

    r = c.get(API, params={"indicator": ind})
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert r.json()["next_cursor"] is None
    assert {
        k: item[k] for k in ("stix_id", "indicator_id", "count", "tlp", "collection_id", "suppressed", "shared")
    } == {
        "stix_id": s.stix_id,
        "indicator_id": ind,
        "count": 3,
        "tlp": "green",
        "collection_id": hub.collection,
        "suppressed": False,
        "shared": False,
    }
    assert (item["first_seen"], item["last_seen"]) == ("2026-03-01T09:00:00.000000Z", "2026-03-01T12:00:00.000000Z")

    for key in (s.id, s.stix_id):
        one = c.get(f"{API}/{key}").json()
        assert [o["observed_data_id"] for o in one["observations"]] == ods
        assert one["observations"][0]["evidence"] == [
            {"object_type": "ipv4-addr", "path": "value", "value": "198.51.100.1"}
        ]
        assert one["shares"] == []
    r = c.get(f"{API}/{s.id}", params={"format": "stix"})
    assert r.headers["content-type"].startswith("application/stix+json")
    stix = r.json()
    assert stix["id"] == s.stix_id and stix["count"] == 3 and sorted(stix["observed_data_refs"]) == sorted(ods)
    assert validate_instance(stix, ValidationOptions(version="2.1")).is_valid

    by_indicator = c.get(f"/api/v1/indicators/{ind}/sightings").json()
    assert [x["stix_id"] for x in by_indicator["items"]] == [s.stix_id]
    assert c.get(f"/api/v1/indicators/{sid('indicator')}/sightings").json() == {"items": [], "next_cursor": None}


def test_pages_and_filters(app: Any, engine: Any, client: Any, unique: str) -> None:
    incident = new_incident(engine, unique)
    inds = [sid("indicator") for _ in range(3)]
    lists = WarningLists({"dns": ("Public DNS resolvers", {"8.8.8.8"})})
    batch = [match(i, [sid("observed-data")], n, n + 1, 1, "8.8.8.8" if n == 0 else "x") for n, i in enumerate(inds)]
    record(engine, batch, lists)
    for i in inds:
        assert client.put(f"{API}/{load(engine, i).id}/incident", json={"incident_id": incident}).status_code == 200
    url = f"/api/v1/incidents/{incident}/sightings"
    first = client.get(url, params={"limit": 2}).json()
    second = client.get(url, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [x["indicator_id"] for x in first["items"] + second["items"]] == inds[::-1]
    assert second["next_cursor"] is None
    quiet_only = client.get(API, params={"incident": incident, "suppressed": "true"}).json()["items"]
    assert [x["indicator_id"] for x in quiet_only] == [inds[0]]
    since = {"incident": incident, "since": "2026-03-01T09:30:00Z"}
    assert [x["indicator_id"] for x in client.get(API, params=since).json()["items"]] == [inds[2], inds[1]]
    quiet = client.get(f"{API}/{load(engine, inds[0]).id}").json()
    assert quiet["suppressed"]
    assert quiet["suppressed_by"] == [{"list_id": "dns", "name": "Public DNS resolvers", "value": "8.8.8.8"}]
    assert quiet["observations"][0]["suppressed_by"][0]["matched"] == "8.8.8.8"


def test_errors_are_problem_json_naming_the_field(client: Any, engine: Any) -> None:
    ind = sid("indicator")
    record(engine, [match(ind, [sid("observed-data")], 1, 2, 1)])
    key = load(engine, ind).id
    assert problems(client.get(f"{API}/2147483647"), 404) == set()
    assert problems(client.get(f"{API}/{sid('sighting')}"), 404) == set()
    assert problems(client.get(f"{API}/not-a-sighting"), 422) == {"key"}
    assert problems(client.get(API, params={"indicator": "malware--1"}), 422) == {"indicator"}
    assert problems(client.get(API, params={"since": "yesterday", "suppressed": "maybe"}), 422) == {
        "since",
        "suppressed",
    }
    assert problems(client.get(API, params={"limit": 10**5}), 422) == {"limit"}
    assert problems(client.get(API, params={"cursor": "bm9wZQ"}), 400) == {"cursor"}
    naive = base64.urlsafe_b64encode(b'["-last_seen","2026-01-01T00:00:00",1]').decode().rstrip("=")
    assert problems(client.get(API, params={"cursor": naive}), 400) == {"cursor"}  # a forged cursor
    assert problems(client.get(API, params={"since": "0001-01-01T00:00:00+14:00"}), 422) == {"since"}
    assert problems(client.get(f"{API}/{key}", params={"format": "xml"}), 422) == {"format"}
    assert problems(client.put(f"{API}/{key}/incident", json={}), 422) == {"incident_id"}
    bad = client.put(f"{API}/{key}/incident", json={"incident_id": "x", "extra": 1})
    assert problems(bad, 422) == {"incident_id", "extra"}
    assert problems(client.put(f"{API}/{key}/incident", json={"incident_id": 2147483647}), 422) == {"incident_id"}
    malformed = client.put(f"{API}/{key}/incident", content=b"{", headers={"Content-Type": "application/json"})
    assert problems(malformed, 422)
    assert problems(client.get("/api/v1/incidents/2147483647/sightings"), 404) == set()
    assert problems(client.get("/api/v1/indicators/not-an-id/sightings"), 422) == {"stix_id"}
    assert problems(client.post(f"{API}/2147483647/share"), 404) == set()


def test_link_and_unlink_are_audited(client: Any, engine: Any, session: Any, unique: str) -> None:
    ind = sid("indicator")
    record(engine, [match(ind, [sid("observed-data")], 1, 2, 1)])
    s = load(engine, ind)
    incident = new_incident(engine, unique)
    r = client.put(f"{API}/{s.stix_id}/incident", json={"incident_id": incident})
    assert r.status_code == 200 and r.json()["incident_id"] == incident
    assert [x["stix_id"] for x in client.get(f"/api/v1/incidents/{incident}/sightings").json()["items"]] == [s.stix_id]
    r = client.delete(f"{API}/{s.id}/incident")
    assert r.status_code == 200 and r.json()["incident_id"] is None
    assert client.get(f"/api/v1/incidents/{incident}/sightings").json()["items"] == []
    actions = session.execute(
        select(AuditEntry.action, AuditEntry.actor).where(AuditEntry.key == s.stix_id).order_by(AuditEntry.id)
    ).all()
    assert actions == [("link-incident", "admin"), ("unlink-incident", "admin")]


def test_share_back_to_the_community(app: Any, engine: Any, unique: str, session: Any) -> None:
    hub = make_hub(engine, unique)
    c = hub_clients(app, hub)
    ind = publish(hub, indicator("amber"))
    record(engine, [match(ind, [sid("observed-data")], 1, 2, 1, "198.51.100.1")])
    s = load(engine, ind)

    assert problems(c["member"].post(f"{API}/{s.id}/share"), 403) == set()  # reads the community, may not write
    r = c["cert"].post(f"{API}/{s.id}/share")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["share"]["tlp"] == "amber" and body["share"]["recipients"] == [hub.parties["producer"]]
    assert body["sighting"]["object_marking_refs"] == ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]
    assert c["cert"].get(f"{API}/{s.id}").json()["shared"] is True
    assert problems(c["cert"].post(f"{API}/{s.id}/share"), 409) == {"sighting"}  # this version is already shared
    assert session.scalar(select(AuditEntry.after).where(AuditEntry.action == "share", AuditEntry.key == s.stix_id))

    # the hub's TAXII face: the producer receives the sighting, the member (who saw the indicator) does not
    taxii = f"/taxii2/accord/collections/{hub.collection}/objects/"
    accept = {"Accept": "application/taxii+json;version=2.1"}
    got = {who: {o["id"] for o in c[who].get(taxii, headers=accept).json().get("objects", [])} for who in c}
    assert s.stix_id in got["producer"] and s.stix_id in got["cert"]
    assert s.stix_id not in got["member"] and s.stix_id not in got["client"] and ind in got["member"]
    shared = next(
        json.dumps(o) for o in c["producer"].get(taxii, headers=accept).json()["objects"] if o["id"] == s.stix_id
    )
    assert json.loads(shared)["sighting_of_ref"] == ind


def test_refusals(app: Any, engine: Any, unique: str) -> None:
    hub = make_hub(engine, unique)
    c = hub_clients(app, hub)["cert"]
    listed, local = publish(hub, indicator("green")), sid("indicator")
    lists = WarningLists({"dns": ("Public DNS resolvers", {"8.8.8.8"})})
    batch = [match(listed, [sid("observed-data")], 1, 2, 1, "8.8.8.8"), match(local, [sid("observed-data")], 1, 2, 1)]
    record(engine, batch, lists)
    r = c.post(f"{API}/{load(engine, listed).id}/share")
    assert problems(r, 409) == {"sighting"} and "warning list" in r.json()["errors"][0]["reason"]
    r = c.post(f"{API}/{load(engine, local).id}/share")
    assert problems(r, 409) == {"sighting"} and "known only to this node" in r.json()["detail"]


def test_readers_see_only_what_tlp_lets_them(app: Any, engine: Any, unique: str) -> None:
    hub = make_hub(engine, unique)
    c = hub_clients(app, hub)
    red = publish(hub, indicator("red"), recipients=["cert"])
    record(engine, [match(red, [sid("observed-data")], 1, 2, 1, "198.51.100.9")])
    s = load(engine, red)
    for who, status in (("cert", 200), ("producer", 200), ("member", 404), ("outsider", 404), ("client", 404)):
        client = c[who]
        assert client.get(f"{API}/{s.id}").status_code == status, who
        listed = {x["stix_id"] for x in client.get(API, params={"indicator": red}).json()["items"]}
        assert (s.stix_id in listed) is (status == 200), who
    assert c["member"].put(f"{API}/{s.id}/incident", json={"incident_id": 1}).status_code == 404


def test_permissions(
    app: Any, engine: Any, role_clients: dict[str, Any], accounts: dict[str, str], unique: str
) -> None:
    ind = sid("indicator")  # local: every signed-in reader may see it
    record(engine, [match(ind, [sid("observed-data")], 1, 2, 1)])
    key = load(engine, ind).id
    incident = new_incident(engine, unique)
    r = role_clients["anonymous"].get(API)
    assert problems(r, 401) == set() and "Bearer" in r.headers["WWW-Authenticate"]
    assert (
        problems(role_clients["anonymous"].put(f"{API}/{key}/incident", json={"incident_id": incident}), 401) == set()
    )
    for role in ("viewer", "analyst", "liaison", "admin"):
        assert role_clients[role].get(f"{API}/{key}").status_code == 200, role
    for role in ("viewer", "liaison"):
        assert problems(role_clients[role].put(f"{API}/{key}/incident", json={"incident_id": incident}), 403) == set()
        assert problems(role_clients[role].post(f"{API}/{key}/share"), 403) == set()
        assert problems(role_clients[role].delete(f"{API}/{key}/incident"), 403) == set()
    assert role_clients["analyst"].put(f"{API}/{key}/incident", json={"incident_id": incident}).status_code == 200
    reader = client_for(app, engine, "analyst", scopes=("read",))
    assert reader.get(f"{API}/{key}").status_code == 200
    assert problems(reader.delete(f"{API}/{key}/incident"), 403) == set()


def test_browser_writes_need_the_csrf_token(app: Any, engine: Any, accounts: dict[str, str], unique: str) -> None:
    ind = sid("indicator")
    record(engine, [match(ind, [sid("observed-data")], 1, 2, 1)])
    incident = new_incident(engine, unique)
    url = f"{API}/{load(engine, ind).id}/incident"
    browser = TestClient(app)
    assert login(browser, "analyst", PASSWORD).status_code == 303
    assert problems(browser.put(url, json={"incident_id": incident}), 403) == set()
    r = browser.put(
        url, json={"incident_id": incident}, headers={"X-CSRF-Token": browser.cookies.get("accord_csrf", "")}
    )
    assert r.status_code == 200, r.text
