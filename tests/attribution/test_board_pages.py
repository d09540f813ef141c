"""The attribution board page of an incident (SQLite and PostgreSQL): who may read and who may change it,
an analyst building a board through the forms (hypotheses, graded evidence, the rating matrix, observed
techniques), field errors that write nothing, confirmed deletions, escaping and the audit trail."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from accord.attribution.models import Evidence, Hypothesis, Observation, Rating
from accord.audit.models import AuditEntry
from tests.conftest_helpers import PASSWORD, login

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'
SRC = {"sources": ["https://example.org/source"], "as_of": "2026-11-01"}


def client_for(app: Any, role: str | None) -> TestClient:
    client = TestClient(app)
    if role is not None:
        assert login(client, role, PASSWORD).status_code in (302, 303)
    return client


@pytest.fixture(scope="module")
def clients(app: Any, accounts: dict[str, str]) -> dict[str, TestClient]:
    return {role: client_for(app, role) for role in ("viewer", "analyst", "liaison", "admin")} | {
        "anonymous": client_for(app, None)
    }


@pytest.fixture
def incident(client: Any) -> int:
    """A fresh incident (made through the API as an administrator)."""
    tag = uuid.uuid4().hex[:8]
    body = {"slug": f"board-{tag}", "name": f"Board test {tag}", "operation_type": "espionage", **SRC}
    r = client.post("/api/v1/incidents", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def url(incident: int, tail: str = "") -> str:
    return f"/incidents/{incident}/attribution{tail}"


def post(client: TestClient, path: str, data: dict[str, Any], **kw: Any) -> Any:
    return client.post(
        path, data={**data, "csrf_token": client.cookies.get("accord_csrf", "")}, follow_redirects=False, **kw
    )


def counts(session: Any) -> tuple[int, ...]:
    session.expire_all()
    models = (Hypothesis, Evidence, Rating, Observation, AuditEntry)
    return tuple(session.scalar(select(func.count()).select_from(m)) for m in models)


def actor_id(session: Any, attack_id: str) -> int:
    from accord.incidents.models import ThreatActor

    found = session.scalar(select(ThreatActor.id).where(ThreatActor.attack_id == attack_id))
    assert found, attack_id
    return int(found)


def add_hypothesis(client: TestClient, incident: int, **data: str) -> int:
    r = post(client, url(incident, "/hypotheses"), data)
    assert r.status_code == 303, r.text[:3000]
    assert r.headers["location"] == url(incident, "?done=hypothesis#hypotheses")
    return newest(client, incident, "hyp")


def add_evidence(client: TestClient, incident: int, **data: str) -> int:
    r = post(client, url(incident, "/evidence"), data)
    assert r.status_code == 303, r.text[:3000]
    return newest(client, incident, "ev")


def newest(client: TestClient, incident: int, prefix: str) -> int:
    page = client.get(url(incident)).text
    return max(int(i) for i in re.findall(rf'<tr id="{prefix}-(\d+)"', page))


def matrix_form(page: str) -> dict[str, str]:
    """The matrix form as the browser would post it untouched: every select at its selected option."""
    data = dict(re.findall(r'name="(was-\d+-\d+)" value="([^"]*)"', page))
    for name, body in re.findall(r'<select id="([rd]-\d+-\d+)" name="[^"]+" class="\w+">(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        data[name] = chosen[1] if chosen else re.search(r'<option value="([^"]*)"', body)[1]  # type: ignore[index]
    return data


def score(page: str, hypothesis: int) -> str:
    match = re.search(rf'<tr id="hyp-{hypothesis}">.*?<span class="score-value">([^<]+)</span>', page, re.S)
    assert match, f"no score of hypothesis {hypothesis}"
    return match[1]


def ranking(page: str) -> list[str]:
    block = re.search(r'<ol class="ranking".*?</ol>', page, re.S)
    assert block
    return re.findall(r'<span class="candidate">([^<]+)</span>', block[0])


def audit_since(session: Any, start: int | None, resource: str) -> list[tuple[str, str]]:
    session.expire_all()
    rows = session.execute(
        select(AuditEntry.action, AuditEntry.actor)
        .where(AuditEntry.id > (start or 0), AuditEntry.resource == resource)
        .order_by(AuditEntry.id)
    )
    return [(a, b) for a, b in rows]


# ---------------------------------------------------------------- who may do what


def test_viewers_and_visitors_are_kept_out(clients: dict[str, TestClient], incident: int, session: Any) -> None:
    r = clients["viewer"].get(url(incident))
    assert r.status_code == 403 and "may not see attribution work" in r.text
    r = clients["anonymous"].get(url(incident), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    before = counts(session)
    r = post(clients["viewer"], url(incident, "/hypotheses"), {"kind": "state", "state_code": "RU"})
    assert r.status_code == 403
    r = post(clients["liaison"], url(incident, "/hypotheses"), {"kind": "state", "state_code": "RU"})
    assert r.status_code == 403
    assert counts(session) == before
    incident_page = clients["viewer"].get(f"/incidents/{incident}").text
    assert "Attribution board" not in incident_page
    assert url(incident) in clients["liaison"].get(f"/incidents/{incident}").text


def test_liaison_reads_the_board_without_forms(clients: dict[str, TestClient], incident: int) -> None:
    analyst = clients["analyst"]
    h = add_hypothesis(analyst, incident, kind="state", state_code="RU")
    e = add_evidence(
        analyst, incident, title="Wiper shared", evidence_class="malware", reliability="B", credibility="2"
    )
    page = analyst.get(url(incident)).text
    data = matrix_form(page) | {f"r-{e}-{h}": "consistent"}
    assert post(analyst, url(incident, "/ratings"), data).status_code == 303

    page = clients["liaison"].get(url(incident)).text
    assert "Wiper shared" in page and "Russia" in page
    assert '<form method="post"' not in page.split("<main")[1]  # only the header's sign-out form
    assert "Add a hypothesis" not in page and "Save the ratings" not in page
    assert '<span class="rating-text">consistent</span>' in page


def test_unknown_incident_is_404(clients: dict[str, TestClient]) -> None:
    assert clients["analyst"].get("/incidents/999999999/attribution").status_code == 404
    assert clients["analyst"].get("/incidents/no-such-slug/attribution").status_code == 404


# ---------------------------------------------------------------- an analyst at work


def test_analyst_builds_a_board(clients: dict[str, TestClient], incident: int, session: Any) -> None:
    analyst = clients["analyst"]
    start = session.scalar(select(func.max(AuditEntry.id)))
    page = analyst.get(url(incident)).text
    assert "No hypothesis yet" in page and "Add hypotheses and evidence to build the matrix" in page

    h_ru = add_hypothesis(analyst, incident, kind="state", state_code="RU", note="GRU units suspected")
    h_set = add_hypothesis(analyst, incident, kind="intrusion-set", actor_id=str(actor_id(session, "G0034")))
    malware = add_evidence(
        analyst,
        incident,
        title="Wiper code shared with an earlier campaign",
        evidence_class="malware",
        source="Vendor report",
        reliability="b",
        credibility="2",
        observed_on="2017-06-27",
        urls="https://example.org/report\n https://example.org/other ",
        description="Same routine.",
    )
    infra = add_evidence(
        analyst, incident, title="Update server compromised", evidence_class="infrastructure", reliability="A",
        credibility="2",
    )  # fmt: skip
    intent = add_evidence(
        analyst, incident, title="Targets concentrated in one state", evidence_class="intent", reliability="C",
        credibility="3",
    )  # fmt: skip
    page = analyst.get(url(incident, "?done=evidence")).text
    assert "The evidence item is added." in page
    assert score(page, h_ru) == score(page, h_set) == "33"  # two hypotheses and "someone not listed"
    assert '<span class="grade">B2</span>' in page and "usually reliable; probably true" in page
    assert "https://example.org/other" in page and "27 Jun 2017" in page

    data = matrix_form(page)
    assert set(data) >= {f"r-{e}-{h}" for e in (malware, infra, intent) for h in (h_ru, h_set)}
    data |= {f"r-{malware}-{h_ru}": "consistent", f"d-{malware}-{h_ru}": "high"}
    data |= {f"r-{malware}-{h_set}": "consistent", f"d-{malware}-{h_set}": "high"}
    data |= {f"r-{infra}-{h_set}": "consistent", f"r-{intent}-{h_ru}": "inconsistent", f"r-{intent}-{h_set}": "neutral"}
    r = post(analyst, url(incident, "/ratings"), data)
    assert r.status_code == 303 and r.headers["location"] == url(incident, "?done=ratings#matrix")
    page = analyst.get(url(incident)).text
    assert int(score(page, h_set)) > int(score(page, h_ru))
    assert ranking(page)[0] == "Sandworm Team"
    assert "Contradicted by" in page and '<span class="tag critical">critical</span>' in page
    assert re.search(rf'id="hyp-{h_set}">.*?No evidence of</span> tradecraft, intent, external-report', page, re.S)

    # an untouched matrix saves nothing; a changed cell is the only thing written
    before = counts(session)
    r = post(analyst, url(incident, "/ratings"), matrix_form(page))
    assert r.headers["location"] == url(incident, "?done=no-change#matrix") and counts(session) == before
    data = matrix_form(page) | {f"r-{intent}-{h_ru}": "", f"r-{infra}-{h_ru}": "consistent", f"d-{infra}-{h_ru}": "low"}
    assert post(analyst, url(incident, "/ratings"), data).status_code == 303
    ratings = session.execute(select(Rating.evidence_id, Rating.hypothesis_id, Rating.rating, Rating.diagnosticity))
    mine = {(e, h): (r, d) for e, h, r, d in ratings if h in (h_ru, h_set)}
    assert mine == {
        (malware, h_ru): ("consistent", "high"),
        (malware, h_set): ("consistent", "high"),
        (infra, h_set): ("consistent", "medium"),
        (infra, h_ru): ("consistent", "low"),
        (intent, h_set): ("neutral", "medium"),
    }
    assert audit_since(session, start, "attribution_hypotheses") == [("create", "analyst")] * 2
    assert audit_since(session, start, "attribution_evidence") == [("create", "analyst")] * 3
    ratings_log = sorted(audit_since(session, start, "attribution_ratings"))
    assert ratings_log == [("create", "analyst")] * 6 + [("delete", "analyst")]


def test_a_matrix_keeps_what_others_saved_meanwhile(clients: dict[str, TestClient], incident: int) -> None:
    analyst, admin = clients["analyst"], clients["admin"]
    h = add_hypothesis(analyst, incident, kind="state", state_code="CN")
    e1 = add_evidence(analyst, incident, title="One", evidence_class="tradecraft", reliability="A", credibility="1")
    e2 = add_evidence(analyst, incident, title="Two", evidence_class="signals", reliability="A", credibility="1")
    stale = matrix_form(analyst.get(url(incident)).text)
    fresh = matrix_form(admin.get(url(incident)).text) | {f"r-{e1}-{h}": "inconsistent"}
    assert post(admin, url(incident, "/ratings"), fresh).status_code == 303
    assert post(analyst, url(incident, "/ratings"), stale | {f"r-{e2}-{h}": "consistent"}).status_code == 303
    saved = matrix_form(analyst.get(url(incident)).text)
    assert saved[f"was-{e1}-{h}"] == "inconsistent:medium" and saved[f"was-{e2}-{h}"] == "consistent:medium"


def test_deleting_asks_and_is_audited(clients: dict[str, TestClient], incident: int, session: Any) -> None:
    analyst = clients["analyst"]
    h = add_hypothesis(analyst, incident, kind="non-state", label="Hacktivist collective")
    e = add_evidence(
        analyst, incident, title="Claim on a forum", evidence_class="other", reliability="E", credibility="5"
    )
    page = analyst.get(url(incident)).text
    assert post(analyst, url(incident, "/ratings"), matrix_form(page) | {f"r-{e}-{h}": "consistent"}).status_code == 303
    assert re.search(
        r"<details class=\"confirm\">\s*<summary>Delete<span class=\"visually-hidden\"> the hypothesis", page
    )
    start = session.scalar(select(func.max(AuditEntry.id)))

    before = counts(session)
    r = post(analyst, url(incident, f"/hypotheses/{h}/delete"), {"version": "999"})  # changed since the page loaded
    assert r.status_code == 409 and "Nothing was deleted" in r.text
    assert counts(session) == before

    version = re.search(rf'/hypotheses/{h}/delete">.*?name="version" value="(\d+)"', page, re.S)[1]  # type: ignore[index]
    r = post(analyst, url(incident, f"/hypotheses/{h}/delete"), {"version": version})
    assert r.status_code == 303 and r.headers["location"] == url(incident, "?done=hypothesis-deleted#hypotheses")
    r = post(analyst, url(incident, f"/evidence/{e}/delete"), {})
    assert r.status_code == 303
    page = analyst.get(url(incident, "?done=evidence-deleted")).text
    assert "Hacktivist collective" not in page and "Claim on a forum" not in page
    assert "The evidence item and its ratings are removed." in page
    assert audit_since(session, start, "attribution_hypotheses") == [("delete", "analyst")]
    assert audit_since(session, start, "attribution_evidence") == [("delete", "analyst")]
    assert post(analyst, url(incident, f"/evidence/{e}/delete"), {}).status_code == 404


# ---------------------------------------------------------------- refused input


def test_field_errors_are_shown_and_nothing_is_written(
    clients: dict[str, TestClient], incident: int, session: Any
) -> None:
    analyst = clients["analyst"]
    before = counts(session)
    r = post(analyst, url(incident, "/hypotheses"), {"kind": "unit", "state_code": "", "label": "", "note": "kept"})
    assert r.status_code == 422
    assert "The hypothesis was not added" in r.text and 'id="err-hypothesis-state_code"' in r.text
    assert re.search(r'id="h-state" name="state_code" aria-invalid="true"', r.text)
    assert re.search(r'<option value="unit" selected>', r.text) and ">kept</textarea>" in r.text
    r = post(analyst, url(incident, "/hypotheses"), {"kind": "intrusion-set", "actor_id": "x1"})
    assert r.status_code == 422 and "choose a threat actor from the list" in r.text
    r = post(analyst, url(incident, "/hypotheses"), {"kind": "state", "state_code": "QQ"})
    assert r.status_code == 422 and "&#39;QQ&#39; is not an ISO 3166-1 alpha-2 country code" in r.text
    r = post(
        analyst, url(incident, "/hypotheses"), {"kind": "state", "state_code": "XK"}
    )  # valid, not in the directory
    assert r.status_code == 422 and "no state &#39;XK&#39; in the directory" in r.text

    bad = {"title": "", "evidence_class": "", "reliability": "G", "credibility": "7", "observed_on": "2017-13-01"}
    r = post(analyst, url(incident, "/evidence"), bad | {"urls": "https://example.org/ok\nnot a link"})
    assert r.status_code == 422 and "The evidence item was not added" in r.text
    for name in ("title", "evidence_class", "reliability", "credibility", "observed_on", "urls"):
        assert f'id="err-evidence-{name}"' in r.text, name
    assert "line 2:" in r.text and "not a link</textarea>" in r.text

    r = post(analyst, url(incident, "/observations"), {"refs": "T1566.001, X99, <b>"})
    assert r.status_code == 422 and "not ATT&amp;CK technique or software ids: X99, &lt;B&gt;" in r.text
    r = post(analyst, url(incident, "/observations"), {"refs": " "})
    assert r.status_code == 422 and "type at least one" in r.text
    r = post(analyst, url(incident, "/observations/upload"), {}, files={"file": ("notes.txt", b"nothing here")})
    assert r.status_code == 422 and 'id="err-upload-file"' in r.text
    assert counts(session) == before


def test_a_refused_matrix_saves_no_cell(clients: dict[str, TestClient], incident: int, session: Any) -> None:
    analyst = clients["analyst"]
    h = add_hypothesis(analyst, incident, kind="state", state_code="IR")
    e1 = add_evidence(analyst, incident, title="First", evidence_class="intent", reliability="A", credibility="1")
    e2 = add_evidence(analyst, incident, title="Second", evidence_class="intent", reliability="A", credibility="1")
    page = analyst.get(url(incident)).text
    before = counts(session)
    data = matrix_form(page) | {f"r-{e1}-{h}": "consistent", f"r-{e2}-{h}": "maybe"}
    r = post(analyst, url(incident, "/ratings"), data)
    assert r.status_code == 422 and "No rating was saved" in r.text
    assert re.search(rf'<td class="cell r-consistent">\s*<label class="visually-hidden" for="r-{e1}-{h}"', r.text)
    assert counts(session) == before
    other = add_hypothesis(clients["admin"], incident, kind="state", state_code="KP")
    stale = matrix_form(page) | {f"r-{e1}-{h}": "consistent", f"r-{e2}-{other + 1000}": "neutral"}
    r = post(analyst, url(incident, "/ratings"), stale)
    assert r.status_code == 422 and "no hypothesis" in r.text
    assert counts(session)[2] == before[2]


def test_what_users_write_is_escaped(clients: dict[str, TestClient], incident: int) -> None:
    analyst = clients["analyst"]
    add_hypothesis(analyst, incident, kind="non-state", label=PAYLOAD, note=PAYLOAD)
    add_evidence(
        analyst, incident, title=PAYLOAD, evidence_class="other", reliability="C", credibility="3", source=PAYLOAD,
        description=PAYLOAD,
    )  # fmt: skip
    page = analyst.get(url(incident)).text
    assert PAYLOAD not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    r = post(analyst, url(incident, "/evidence"), {"title": PAYLOAD, "evidence_class": "nope"})
    assert r.status_code == 422 and PAYLOAD not in r.text


# ---------------------------------------------------------------- techniques and candidates


def test_observed_techniques_give_candidates_with_a_warning(
    clients: dict[str, TestClient], incident: int, session: Any
) -> None:
    analyst = clients["analyst"]
    start = session.scalar(select(func.max(AuditEntry.id)))
    page = analyst.get(url(incident)).text
    assert "a lead for analysts, never an attribution" in page.lower()
    assert "Record observed techniques or software to see candidate groups." in page

    r = post(analyst, url(incident, "/observations"), {"refs": "t1486 T1485, T1561.002\nT1059.001;S0368"})
    assert r.status_code == 303
    assert r.headers["location"] == url(incident, "?done=observations&added=5&already=0#ttp")
    bundle = {
        "type": "bundle",
        "id": f"bundle--{uuid.uuid4()}",
        "objects": [
            {
                "type": "attack-pattern",
                "external_references": [{"source_name": "mitre-attack", "external_id": "T1486"}],
            },
            {
                "type": "attack-pattern",
                "external_references": [{"source_name": "mitre-attack", "external_id": "T1070"}],
            },
        ],
    }
    files = {"file": ("bundle.json", json.dumps(bundle).encode(), "application/json")}
    r = post(analyst, url(incident, "/observations/upload"), {}, files=files)
    assert r.headers["location"] == url(incident, "?done=observations&added=1&already=1#ttp")
    page = analyst.get(url(incident, "?done=observations&added=1&already=1")).text
    assert "Added 1; 1 already on the list." in page
    assert (
        'class="ref">T1070</a> <span class="ref-name">Indicator Removal</span> <span class="muted small">stix' in page
    )
    table = re.search(r'<table class="candidates">.*?</table>', page, re.S)
    assert table, "no candidate table"
    rows = re.findall(r'<tr>\s*<td class="num" data-label="#">(\d+)</td>', table[0])
    assert rows == [str(n) for n in range(1, len(rows) + 1)] and 1 <= len(rows) <= 10
    assert "Sandworm Team" in table[0]  # the group behind NotPetya uses every technique typed above
    # a technique only a group's software implements is marked with that software, named
    ref = r'<span class="ref" title="[^"]+">S\d{4}</span>'
    link = rf"\(its software {ref}(, {ref})*"
    assert re.search(link + r" does this\)", table[0]) and re.search(link + r" do this\)", table[0])
    assert '<span class="ref" title="Data Encrypted for Impact">T1486</span>' in table[0]
    assert 'Shared software</span> <span class="ref" title="NotPetya">S0368</span>' in table[0]
    assert "States behind these groups" in page and "Uncertainty interval" in page
    assert "came first about 1 time in 13" in page  # the measured strength of the signal, in words
    assert [a for a, _ in audit_since(session, start, "attribution_observations")] == ["create", "create"]

    oid = session.scalar(select(Observation.id).where(Observation.incident_id == incident, Observation.ref == "T1070"))
    assert post(analyst, url(incident, f"/observations/{oid}/delete"), {}).status_code == 303
    assert 'class="ref">T1070</a>' not in analyst.get(url(incident)).text  # gone from the observations


def test_precedents_are_listed_with_a_link(clients: dict[str, TestClient], session: Any) -> None:
    from accord.incidents.models import Incident

    notpetya = session.scalar(select(Incident.id).where(Incident.slug == "notpetya-2017"))
    page = clients["liaison"].get(url(notpetya)).text
    block = re.search(r'<ol class="precedents">.*?</ol>', page, re.S)
    assert block and len(re.findall(r"<li>", block[0])) == 5
    assert f'href="/incidents/{notpetya}/precedents"' in page
    assert clients["liaison"].get("/incidents/notpetya-2017/attribution").status_code == 200


def test_unknown_techniques_are_said_so(clients: dict[str, TestClient], incident: int) -> None:
    analyst = clients["analyst"]
    assert post(analyst, url(incident, "/observations"), {"refs": "T9999"}).status_code == 303
    page = analyst.get(url(incident)).text
    assert "No ranking: no known technique (ignored, unknown to ATT&amp;CK Enterprise v18.1: T9999)." in page
    assert '<table class="candidates">' not in page
    assert post(analyst, url(incident, "/observations"), {"refs": "T1486"}).status_code == 303
    page = analyst.get(url(incident)).text
    assert "ignored, unknown to ATT&amp;CK Enterprise v18.1: T9999" in page and '<table class="candidates">' in page
