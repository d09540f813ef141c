"""The attribution workbench REST API (SQLite and PostgreSQL): hypotheses, graded evidence, ratings,
observations, the board, the sponsor-state roll-up; bad input, audit, permissions."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from accord.attribution import models, schemas
from accord.attribution.models import Evidence, Hypothesis, Rating
from accord.audit.models import AuditEntry
from tests.conftest_helpers import PASSWORD, login

SRC = {"sources": ["https://example.org/source"], "as_of": "2026-11-01"}


def problem_fields(resp: Any) -> set[str]:
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
    return {e["field"] for e in resp.json().get("errors", [])}


def make_incident(client: Any, unique: str) -> int:
    body = {"slug": f"wb-{unique}", "name": f"Workbench {unique}", "operation_type": "espionage", **SRC}
    r = client.post("/api/v1/incidents", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def actor(client: Any, attack_id: str) -> dict[str, Any]:
    items = client.get("/api/v1/actors", params={"attack_id": attack_id}).json()["items"]
    assert len(items) == 1, attack_id
    return items[0]  # type: ignore[no-any-return]


def base(incident: int) -> str:
    return f"/api/v1/incidents/{incident}/attribution"


def post(client: Any, url: str, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(url, json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def rate(client: Any, incident: int, e: int, h: int, rating: str | None, diag: str = "medium") -> Any:
    body = {"evidence_id": e, "hypothesis_id": h, "rating": rating, "diagnosticity": diag}
    return client.put(f"{base(incident)}/ratings", json=body)


def counts(session: Any) -> tuple[int, ...]:
    session.expire_all()
    return tuple(
        session.scalar(select(func.count()).select_from(m)) for m in (Hypothesis, Evidence, Rating, AuditEntry)
    )


def test_vocabularies_match_the_tables() -> None:
    assert get_args(schemas.CandidateKind) == models.CANDIDATE_KINDS
    assert get_args(schemas.EvidenceClass) == models.EVIDENCE_CLASSES
    assert get_args(schemas.RatingValue) == models.RATINGS
    assert get_args(schemas.Diagnosticity) == models.DIAGNOSTICITY


def test_workbench_round_trip_and_board(client: Any, unique: str, session: Any) -> None:
    start = session.scalar(select(func.max(AuditEntry.id)))  # SQLite may reuse the id of a deleted row
    inc = make_incident(client, unique)
    apt28 = actor(client, "G0007")
    h_ru = post(client, f"{base(inc)}/hypotheses", {"kind": "state", "state_code": "ru"})
    h_set = post(client, f"{base(inc)}/hypotheses", {"kind": "intrusion-set", "actor_id": apt28["id"]})
    h_crime = post(client, f"{base(inc)}/hypotheses", {"kind": "non-state", "label": "Criminal group"})
    assert h_ru["state_code"] == "RU" and h_ru["created_by"] == "admin"
    tradecraft = post(
        client,
        f"{base(inc)}/evidence",
        {"title": "X-Agent implant", "evidence_class": "malware", "reliability": "a", "credibility": 1},
    )
    infra = post(
        client,
        f"{base(inc)}/evidence",
        {
            "title": "C2 reused from 2016",
            "evidence_class": "infrastructure",
            "reliability": "B",
            "credibility": 2,
            "urls": ["https://example.org/report"],
            "observed_on": "2021-03-04",
        },
    )
    assert tradecraft["grade"] == "A1" and infra["urls"] == ["https://example.org/report"]
    for h in (h_ru, h_set):
        assert rate(client, inc, tradecraft["id"], h["id"], "consistent", "high").status_code == 200
        assert rate(client, inc, infra["id"], h["id"], "consistent").status_code == 200
    r = rate(client, inc, tradecraft["id"], h_crime["id"], "inconsistent", "high")
    assert r.status_code == 200 and r.json() == {
        "evidence_id": tradecraft["id"],
        "hypothesis_id": h_crime["id"],
        "rating": "inconsistent",
        "diagnosticity": "high",
    }
    assert len(client.get(f"{base(inc)}/ratings").json()["items"]) == 5

    board = client.get(f"{base(inc)}/board").json()
    assert board["incident"]["id"] == inc
    hyps = {h["id"]: h for h in board["hypotheses"]}
    assert hyps[h_ru["id"]]["candidate"] == "Russia" or "Russia" in hyps[h_ru["id"]]["candidate"]
    assert hyps[h_set["id"]]["candidate"] == apt28["name"]
    # λ = ln 10 + 0.64 ln 3 for RU and the intrusion set; −2 ln 10 for the criminal group; residual 0
    e = 10 * 3**0.64
    total = 2 * e + 0.01 + 1
    assert hyps[h_ru["id"]]["confidence"]["score"] == pytest.approx(100 * e / total, abs=1e-3)
    assert hyps[h_crime["id"]]["confidence"]["score"] == pytest.approx(100 * 0.01 / total, abs=1e-3)
    assert hyps[h_crime["id"]]["confidence"]["level"] == "unsupported"
    assert [c["evidence_id"] for c in hyps[h_crime["id"]]["confidence"]["contradicting"]] == [tradecraft["id"]]
    assert hyps[h_ru["id"]]["confidence"]["missing_classes"] == ["tradecraft", "intent", "external-report"]
    assert board["confidence"]["residual"] is True and board["confidence"]["prior"] == 25.0
    assert set(board["ach"]["leaders"]) == {h_ru["id"], h_set["id"]}
    assert hyps[h_crime["id"]]["ach"]["rank"] == 3
    assert board["missing_classes"] == ["tradecraft", "intent", "external-report"]
    row = board["ach"]["matrix"][0]
    assert row["evidence_id"] == tradecraft["id"] and row["diagnostic"] is True
    assert [c["hypothesis_id"] if c else None for c in row["cells"]] == [h_ru["id"], h_set["id"], h_crime["id"]]
    assert {s["evidence_id"] for s in board["ach"]["sensitivity"]} == {tradecraft["id"], infra["id"]}
    # the sponsor roll-up of the intrusion-set hypothesis: APT28 -> RU (a public attribution)
    sponsors = board["sponsors"]
    assert [s["state"] for s in sponsors["states"]] == ["RU"]
    assert sponsors["states"][0]["share"] == pytest.approx(hyps[h_set["id"]]["confidence"]["score"] / 100, abs=1e-3)
    assert sponsors["outside_share"] == pytest.approx(1 - sponsors["states"][0]["share"], abs=1e-3)

    # clearing a rating, deleting evidence (and with it its ratings), deleting a hypothesis
    r = rate(client, inc, tradecraft["id"], h_crime["id"], None)
    assert r.status_code == 200 and r.json()["rating"] is None
    assert client.delete(f"{base(inc)}/evidence/{infra['id']}").status_code == 204
    assert client.delete(f"{base(inc)}/hypotheses/{h_crime['id']}").status_code == 204
    assert len(client.get(f"{base(inc)}/ratings").json()["items"]) == 2
    assert client.get(f"{base(inc)}/evidence/{infra['id']}").status_code == 404
    session.expire_all()
    actions = session.execute(
        select(AuditEntry.action, AuditEntry.resource, AuditEntry.key).where(
            AuditEntry.id > start,
            AuditEntry.resource.like("attribution_%"),
            AuditEntry.key.in_([str(h_crime["id"]), str(infra["id"]), f"{tradecraft['id']}/{h_crime['id']}"]),
        )
    ).all()
    assert ("delete", "attribution_hypotheses", str(h_crime["id"])) in actions
    assert ("delete", "attribution_evidence", str(infra["id"])) in actions
    assert ("create", "attribution_ratings", f"{tradecraft['id']}/{h_crime['id']}") in actions
    assert ("delete", "attribution_ratings", f"{tradecraft['id']}/{h_crime['id']}") in actions


def test_updates_need_if_match_and_are_audited(client: Any, unique: str, session: Any) -> None:
    start = session.scalar(select(func.max(AuditEntry.id)))  # SQLite may reuse the id of a deleted row
    inc = make_incident(client, unique)
    h = post(client, f"{base(inc)}/hypotheses", {"kind": "state", "state_code": "CN"})
    r = client.get(f"{base(inc)}/hypotheses/{h['id']}")
    etag = r.headers["etag"]
    url = f"{base(inc)}/hypotheses/{h['id']}"
    assert client.patch(url, json={"note": "x"}).status_code == 428
    r = client.patch(url, json={"kind": "unit", "label": "MSS Tianjin bureau"}, headers={"If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["kind"] == "unit" and r.headers["etag"] != etag
    assert client.patch(url, json={"note": "lost"}, headers={"If-Match": etag}).status_code == 412
    # an update may not leave the hypothesis without its candidate
    r = client.patch(url, json={"state_code": None}, headers={"If-Match": r.headers["etag"]})
    assert r.status_code == 422 and problem_fields(r) == {"state_code"}

    e = post(
        client,
        f"{base(inc)}/evidence",
        {"title": "Lure", "evidence_class": "tradecraft", "reliability": "C", "credibility": 3},
    )
    url = f"{base(inc)}/evidence/{e['id']}"
    r = client.patch(url, json={"reliability": "A", "credibility": 2}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["grade"] == "A2"
    r = client.patch(url, json={"credibility": 9}, headers={"If-Match": '"2"'})
    assert r.status_code == 422 and problem_fields(r) == {"credibility"}
    session.expire_all()
    entries = session.execute(
        select(AuditEntry.action, AuditEntry.before, AuditEntry.after)
        .where(AuditEntry.id > start, AuditEntry.resource == "attribution_evidence", AuditEntry.key == str(e["id"]))
        .order_by(AuditEntry.id)
    ).all()
    assert [a for a, _b, _c in entries] == ["create", "update"]
    assert entries[1][1]["grade"] == "C3" and entries[1][2]["grade"] == "A2"
    updates = session.scalars(
        select(AuditEntry).where(
            AuditEntry.id > start,
            AuditEntry.resource == "attribution_hypotheses",
            AuditEntry.key == str(h["id"]),
            AuditEntry.action == "update",
        )
    ).all()
    assert len(updates) == 1 and updates[0].actor == "admin" and updates[0].after["label"] == "MSS Tianjin bureau"


def test_bad_input_is_refused_and_nothing_is_written(client: Any, unique: str, session: Any) -> None:
    inc = make_incident(client, unique)
    other = make_incident(client, unique + "b")
    h = post(client, f"{base(inc)}/hypotheses", {"kind": "unknown"})
    e = post(
        client,
        f"{base(inc)}/evidence",
        {"title": "Tip", "evidence_class": "human-source", "reliability": "F", "credibility": 6},
    )
    foreign_e = post(
        client,
        f"{base(other)}/evidence",
        {"title": "Other", "evidence_class": "intent", "reliability": "B", "credibility": 2},
    )
    foreign_h = post(client, f"{base(other)}/hypotheses", {"kind": "unknown"})
    before = counts(session)

    r = client.post(
        f"{base(inc)}/evidence",
        json={"title": "Bad grade", "evidence_class": "malware", "reliability": "G", "credibility": 7},
    )
    assert r.status_code == 422 and problem_fields(r) == {"reliability", "credibility"}
    r = client.post(
        f"{base(inc)}/evidence", json={"title": "", "evidence_class": "rumour", "reliability": "A", "credibility": 0}
    )
    assert r.status_code == 422 and problem_fields(r) == {"title", "evidence_class", "credibility"}
    r = client.post(f"{base(inc)}/hypotheses", json={"state_code": "RU"})
    assert r.status_code == 422 and problem_fields(r) == {"kind"}
    r = client.post(f"{base(inc)}/hypotheses", json={"kind": "state"})
    assert r.status_code == 422 and problem_fields(r) == {"state_code"}
    assert "must name its candidate" in r.text
    r = client.post(f"{base(inc)}/hypotheses", json={"kind": "intrusion-set"})
    assert r.status_code == 422 and problem_fields(r) == {"actor_id", "label"}
    r = client.post(f"{base(inc)}/hypotheses", json={"kind": "unit", "state_code": "RU"})
    assert r.status_code == 422 and problem_fields(r) == {"label"}
    r = client.post(f"{base(inc)}/hypotheses", json={"kind": "state", "state_code": "QQ"})
    assert r.status_code == 422 and problem_fields(r) == {"state_code"}
    r = client.post(f"{base(inc)}/hypotheses", json={"kind": "state", "state_code": "AQ"})  # ISO, not a state
    assert r.status_code == 422 and problem_fields(r) == {"state_code"} and "directory" in r.text
    r = client.post(f"{base(inc)}/hypotheses", json={"kind": "intrusion-set", "actor_id": 2_000_000_000})
    assert r.status_code == 422 and problem_fields(r) == {"actor_id"}
    r = client.post(f"{base(inc)}/hypotheses", json={"kind": "unknown"})  # the same candidate twice
    assert r.status_code == 422 and problem_fields(r) == {"kind"}
    r = rate(client, inc, foreign_e["id"], h["id"], "consistent")
    assert r.status_code == 422 and problem_fields(r) == {"evidence_id"}
    r = rate(client, inc, e["id"], foreign_h["id"], "consistent")
    assert r.status_code == 422 and problem_fields(r) == {"hypothesis_id"}
    r = rate(client, inc, e["id"], h["id"], "likely", "extreme")
    assert r.status_code == 422 and problem_fields(r) == {"rating", "diagnosticity"}
    r = client.post(f"{base(inc)}/observations", json={"refs": ["T1566.001", "X1", "t1059"]})
    assert r.status_code == 422 and problem_fields(r) == {"refs.1"}
    assert client.post(f"{base(2_000_000_000)}/hypotheses", json={"kind": "unknown"}).status_code == 404
    assert counts(session) == before


def test_observations_typed_and_uploaded(client: Any, unique: str) -> None:
    inc = make_incident(client, unique)
    r = client.post(f"{base(inc)}/observations", json={"refs": ["t1566.001", "S0002", "T1566.001"]})
    assert r.status_code == 201, r.text
    assert [(o["kind"], o["ref"], o["origin"]) for o in r.json()["added"]] == [
        ("technique", "T1566.001", "typed"),
        ("software", "S0002", "typed"),
    ]
    text = b"Seen: T1059.001, T1566.001\nS0363\n"
    r = client.post(f"{base(inc)}/observations/upload", files={"file": ("ttps.txt", text, "text/plain")})
    assert r.status_code == 201, r.text
    assert [o["ref"] for o in r.json()["added"]] == ["T1059.001", "S0363"]
    assert r.json()["already_recorded"] == ["T1566.001"]
    bundle = {
        "type": "bundle",
        "id": "bundle--0b4b5f5e-6f5c-4a4e-8e57-6c2d7b0b0b0b",
        "objects": [
            {
                "type": "attack-pattern",
                "external_references": [{"source_name": "mitre-attack", "external_id": "T1190"}],
            },
            {"type": "indicator", "external_references": [{"source_name": "mitre-attack", "external_id": "T1111"}]},
        ],
    }
    r = client.post(
        f"{base(inc)}/observations/upload",
        files={"file": ("b.json", json.dumps(bundle).encode(), "application/json")},
    )
    assert r.status_code == 201 and [(o["ref"], o["origin"]) for o in r.json()["added"]] == [("T1190", "stix")]
    r = client.post(f"{base(inc)}/observations/upload", files={"file": ("x.txt", b"nothing here", "text/plain")})
    assert r.status_code == 422 and problem_fields(r) == {"file"}
    for objects in (5, {"type": "attack-pattern"}):  # not a list: refused, not a server error
        broken = json.dumps(bundle | {"objects": objects}).encode()
        r = client.post(f"{base(inc)}/observations/upload", files={"file": ("b.json", broken, "application/json")})
        assert r.status_code == 422 and problem_fields(r) == {"file"}, r.text
    odd = bundle | {"objects": [{"type": "tool", "external_references": 7}, *bundle["objects"]]}
    r = client.post(f"{base(inc)}/observations/upload", files={"file": ("b.json", json.dumps(odd).encode(), "a/b")})
    assert r.status_code == 201 and r.json()["already_recorded"] == ["T1190"]
    items = client.get(f"{base(inc)}/observations").json()["items"]
    assert sorted(o["ref"] for o in items) == ["S0002", "S0363", "T1059.001", "T1190", "T1566.001"]
    assert client.delete(f"{base(inc)}/observations/{items[0]['id']}").status_code == 204
    assert len(client.get(f"{base(inc)}/observations").json()["items"]) == 4
    assert [o["ref"] for o in client.get(f"{base(inc)}/board").json()["observations"]] == [o["ref"] for o in items[1:]]


def test_sponsor_roll_up(client: Any) -> None:
    unsponsored = next(
        a
        for a in client.get("/api/v1/actors", params={"limit": 1000}).json()["items"]
        if a["sponsor_state"] is None and a["attack_id"]
    )
    body = [
        {"group": "G0007", "weight": 0.4},
        {"group": "G0034", "weight": 0.2},
        {"actor_id": actor(client, "G0007")["id"], "weight": 0.1},  # the same group again: added up
        {"group": unsponsored["attack_id"], "weight": 0.2},
        {"group": "G9999", "weight": 0.1},  # not in the dataset
    ]
    r = client.post("/api/v1/attribution/sponsors", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["total"] == pytest.approx(1.0) and out["outside_share"] == pytest.approx(0.0)
    ru = out["states"][0]
    assert ru["state"] == "RU" and ru["name"] and ru["share"] == pytest.approx(0.7)
    assert ru["low"] == pytest.approx(0.7) and ru["high"] == pytest.approx(1.0)
    assert [g["attack_id"] for g in ru["groups"]] == ["G0007", "G0034"]
    assert ru["groups"][0]["weight"] == pytest.approx(0.5) and ru["groups"][0]["sources"]
    assert out["unattributed_share"] == pytest.approx(0.3)
    reasons = {g["ref"]: g["reason"] for g in out["unattributed"]}
    assert reasons == {
        unsponsored["attack_id"]: "no government has publicly attributed it",
        "G9999": "not in the dataset",
    }
    # weights need not add up to 1: shares are of their sum
    r = client.post(
        "/api/v1/attribution/sponsors", json=[{"group": "G0007", "weight": 3}, {"group": "G9999", "weight": 1}]
    )
    assert r.json()["states"][0]["share"] == pytest.approx(0.75) and r.json()["states"][0]["high"] == pytest.approx(1.0)

    bad = [
        {"group": "G0007", "weight": -1},
        {"group": "G0007", "actor_id": 1, "weight": 1},
        {"group": "APT28", "weight": 1},
    ]
    r = client.post("/api/v1/attribution/sponsors", json=bad)
    assert r.status_code == 422 and problem_fields(r) == {"0.weight", "1", "2.group"}
    r = client.post("/api/v1/attribution/sponsors", json=[{"actor_id": 2_000_000_000, "weight": 1}])
    assert r.status_code == 422 and problem_fields(r) == {"0.actor_id"}
    r = client.post("/api/v1/attribution/sponsors", json=[{"group": "G0007", "weight": 0}])
    assert r.status_code == 422 and problem_fields(r) == {"weight"}
    assert client.post("/api/v1/attribution/sponsors", json=[]).status_code == 422


def test_permissions(role_clients: dict[str, Any], client: Any, unique: str) -> None:
    inc = make_incident(client, unique)
    h = {"kind": "state", "state_code": "KP"}
    sponsors = [{"group": "G0007", "weight": 1}]
    assert role_clients["anonymous"].get(f"{base(inc)}/board").status_code == 401
    assert role_clients["viewer"].get(f"{base(inc)}/board").status_code == 403
    assert role_clients["viewer"].post("/api/v1/attribution/sponsors", json=sponsors).status_code == 403
    assert role_clients["anonymous"].post(f"{base(inc)}/hypotheses", json=h).status_code == 401
    for role in ("analyst", "liaison", "admin"):
        assert role_clients[role].get(f"{base(inc)}/board").status_code == 200, role
        assert role_clients[role].post("/api/v1/attribution/sponsors", json=sponsors).status_code == 200, role
    assert role_clients["liaison"].post(f"{base(inc)}/hypotheses", json=h).status_code == 403
    assert role_clients["viewer"].post(f"{base(inc)}/hypotheses", json=h).status_code == 403
    r = role_clients["analyst"].post(f"{base(inc)}/hypotheses", json=h)
    assert r.status_code == 201 and r.json()["created_by"] == "analyst"
    url = f"{base(inc)}/hypotheses/{r.json()['id']}"
    assert role_clients["liaison"].delete(url).status_code == 403
    assert role_clients["analyst"].delete(url).status_code == 204


def test_browser_writes_need_the_csrf_token(app: Any, accounts: dict[str, str], client: Any, unique: str) -> None:
    inc = make_incident(client, unique)
    browser = TestClient(app)
    assert login(browser, "analyst", PASSWORD).status_code == 303
    url = f"{base(inc)}/hypotheses"
    assert browser.post(url, json={"kind": "unknown"}).status_code == 403
    r = browser.post(url, json={"kind": "unknown"}, headers={"X-CSRF-Token": browser.cookies.get("accord_csrf", "")})
    assert r.status_code == 201, r.text
    assert browser.get(f"{base(inc)}/board").status_code == 200
