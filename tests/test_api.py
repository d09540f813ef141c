"""REST API contract: CRUD, problem+json, ETags, filters, cursor pages, exports, search, profile."""

from __future__ import annotations

import csv
import io

SRC = {"sources": ["https://example.org/source"], "as_of": "2026-11-01"}


def problem_fields(resp):
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == resp.status_code and body["title"]
    return {e["field"] for e in body.get("errors", [])}


def make_org(client, code):
    r = client.post(
        "/api/v1/organisations", json={"code": code, "name": f"Test forum {code}", "kind": "regional", **SRC}
    )
    assert r.status_code == 201, r.text
    return r.json()


def make_incident(client, slug, **extra):
    body = {
        "slug": slug,
        "name": f"Operation {slug}",
        "operation_type": "espionage",
        "start_date": "2021-03-01",
        "receivers": [{"state_code": "EE", "category": "government"}],
        **SRC,
        **extra,
    }
    r = client.post("/api/v1/incidents", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_crud_round_trip_with_etags(client, unique):
    code = f"T{unique}".upper()
    org = make_org(client, code)
    r = client.get(f"/api/v1/organisations/{code}")
    assert r.status_code == 200 and r.json() == org
    etag = r.headers["etag"]
    assert client.patch(f"/api/v1/organisations/{code}", json={"name": "x"}).status_code == 428
    r = client.patch(f"/api/v1/organisations/{code}", json={"name": "Renamed"}, headers={"If-Match": etag})
    assert r.status_code == 200 and r.json()["name"] == "Renamed"
    assert r.headers["etag"] != etag
    stale = client.patch(f"/api/v1/organisations/{code}", json={"name": "Lost"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert client.get(f"/api/v1/organisations/{code}").json()["name"] == "Renamed"
    assert client.delete(f"/api/v1/organisations/{code}").status_code == 204
    assert client.get(f"/api/v1/organisations/{code}").status_code == 404


def test_invalid_input_names_each_field(client, unique):
    r = client.post(
        "/api/v1/memberships",
        json={
            "organisation_code": "NATO",
            "state_code": "UK",
            "joined": "2020-01-01",
            "left": "2019-01-01",
            "sources": ["not a url"],
            "as_of": "2026-01-01",
        },
    )
    assert r.status_code == 422
    assert problem_fields(r) == {"state_code", "left", "sources.0"}


def test_unknown_reference_and_duplicate(client, unique):
    r = client.post("/api/v1/memberships", json={"organisation_code": f"NOPE{unique}", "state_code": "FR", **SRC})
    assert r.status_code == 422 and problem_fields(r) == {"organisation_code"}
    r = client.post(
        "/api/v1/memberships", json={"organisation_code": "NATO", "state_code": "FR", "joined": "1949-08-24", **SRC}
    )
    assert r.status_code == 422 and "organisation_code,state_code,joined" in problem_fields(r)
    r = client.post("/api/v1/states", json={"code": "FR", "name": "France", **SRC})
    assert r.status_code == 422 and problem_fields(r) == {"code"}


def test_malformed_json_is_422(client):
    r = client.post("/api/v1/incidents", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and problem_fields(r)


def test_incident_end_before_start(client, unique):
    r = client.post(
        "/api/v1/incidents",
        json={
            "slug": f"bad-{unique}",
            "name": "x",
            "operation_type": "ddos",
            "start_date": "2020-05-01",
            "end_date": "2020-04-01",
            **SRC,
        },
    )
    assert r.status_code == 422 and problem_fields(r) == {"end_date"}


def test_incident_update_keeps_children_and_validates_merged(client, unique):
    inc = make_incident(client, f"upd-{unique}")
    url = f"/api/v1/incidents/{inc['id']}"
    etag = client.get(url).headers["etag"]
    r = client.patch(url, json={"end_date": "2020-01-01"}, headers={"If-Match": etag})
    assert r.status_code == 422 and problem_fields(r) == {"end_date"}
    r = client.patch(
        url, json={"receivers": [{"state_code": "LV", "category": "military"}]}, headers={"If-Match": etag}
    )
    assert r.status_code == 200
    assert r.json()["receivers"] == [{"state_code": "LV", "category": "military", "sector": None}]
    assert r.headers["etag"] != etag


def test_attribution_needs_exactly_one_attributor(client, unique):
    inc = make_incident(client, f"att-{unique}")
    base = {"incident_id": inc["id"], "basis": "third_party_government", "form": "political_statement", **SRC}
    r = client.post("/api/v1/attributions", json=base)
    assert r.status_code == 422 and problem_fields(r) == {"by_company"}
    r = client.post("/api/v1/attributions", json={**base, "by_state": "EE", "by_company": "Acme"})
    assert r.status_code == 422
    r = client.post(
        "/api/v1/attributions",
        json={**base, "by_state": "EE", "attributed_state": "RU", "joint_group": f"g-{unique}", "date": "2021-04-01"},
    )
    assert r.status_code == 201
    listed = client.get("/api/v1/attributions", params={"joint_group": f"g-{unique}"}).json()["items"]
    assert [a["by_state"] for a in listed] == ["EE"]


def test_incident_filters(client):
    def names(**params):
        return {i["name"] for i in client.get("/api/v1/incidents", params={"limit": 1000, **params}).json()["items"]}

    ru = names(attributed_state="RU")
    assert any("NotPetya" in n for n in ru)
    assert not any("WannaCry" in n for n in ru)
    assert any("WannaCry" in n for n in names(attributed_state="KP"))
    recent = client.get("/api/v1/incidents", params={"year_from": 2020, "limit": 1000}).json()["items"]
    assert recent and all(i["start_date"] >= "2020-01-01" for i in recent)
    ddos = client.get("/api/v1/incidents", params={"type": "ddos", "limit": 1000}).json()["items"]
    assert ddos and all(i["operation_type"] == "ddos" for i in ddos)
    assert any("Estonia" in n or "estonia" in n.lower() for n in names(receiver="EE", year_to=2008))
    bad = client.get("/api/v1/incidents", params={"attributed_state": "ZZ"})
    assert bad.status_code == 422 and problem_fields(bad) == {"attributed_state"}


def test_cursor_pages_cover_everything_once(client):
    seen, cursor = [], None
    while True:
        params = {"limit": 7, "sort": "-start_date"} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/incidents", params=params).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    every = client.get("/api/v1/incidents", params={"limit": 1000, "sort": "-start_date"}).json()["items"]
    assert [i["id"] for i in seen] == [i["id"] for i in every]
    dates = [i["start_date"] for i in every if i["start_date"]]
    assert dates == sorted(dates, reverse=True)


def test_bad_cursor_and_sort(client):
    assert client.get("/api/v1/incidents", params={"cursor": "garbage!"}).status_code == 422
    assert client.get("/api/v1/incidents", params={"cursor": "Zm9vYmFy"}).status_code == 400
    r = client.get("/api/v1/incidents", params={"sort": "nonsense"})
    assert r.status_code == 422 and problem_fields(r) == {"sort"}
    page = client.get("/api/v1/states", params={"limit": 2, "sort": "name"}).json()
    r = client.get("/api/v1/states", params={"limit": 2, "sort": "-name", "cursor": page["next_cursor"]})
    assert r.status_code == 400


def test_csv_and_json_export(client):
    r = client.get("/api/v1/commitments/export", params={"instrument": "BUDAPEST", "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows and all(row["instrument_code"] == "BUDAPEST" for row in rows)
    r = client.get("/api/v1/states/export", params={"format": "json", "region": "Oceania"})
    assert {s["code"] for s in r.json()} >= {"AU", "NZ", "FJ"}


def test_search(client):
    hits = client.get("/api/v1/search", params={"q": "NotPetya"}).json()["hits"]
    assert hits[0]["kind"] == "incident"
    hits = client.get("/api/v1/search", params={"q": "Fancy Bear"}).json()["hits"]
    assert any(h["kind"] == "actor" and h["name"] == "APT28" for h in hits)
    incidents = client.get("/api/v1/incidents", params={"q": "bundestag"}).json()["items"]
    assert incidents


def test_state_profile(client):
    p = client.get("/api/v1/states/RU/profile").json()
    assert p["state"]["name"]
    assert any(m["organisation_code"] == "COE" and not m["current"] for m in p["memberships"])
    assert any("NotPetya" in i["name"] for i in p["incidents_attributed_to"])
    assert any(r["by_organisation"] == "EU" for r in p["responses_received"])
    assert any(a["attack_id"] == "G0007" for a in p["sponsored_actors"])
    gb = client.get("/api/v1/states/gb/profile").json()
    assert any(a["joint"] for a in gb["attributions_made"])
    assert any(c["instrument_code"] == "BUDAPEST" for c in gb["commitments"])
    assert client.get("/api/v1/states/ZZ/profile").status_code == 404


def test_unknown_route_is_problem_json(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and problem_fields(r) == set()


def test_referenced_records_cannot_be_deleted(client):
    r = client.delete("/api/v1/states/FR")
    assert r.status_code == 409 and problem_fields(r) == {"code"}
    assert client.get("/api/v1/states/FR").status_code == 200
    apt28 = client.get("/api/v1/actors", params={"attack_id": "G0007"}).json()["items"][0]
    assert client.delete(f"/api/v1/actors/{apt28['id']}").status_code == 409


def test_deleting_an_incident_removes_its_attributions(client, unique):
    inc = make_incident(client, f"del-{unique}")
    body = {
        "incident_id": inc["id"],
        "by_state": "EE",
        "attributed_state": "RU",
        "basis": "receiver_government",
        "form": "political_statement",
        **SRC,
    }
    att = client.post("/api/v1/attributions", json=body).json()
    assert client.delete(f"/api/v1/incidents/{inc['id']}").status_code == 204
    assert client.get(f"/api/v1/attributions/{att['id']}").status_code == 404
