"""The capacity-building REST API (SQLite and PostgreSQL): round trips with ETags, filters and CSV exports,
matches, assessments, the all-or-nothing import, problem+json naming the fields, roles, CSRF and the audit log.

States used here (Lesotho, Eswatini, Botswana, Namibia) are used by no other capacity test."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from accord.audit.models import AuditEntry
from accord.capacity.models import CapacityNeed, CapacityOffer, MaturityAssessment
from tests.conftest_helpers import PASSWORD, login

API = "/api/v1/capacity"
GCI = {"legal": 17, "technical": 11.5, "organisational": 14, "capacity-development": 8, "cooperation": 12}


def problem_fields(resp: Any, status: int = 422) -> set[str]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
    return {e["field"] for e in resp.json().get("errors", [])}


def created(resp: Any) -> dict[str, Any]:
    assert resp.status_code == 201, resp.text
    assert resp.headers["etag"] == f'"{resp.json()["version"]}"'
    return resp.json()  # type: ignore[no-any-return]


def need(**kw: Any) -> dict[str, Any]:
    return {"state_code": "LS", "title": "Cybercrime law drafting", "themes": ["cybercrime"], "pillars": ["legal"],
            "declared_on": "2025-05-20", **kw}  # fmt: skip


def offer(**kw: Any) -> dict[str, Any]:
    return {"provider_organisation": "COE", "title": "Legislative advice on cybercrime", "themes": ["cybercrime"],
            "pillars": ["legal"], "beneficiary_scope": "regions", "beneficiary_regions": ["Sub-Saharan Africa"],
            "starts_on": "2025-01-01", "ends_on": "2030-12-31", **kw}  # fmt: skip


def counts(session: Any) -> tuple[int, ...]:
    session.expire_all()
    models = (CapacityNeed, CapacityOffer, MaturityAssessment, AuditEntry)
    return tuple(int(session.scalar(select(func.count()).select_from(m))) for m in models)


def rows(resp: Any) -> list[dict[str, str]]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(resp.text)))


def test_need_round_trip_with_etag_filters_csv_and_audit(client: TestClient, session: Any) -> None:
    n = created(client.post(f"{API}/needs", json=need(description="=HYPERLINK('x')")))
    assert n["entered_by"] == "admin" and n["state_code"] == "LS" and n["status"] == "open"
    r = client.get(f"{API}/needs/{n['id']}")
    assert r.status_code == 200 and r.headers["etag"] == '"1"' and r.json()["title"] == n["title"]

    assert problem_fields(client.patch(f"{API}/needs/{n['id']}", json={"status": "met"}), 428) == {"If-Match"}
    stale = client.patch(f"{API}/needs/{n['id']}", json={"status": "met"}, headers={"If-Match": '"7"'})
    assert problem_fields(stale, 412) == {"If-Match"}
    r = client.patch(f"{API}/needs/{n['id']}", json={"status": "met"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["status"] == "met" and r.headers["etag"] == '"2"'

    listed = client.get(f"{API}/needs", params={"state": "ls", "theme": "cybercrime", "status": "met"}).json()
    assert [x["id"] for x in listed["items"]] == [n["id"]] and listed["count"] == 1
    assert client.get(f"{API}/needs", params={"state": "LS", "pillar": "technical"}).json()["items"] == []
    table = rows(client.get(f"{API}/needs", params={"state": "LS", "format": "csv"}))
    mine = [row for row in table if row["id"] == str(n["id"])]
    assert mine and mine[0]["state"] == "Lesotho" and mine[0]["themes"] == "cybercrime"
    assert mine[0]["description"].startswith("'=")  # no formula reaches a spreadsheet

    session.expire_all()
    trail = session.scalars(
        select(AuditEntry).where(AuditEntry.resource == "capacity_needs", AuditEntry.key == str(n["id"]))
    ).all()
    assert [(e.action, e.actor) for e in trail] == [("create", "admin"), ("update", "admin")]
    assert client.delete(f"{API}/needs/{n['id']}").status_code == 204
    assert problem_fields(client.get(f"{API}/needs/{n['id']}"), 404) == set()


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("needs", need(themes=["espionage"]), {"themes.0"}),
        ("needs", need(state_code="AQ"), {"state_code"}),
        ("needs", need(state_code="L5"), {"state_code"}),
        ("needs", need(declared_on="2025-13-01"), {"declared_on"}),
        ("needs", need(themes=[], pillars=[]), {"themes", "pillars"}),
        ("needs", need(sources=["https://example.org/a"]), {"as_of"}),
        ("offers", offer(beneficiary_regions=["Mordor"]), {"beneficiary_regions.0"}),
        ("offers", offer(provider_state="FR"), {"provider_state", "provider_organisation"}),
        ("offers", offer(ends_on="2024-12-31"), {"ends_on"}),
        ("offers", offer(beneficiary_scope="everyone"), {"beneficiary_scope"}),
        ("assessments", {"state_code": "LS", "framework": "gci", "assessed_on": "2024-01-01", "kind": "self",
                         "scores": {**GCI, "legal": 20.5}}, {"scores.legal"}),
        ("assessments", {"state_code": "LS", "framework": "cmm", "assessed_on": "2024-01-01", "kind": "self",
                         "scores": GCI}, {f"scores.{k}" for k in GCI} | {
                             "scores.policy-strategy", "scores.culture-society", "scores.knowledge-capabilities",
                             "scores.legal-regulatory", "scores.standards-technologies"}),
    ],
)  # fmt: skip
def test_bad_input_is_problem_json_naming_the_field(
    client: TestClient, session: Any, path: str, body: dict[str, Any], expected: set[str]
) -> None:
    before = counts(session)
    assert problem_fields(client.post(f"{API}/{path}", json=body)) == expected
    assert counts(session) == before


def test_bad_queries_and_bodies(client: TestClient) -> None:
    assert problem_fields(client.get(f"{API}/needs", params={"theme": "magic"})) == {"theme"}
    assert problem_fields(client.get(f"{API}/offers", params={"status": "maybe"})) == {"status"}
    assert problem_fields(client.get(f"{API}/matches", params={"min_score": 101})) == {"min_score"}
    assert problem_fields(client.get(f"{API}/assessments", params={"framework": "nist"})) == {"framework"}
    bad_json = client.post(f"{API}/needs", content=b"{not json", headers={"content-type": "application/json"})
    assert bad_json.status_code == 422 and bad_json.headers["content-type"].startswith("application/problem+json")
    assert problem_fields(client.get(f"{API}/offers/99999999"), 404) == set()
    assert problem_fields(client.get(f"{API}/states/AQ"), 404) == set()


def test_matches_explained_and_exported(client: TestClient) -> None:
    n = created(client.post(f"{API}/needs", json=need(state_code="SZ", themes=["cybercrime", "standards"])))
    o = created(client.post(f"{API}/offers", json=offer()))
    closed = created(client.post(f"{API}/offers", json=offer(status="closed")))
    assert o["provider"] == "COE" and o["entered_by"] == "admin"
    found = client.get(f"{API}/matches", params={"state": "SZ"}).json()
    pairs = {(m["need_id"], m["offer_id"]): m for m in found["items"]}
    assert (n["id"], closed["id"]) not in pairs
    m = pairs[(n["id"], o["id"])]
    # coverage (0.6·½ + 0.4·1) = 0.7, offered to the state's sub-region: × 0.9
    assert m["score"] == 63.0 and m["eligibility"] == "open to Sub-Saharan Africa"
    assert m["missing_themes"] == ["standards"] and "does not cover Cyber security standards" in m["why"]
    assert found["method"]["targeting"] == {"states": 1.0, "regions": 0.9, "any": 0.8}
    assert client.get(f"{API}/matches", params={"state": "SZ", "min_score": 64}).json()["count"] == 0
    table = rows(client.get(f"{API}/matches", params={"offer": o["id"], "format": "csv"}))
    assert any(r["need_id"] == str(n["id"]) and r["score"] == "63.0" for r in table)
    offers = rows(client.get(f"{API}/offers", params={"state": "SZ", "provider": "coe", "format": "csv"}))
    assert {r["id"] for r in offers} >= {str(o["id"]), str(closed["id"])}
    assert [r["beneficiaries"] for r in offers if r["id"] == str(o["id"])] == ["Sub-Saharan Africa"]
    state = client.get(f"{API}/states/sz").json()
    assert state["state"] == "SZ" and [x["id"] for x in state["needs"]] == [n["id"]]
    assert any(x["offer_id"] == o["id"] for x in state["matches"])


def test_assessments_history_and_csv(client: TestClient) -> None:
    body = {"state_code": "BW", "framework": "gci", "kind": "external", "assessor": "ITU",
            "sources": ["https://example.org/gci"], "as_of": "2025-01-01"}  # fmt: skip
    first = created(client.post(f"{API}/assessments", json={**body, "assessed_on": "2021-06-29", "scores": GCI}))
    second = created(
        client.post(f"{API}/assessments", json={**body, "assessed_on": "2024-09-12", "scores": {**GCI, "legal": 20}})
    )
    again = client.post(f"{API}/assessments", json={**body, "assessed_on": "2024-09-12", "scores": GCI})
    assert problem_fields(again) == {"assessed_on"}
    assert first["framework_name"] == "ITU GCI pillars"
    items = client.get(f"{API}/assessments", params={"state": "BW"}).json()["items"]
    assert [a["id"] for a in items] == [first["id"], second["id"]]
    table = rows(client.get(f"{API}/assessments", params={"state": "BW", "format": "csv"}))
    assert [r["gci:legal"] for r in table] == ["17.0", "20.0"] and table[0]["cmm:policy-strategy"] == ""
    maturity = client.get(f"{API}/states/BW").json()["maturity"]
    assert maturity[0]["key"] == "gci" and maturity[0]["change"]["legal"] == 3
    assert client.delete(f"{API}/assessments/{first['id']}", headers={"If-Match": '"1"'}).status_code == 204


def test_import_is_all_or_nothing(client: TestClient, session: Any) -> None:
    before = counts(session)
    batch = {
        "needs": [need(state_code="NA"), need(state_code="NA", themes=["standards"])],
        "offers": [offer(provider_organisation=None, provider_state="DE", beneficiary_scope="states",
                         beneficiary_regions=[], beneficiary_states=["NA"])],
        "assessments": [{"state_code": "NA", "framework": "cmm", "assessed_on": "2022-03-01", "kind": "self",
                         "scores": {"policy-strategy": 2, "culture-society": 1.5, "knowledge-capabilities": 2,
                                    "legal-regulatory": 2.5, "standards-technologies": 1}}],
    }  # fmt: skip
    wrong = {**batch, "offers": [{**batch["offers"][0], "beneficiary_states": ["NA", "AQ"]}]}
    assert problem_fields(client.post(f"{API}/import", json=wrong)) == {"offers.0.beneficiary_states.1"}
    typo = {**batch, "needs": [need(state_code="NA"), need(state_code="NA", pillars=["legl"])]}
    assert problem_fields(client.post(f"{API}/import", json=typo)) == {"needs.1.pillars.0"}
    assert counts(session) == before
    r = client.post(f"{API}/import", json=batch)
    assert r.status_code == 201, r.text
    made = r.json()["created"]
    assert (len(made["needs"]), len(made["offers"]), len(made["assessments"])) == (2, 1, 1)
    after = counts(session)
    assert after == (before[0] + 2, before[1] + 1, before[2] + 1, before[3] + 4)
    best = client.get(f"{API}/matches", params={"state": "NA", "provider": "DE"}).json()["items"][0]
    assert best["offer_id"] == made["offers"][0] and best["score"] == 100.0


def test_roles_decide_who_writes(role_clients: dict[str, TestClient], session: Any) -> None:
    before = counts(session)
    anonymous = role_clients["anonymous"].post(f"{API}/needs", json=need())
    assert anonymous.status_code == 401 and "Bearer" in anonymous.headers["www-authenticate"]
    assert problem_fields(role_clients["viewer"].post(f"{API}/needs", json=need()), 403) == set()
    assert problem_fields(role_clients["liaison"].post(f"{API}/offers", json=offer()), 403) == set()
    assert counts(session) == before
    n = created(role_clients["analyst"].post(f"{API}/needs", json=need(title="Analyst's need")))
    assert n["entered_by"] == "analyst"
    assert role_clients["viewer"].delete(f"{API}/needs/{n['id']}").status_code == 403
    for who in ("anonymous", "viewer"):  # the public dataset rule: anyone may read
        assert role_clients[who].get(f"{API}/needs/{n['id']}").status_code == 200
        assert role_clients[who].get(f"{API}/matches").status_code == 200


def test_browser_writes_need_the_csrf_token(app: Any, accounts: dict[str, str]) -> None:
    browser = TestClient(app)
    assert login(browser, "analyst", PASSWORD).status_code in (302, 303)
    refused = browser.post(f"{API}/needs", json=need(title="Without token"))
    assert problem_fields(refused, 403) == set()
    token = browser.cookies.get("accord_csrf", "")
    ok = browser.post(f"{API}/needs", json=need(title="With token"), headers={"X-CSRF-Token": token})
    assert created(ok)["entered_by"] == "analyst"


# ---------------------------------------------------------------- the pages (same app, signed in through /login)


@pytest.fixture(scope="module")
def browsers(app: Any, accounts: dict[str, str]) -> dict[str, TestClient]:
    out = {"anonymous": TestClient(app)}
    for role in ("viewer", "analyst"):
        out[role] = TestClient(app)
        assert login(out[role], role, PASSWORD).status_code in (302, 303)
    return out


def form_post(client: TestClient, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data={**data, "csrf_token": client.cookies.get("accord_csrf", "")}, follow_redirects=False)


def test_pages_render_for_everyone_and_forms_only_for_writers(browsers: dict[str, TestClient]) -> None:
    for role, client in browsers.items():
        page = client.get("/capacity")
        assert page.status_code == 200, page.text
        assert "Who needs what" in page.text and "Demand and supply" in page.text
        assert ('id="add-need"' in page.text) is (role == "analyst")
        state = client.get("/capacity/states/ls")
        assert state.status_code == 200 and "Capacity of Lesotho" in state.text
        assert ('id="add-gci"' in state.text) is (role == "analyst")
    assert browsers["viewer"].get("/capacity/states/QQQ").status_code == 404
    bad = browsers["viewer"].get("/capacity", params={"theme": "nonsense", "state": "123"})
    assert bad.status_code == 200 and "choose a theme from the list" in bad.text and "two letters" in bad.text


def test_a_need_through_the_form(browsers: dict[str, TestClient], session: Any) -> None:
    analyst = browsers["analyst"]
    title = '<script>alert("need")</script> Forensics lab'
    data = {"state_code": "LS", "title": title, "declared_on": "2025-04-01", "themes": ["incident-management-ciip"],
            "pillars": ["technical", "capacity-development"], "back": "/capacity/states/LS"}  # fmt: skip
    r = form_post(analyst, "/capacity/needs", data)
    assert r.status_code == 303 and r.headers["location"] == "/capacity/states/LS?done=need#needs"
    session.expire_all()
    row = session.scalars(select(CapacityNeed).where(CapacityNeed.title == title)).one()
    assert row.entered_by == "analyst" and row.pillars == ["technical", "capacity-development"]
    page = analyst.get("/capacity/states/LS?done=need")
    assert "The need is recorded" in page.text and "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    r = form_post(analyst, f"/capacity/needs/{row.id}/status", {"status": "met", "version": "1", "back": "/capacity"})
    assert r.status_code == 303 and r.headers["location"].startswith("/capacity?done=status")
    session.expire_all()
    assert session.get(CapacityNeed, row.id).status == "met"
    stale = form_post(analyst, f"/capacity/needs/{row.id}/status", {"status": "withdrawn", "version": "1"})
    assert stale.status_code == 422 and "changed after you loaded the page" in stale.text


def test_refused_forms_name_their_fields_and_write_nothing(browsers: dict[str, TestClient], session: Any) -> None:
    analyst, before = browsers["analyst"], counts(session)

    def refused(path: str, data: dict[str, Any], title: str, *expected: str) -> None:
        r = form_post(analyst, path, data)
        assert r.status_code == 422 and title in r.text
        for text in expected:
            assert text in r.text, text

    need_form = {"state_code": "", "title": "", "declared_on": "2999-01-01", "sources": "", "as_of": ""}
    refused(
        "/capacity/needs",
        need_form,
        "The need was not recorded",
        "state code: choose the state",
        "title: say in a few words",
        "declared on: 2999-01-01 is in the future",
        "themes: give at least one",
    )
    sources = {**need_form, "state_code": "LS", "title": "x", "sources": "https://example.org/a\nnot-a-url"}
    refused("/capacity/needs", sources, "The need was not recorded", "sources: line 2:")
    offer_form = {
        "provider": "",
        "title": "Help",
        "themes": ["standards"],
        "beneficiary_scope": "regions",
        "beneficiary_regions": ["Atlantis"],
        "starts_on": "2026-02-01",
        "ends_on": "2026-01-01",
    }
    refused(
        "/capacity/offers",
        offer_form,
        "The offer was not recorded",
        "provider: choose the donor",
        "ends on: ends_on (2026-01-01) is before",
        "beneficiary regions: item 1",
    )
    scores = {
        "score-legal": "21",
        "score-technical": "abc",
        "score-organisational": "3",
        "score-capacity-development": "",
        "score-cooperation": "4",
    }
    gci = {"framework": "gci", "assessed_on": "2024-01-01", "kind": "self", **scores}
    refused(
        "/capacity/states/LS/assessments",
        gci,
        "The assessment was not recorded",
        "scores.legal: 21.0 is outside the scale",
        "scores.technical: &#39;abc&#39; is not a number",
        "scores.capacity-development: give a score",
    )
    assert counts(session) == before


def test_offer_and_assessment_through_the_forms(browsers: dict[str, TestClient], session: Any) -> None:
    analyst = browsers["analyst"]
    octopus = {
        "provider": "org:COE",
        "title": "Octopus project support",
        "pillars": ["legal"],
        "beneficiary_scope": "states",
        "beneficiary_states": "ls, sz",
    }
    r = form_post(analyst, "/capacity/offers", octopus)
    assert r.status_code == 303 and r.headers["location"] == "/capacity?done=offer#offers"
    session.expire_all()
    o = session.scalars(select(CapacityOffer).where(CapacityOffer.title == "Octopus project support")).one()
    assert o.provider_organisation == "COE" and o.beneficiary_states == ["LS", "SZ"]
    cmm = {"score-policy-strategy": "2", "score-culture-society": "1,5", "score-knowledge-capabilities": "2",
           "score-legal-regulatory": "3", "score-standards-technologies": "1"}  # fmt: skip
    body = {"framework": "cmm", "assessed_on": "2023-05-01", "kind": "external", "assessor": "GCSCC", **cmm}
    r = form_post(analyst, "/capacity/states/ls/assessments", body)
    assert r.status_code == 303 and r.headers["location"] == "/capacity/states/LS?done=assessment#maturity"
    page = analyst.get("/capacity/states/LS")
    assert "Oxford CMM dimensions" in page.text and "<polyline" in page.text or "<circle" in page.text
    assert "GCSCC" in page.text


def test_only_writers_post_and_only_with_the_token(browsers: dict[str, TestClient], session: Any) -> None:
    before = counts(session)
    data = {"state_code": "LS", "title": "Viewer's need", "declared_on": "2025-01-01", "themes": ["standards"]}
    assert form_post(browsers["viewer"], "/capacity/needs", data).status_code == 403
    anonymous = browsers["anonymous"].post("/capacity/needs", data=data, follow_redirects=False)
    assert anonymous.status_code in (401, 403)
    no_token = browsers["analyst"].post("/capacity/needs", data=data, follow_redirects=False)
    assert no_token.status_code == 403
    assert counts(session) == before
