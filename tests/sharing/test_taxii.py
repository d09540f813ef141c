"""TAXII 2.1 server: requirements of the OASIS standard, one test (or a few) per rule."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from .conftest import TAXII, basic, indicator

STIX = "application/stix+json;version=2.1"


def is_taxii_error(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == TAXII
    body = r.json()
    assert body["title"] and body.get("http_status", str(status)) == str(status)


def test_discovery_api_root_and_collections(hub):
    c = hub.client("producer")
    d = c.get("/taxii2/")
    assert d.status_code == 200 and d.headers["content-type"] == TAXII
    assert d.json()["api_roots"] and d.json()["default"].endswith("/taxii2/accord/")
    root = c.get("/taxii2/accord/").json()
    assert root["versions"] == [TAXII] and root["max_content_length"] > 0
    colls = c.get("/taxii2/accord/collections/").json()["collections"]
    mine = next(x for x in colls if x["id"] == hub.collection)
    assert mine["can_read"] and mine["can_write"] and mine["media_types"] == [STIX]
    assert hub.client("member").get(hub.url()).json()["can_write"] is False
    is_taxii_error(c.get("/taxii2/nope/"), 404)
    is_taxii_error(c.get("/taxii2/accord/collections/00000000-0000-4000-8000-000000000000/"), 404)


def test_media_type_negotiation(hub):
    c = TestClient(hub.app)
    auth = basic(hub.users["producer"])
    bare = dict(auth, Accept="application/taxii+json")
    assert c.get("/taxii2/", headers=bare).status_code == 200  # bare media type = latest (2.1)
    is_taxii_error(c.get("/taxii2/", headers=dict(auth, Accept="application/json")), 406)
    is_taxii_error(c.get("/taxii2/", headers=dict(auth, Accept="application/taxii+json;version=2.0")), 406)
    r = c.post(hub.url("objects/"), json={"objects": []}, headers=dict(auth, **{"Content-Type": "application/json"}))
    is_taxii_error(r, 415)


def test_authentication(hub):
    c = TestClient(hub.app)
    r = c.get("/taxii2/", headers={"Accept": TAXII})
    is_taxii_error(r, 401)
    assert "Basic" in r.headers["www-authenticate"] and "Bearer" in r.headers["www-authenticate"]
    is_taxii_error(c.get("/taxii2/", headers={"Accept": TAXII, "Authorization": "Basic bm86cGU="}), 401)


def test_add_objects_status_and_duplicates(hub):
    objs = [indicator(i) for i in range(3)]
    r = hub.post("producer", objs + [{"type": "indicator", "id": "nonsense"}])
    assert r.status_code == 202 and r.headers["content-type"] == TAXII
    status = r.json()
    assert status["status"] == "complete" and status["success_count"] == 3 and status["failure_count"] == 1
    assert status["failures"][0]["message"]
    again = hub.post("producer", objs).json()  # exact duplicates are not failures
    assert again["success_count"] == 3 and again["failure_count"] == 0
    assert len(hub.client("producer").get(hub.url("objects/")).json()["objects"]) == 3
    got = hub.client("producer").get(f"/taxii2/accord/status/{status['id']}/").json()
    assert got["total_count"] == 4 and got["success_count"] == 3
    is_taxii_error(hub.client("member").get(f"/taxii2/accord/status/{status['id']}/"), 404)


def test_write_rights(hub):
    is_taxii_error(hub.post("member", [indicator()]), 403)  # reads only
    is_taxii_error(hub.post("outsider", [indicator()]), 403)


def test_objects_sorted_with_date_headers(hub):
    hub.post("producer", [indicator(i) for i in range(5)])
    r = hub.client("producer").get(hub.url("objects/"))
    objs = r.json()["objects"]
    manifest = hub.client("producer").get(hub.url("manifest/")).json()["objects"]
    added = [m["date_added"] for m in manifest]
    assert added == sorted(added) and len(set(added)) == len(added)
    assert [m["id"] for m in manifest] == [o["id"] for o in objs]
    assert r.headers["x-taxii-date-added-first"] == added[0]
    assert r.headers["x-taxii-date-added-last"] == added[-1]
    m = hub.client("producer").get(hub.url("manifest/"))
    assert m.headers["x-taxii-date-added-first"] == added[0]


def test_empty_results_omit_the_list(hub):
    body = hub.client("producer").get(hub.url("objects/")).json()
    assert body == {"more": False}


def test_match_filters_or_within_and_across(hub):
    ind = indicator(1)
    mal = {
        "type": "malware",
        "spec_version": "2.1",
        "id": f"malware--{uuid.uuid4()}",
        "name": "x",
        "is_family": False,
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "object_marking_refs": [ind["object_marking_refs"][0]],
    }
    other = indicator(2)
    hub.post("producer", [ind, mal, other])
    c = hub.client("producer")

    def ids(**params):
        return {o["id"] for o in c.get(hub.url("objects/"), params=params).json().get("objects", [])}

    assert ids(**{"match[type]": "indicator"}) == {ind["id"], other["id"]}
    assert ids(**{"match[type]": "indicator,malware"}) == {ind["id"], other["id"], mal["id"]}
    assert ids(**{"match[type]": "malware", "match[id]": ind["id"]}) == set()  # fields AND
    assert ids(**{"match[id]": f"{ind['id']},{mal['id']}"}) == {ind["id"], mal["id"]}
    assert ids(**{"match[spec_version]": "2.1", "match[type]": "malware"}) == {mal["id"]}
    assert ids(**{"match[spec_version]": "2.0"}) == set()


def test_versions_first_last_all(hub):
    oid = f"indicator--{uuid.uuid4()}"
    stamps = ["2024-01-01T00:00:00.000Z", "2024-02-01T00:00:00.000Z", "2024-03-01T00:00:00.000Z"]
    hub.post("producer", [indicator(0, oid=oid, modified=stamps[1])])
    hub.post("producer", [indicator(0, oid=oid, modified=stamps[2]), indicator(0, oid=oid, modified=stamps[0])])
    c = hub.client("producer")

    def versions(value=None):
        params = {"match[id]": oid} | ({"match[version]": value} if value else {})
        return [o["modified"] for o in c.get(hub.url("objects/"), params=params).json().get("objects", [])]

    assert versions() == [stamps[2]]  # default: last
    assert versions("first") == [stamps[0]]
    assert sorted(versions("all")) == stamps
    assert sorted(versions("first,last")) == [stamps[0], stamps[2]]
    assert versions(stamps[1]) == [stamps[1]]
    r = c.get(hub.url(f"objects/{oid}/versions/"))
    assert sorted(r.json()["versions"]) == stamps and "x-taxii-date-added-first" in r.headers
    one = c.get(hub.url(f"objects/{oid}/"), params={"match[version]": "all"}).json()["objects"]
    assert len(one) == 3


def test_added_after(hub):
    hub.post("producer", [indicator(1)])
    first = hub.client("producer").get(hub.url("manifest/")).json()["objects"][0]["date_added"]
    later = indicator(2)
    hub.post("producer", [later])
    got = hub.client("producer").get(hub.url("objects/"), params={"added_after": first}).json()["objects"]
    assert [o["id"] for o in got] == [later["id"]]


def test_pagination_by_limit_and_next(hub):
    hub.post("producer", [indicator(i) for i in range(23)])
    c = hub.client("producer")
    seen, token, pages = [], None, 0
    while True:
        params = {"limit": 5} | ({"next": token} if token else {})
        body = c.get(hub.url("objects/"), params=params).json()
        pages += 1
        seen += [o["id"] for o in body.get("objects", [])]
        if not body["more"]:
            assert "next" not in body
            break
        token = body["next"]
    assert pages == 5 and len(seen) == 23 == len(set(seen))
    # the token is re-checked: another query, another user, a forged token
    first = c.get(hub.url("objects/"), params={"limit": 5}).json()["next"]
    is_taxii_error(c.get(hub.url("objects/"), params={"limit": 5, "next": first, "match[type]": "malware"}), 400)
    is_taxii_error(hub.client("member").get(hub.url("objects/"), params={"next": first}), 400)
    is_taxii_error(c.get(hub.url("objects/"), params={"next": "garbage!!"}), 400)


def test_next_survives_another_server_process(hub):
    from accord.config import Settings
    from accord.web.app import create_app

    hub.post("producer", [indicator(i) for i in range(6)])
    token = hub.client("producer").get(hub.url("objects/"), params={"limit": 4}).json()["next"]
    other = TestClient(create_app(Settings(), engine=hub.engine))  # a second process: no shared memory
    rest = other.get(hub.url("objects/"), params={"limit": 4, "next": token}, headers=basic(hub.users["producer"]))
    assert rest.status_code == 200 and len(rest.json()["objects"]) == 2


def test_malformed_parameters_are_400(hub):
    c = hub.client("producer")
    for params in (
        {"limit": "0"},
        {"limit": "x"},
        {"limit": "-1"},
        {"added_after": "yesterday"},
        {"match[id]": "not-an-id"},
        {"match[type]": "Bad Type"},
        {"match[version]": "newest"},
        {"match[spec_version]": "two"},
        {"match[colour]": "red"},
        {"match[type]": ""},
    ):
        is_taxii_error(c.get(hub.url("objects/"), params=params), 400)
    is_taxii_error(c.get(hub.url("manifest/"), params={"limit": "abc"}), 400)
    r = c.post(hub.url("objects/"), content=b"{not json", headers={"Content-Type": TAXII})
    is_taxii_error(r, 400)


def test_get_and_delete_object(hub):
    obj = indicator(1)
    hub.post("producer", [obj])
    c = hub.client("producer")
    got = c.get(hub.url(f"objects/{obj['id']}/"))
    assert got.status_code == 200 and got.json()["objects"][0]["id"] == obj["id"]
    is_taxii_error(c.get(hub.url(f"objects/indicator--{uuid.uuid4()}/")), 404)
    is_taxii_error(hub.client("member").delete(hub.url(f"objects/{obj['id']}/")), 403)
    assert c.delete(hub.url(f"objects/{obj['id']}/")).status_code == 200
    is_taxii_error(c.get(hub.url(f"objects/{obj['id']}/")), 404)
    is_taxii_error(c.delete(hub.url(f"objects/{obj['id']}/")), 404)


def test_bearer_tokens_work_too(hub):
    from accord.auth import service as accounts
    from accord.db import make_sessionmaker, unit_of_work

    with unit_of_work(make_sessionmaker(hub.engine)) as s:
        _t, secret = accounts.create_token(s, hub.users["producer"], name="taxii", scopes=["read"])
    c = TestClient(hub.app)
    headers = {"Authorization": f"Bearer {secret}", "Accept": TAXII}
    assert c.get(hub.url(), headers=headers).status_code == 200
    r = c.post(hub.url("objects/"), json={"objects": [indicator()]}, headers=headers | {"Content-Type": TAXII})
    is_taxii_error(r, 403)  # a read-only token cannot add objects


def test_server_errors_are_taxii_errors_too(hub, monkeypatch):
    from accord.sharing import service

    def broken(_session):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(service, "list_collections", broken)
    c = TestClient(hub.app, raise_server_exceptions=False)
    r = c.get("/taxii2/accord/collections/", headers=basic(hub.users["producer"]))
    is_taxii_error(r, 500)
    assert "simulated" not in r.text  # no internals leak to the client
