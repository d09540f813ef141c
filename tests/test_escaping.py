"""Script and HTML payloads in every user-written text field are shown as text on every page."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest_helpers import PASSWORD, login

P = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
SRC = {"sources": ["https://example.org/s"], "as_of": "2026-01-01"}
RAW = ("<script>alert(", "<img src=x")


def _create(client, path, body):
    r = client.post(f"/api/v1/{path}", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_payloads_are_escaped_everywhere(app, client, unique):
    org = _create(
        client, "organisations", {"code": f"X{unique}".upper(), "name": P, "kind": "regional", "description": P, **SRC}
    )
    _create(client, "memberships", {"organisation_code": org["code"], "state_code": "LU", **SRC})
    inst = _create(
        client,
        "instruments",
        {
            "code": f"I{unique}".upper(),
            "name": P,
            "short_name": P[:100],
            "kind": "political_commitment",
            "depositary": P,
            "reference": P[:100],
            "description": P,
            **SRC,
        },
    )
    _create(client, "provisions", {"instrument_code": inst["code"], "code": "p1", "title": P, "summary": P, "part": P})
    _create(
        client,
        "commitments",
        {
            "instrument_code": inst["code"],
            "state_code": "LU",
            "status": "endorsed",
            "reservations": P,
            "note": P,
            **SRC,
        },
    )
    actor = _create(
        client,
        "actors",
        {"name": f"{P} {unique}", "aliases": [P], "description": P, "sponsor_state": "LU", "sponsor_unit": P, **SRC},
    )
    inc = _create(
        client,
        "incidents",
        {
            "slug": f"xss-{unique}",
            "name": P,
            "aliases": [P],
            "description": P,
            "operation_type": "espionage",
            "start_date": "2024-01-01",
            "receivers": [{"state_code": "LU", "category": "government"}],
            "actor_ids": [actor["id"]],
            **SRC,
        },
    )
    _create(
        client,
        "attributions",
        {
            "incident_id": inc["id"],
            "by_company": P,
            "attributed_state": "LU",
            "attributed_unit": P,
            "attributed_actor_id": actor["id"],
            "basis": "it_security_company",
            "form": "technical_advisory",
            "joint_group": f"g{unique}",
            "confidence": P[:100],
            "date": "2024-02-01",
            **SRC,
        },
    )
    _create(
        client,
        "responses",
        {
            "incident_id": inc["id"],
            "by_state": "LU",
            "against_state": "LU",
            "against": P,
            "type": "statement",
            "description": P,
            "date": "2024-03-01",
            **SRC,
        },
    )
    prov = client.get("/api/v1/provisions", params={"instrument": inst["code"]}).json()["items"][0]
    _create(
        client,
        "norm-findings",
        {"incident_id": inc["id"], "provision_id": prov["id"], "claimed_by_state": "LU", "note": P, **SRC},
    )
    agency = _create(client, "agencies", {"state_code": "LU", "name": P, "kind": "cert", **SRC})
    _create(
        client,
        "points-of-contact",
        {
            "state_code": "LU",
            "agency_id": agency["id"],
            "role": "technical",
            "name": P,
            "title": P,
            "channels": [{"kind": "email", "value": P}],
            "languages": [P[:20]],
            "time_zone": P[:60],
            **SRC,
        },
    )

    browser = TestClient(app)
    assert login(browser, "admin", PASSWORD).status_code == 303
    pages = [
        "/",
        "/states/LU",
        f"/incidents/{inc['id']}",
        f"/incidents/{inc['id']}/edit",
        "/incidents",
        "/incidents?receiver=LU",
        "/attributions?by_company=x",
        "/attributions",
        f"/actors/{actor['id']}",
        "/actors",
        f"/instruments/{inst['code']}",
        "/instruments",
        "/search?q=xss",
        f"/search?q={P}",
        f"/incidents?q={P}",
        "/admin/audit",
        "/admin/users",
    ]
    escaped_seen = False
    for page in pages:
        r = browser.get(page)
        assert r.status_code == 200, (page, r.status_code)
        for raw in RAW:
            assert raw not in r.text, f"{page} contains raw {raw!r}"
        escaped_seen |= "&lt;script&gt;" in r.text
    assert escaped_seen
