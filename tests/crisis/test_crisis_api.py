"""The crisis REST API and the archive exports (SQLite and PostgreSQL), and ``accord ledger verify``."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pypdfium2
from sqlalchemy import select, update
from typer.testing import CliRunner

from accord.cli.main import app as cli
from accord.core.pdf import FONT_DIR
from accord.crisis.models import Case, LedgerEntry
from accord.db import make_sessionmaker, unit_of_work


def _case(client: Any, unique: str, **extra: Any) -> dict[str, Any]:
    r = client.post(
        "/api/v1/crisis/cases",
        json={"title": f"DDoS on ministry {unique}", "counterpart_state": "fi", **extra},
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_case_lifecycle_over_the_api(client: Any, unique: str) -> None:
    case = _case(client, unique)
    assert case["counterpart_state"] == "FI" and case["level"] == "technical" and case["status"] == "open"
    uid = case["uid"]
    r = client.post(
        f"/api/v1/crisis/cases/{uid}/messages",
        json={
            "kind": "request-information",
            "incident_summary": "Traffic from FI address space",
            "urgency": "immediate",
        },
    )
    assert r.status_code == 201, r.text
    msg = r.json()
    assert msg["subject"].startswith("Request for information: DDoS on ministry")
    assert msg["ack_due"] < msg["reply_due"]
    full = client.get(f"/api/v1/crisis/cases/{uid}").json()
    assert [d["kind"] for d in full["deadlines"]] == ["ack", "reply"]
    r = client.post(f"/api/v1/crisis/messages/{msg['uid']}/acknowledge", json={"by": "FI duty officer by phone"})
    assert r.status_code == 200 and r.json()["first"] is True
    again = client.post(f"/api/v1/crisis/messages/{msg['uid']}/acknowledge", json={"by": "someone"}).json()
    assert again["first"] is False and again["acknowledged_by"] == "FI duty officer by phone"
    assert [d["kind"] for d in client.get(f"/api/v1/crisis/cases/{uid}").json()["deadlines"]] == ["reply"]
    assert client.post(f"/api/v1/crisis/cases/{uid}/decisions", json={"text": "Brief the minister"}).status_code == 201
    r = client.post(f"/api/v1/crisis/cases/{uid}/close", json={"reason": "Traffic stopped"})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    led = client.get(f"/api/v1/crisis/cases/{uid}/ledger").json()
    assert led["verification"]["ok"] is True
    assert [e["kind"] for e in led["entries"]] == [
        "opened",
        "message-sent",
        "acknowledgement-received",
        "decision",
        "closed",
    ]
    r = client.post(f"/api/v1/crisis/cases/{uid}/messages", json={"kind": "notification"})
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")


def test_bad_input_is_problem_json_naming_fields(client: Any, unique: str) -> None:
    r = client.post("/api/v1/crisis/cases", json={"title": "x", "counterpart_state": "QQ", "tlp": "pink"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    fields = {p["field"] for p in r.json()["errors"]}
    assert {"counterpart_state", "tlp"} <= fields
    r = client.post("/api/v1/crisis/cases", json={"counterpart_state": "FI"})
    assert r.status_code == 422 and "title" in r.text
    uid = _case(client, unique)["uid"]
    r = client.post(f"/api/v1/crisis/cases/{uid}/messages", json={"kind": "threat", "ack_hours": -1})
    assert r.status_code == 422
    assert {"kind", "ack_hours"} <= {p["field"] for p in r.json()["errors"]}
    r = client.put(
        "/api/v1/crisis/policies",
        json={"state_a": "EE", "state_b": "FI", "ladder": [{"level": "cosmic", "ack_hours": 1, "reply_hours": 2}]},
    )
    assert r.status_code == 422 and "ladder.0.level" in {p["field"] for p in r.json()["errors"]}
    assert client.get("/api/v1/crisis/cases/no-such-case").status_code == 404
    # found by schemathesis: digits int() refuses (superscripts) and ids too large for the column
    for odd in ("¹", "99999999999999999999"):
        assert client.get(f"/api/v1/crisis/cases/{odd}").status_code == 404


def test_permissions(role_clients: dict[str, Any], unique: str) -> None:
    assert role_clients["anonymous"].get("/api/v1/crisis/cases").status_code == 401
    assert role_clients["viewer"].get("/api/v1/crisis/cases").status_code == 403
    assert role_clients["analyst"].get("/api/v1/crisis/cases").status_code == 200
    body = {"title": f"t {unique}", "counterpart_state": "FI"}
    assert role_clients["analyst"].post("/api/v1/crisis/cases", json=body).status_code == 403
    assert role_clients["liaison"].post("/api/v1/crisis/cases", json=body).status_code == 201


def test_archive_export_html_and_pdf(client: Any, unique: str, tmp_path: Path) -> None:
    uid = _case(client, unique, tlp="red")["uid"]
    client.post(
        f"/api/v1/crisis/cases/{uid}/messages",
        json={"kind": "notification", "incident_summary": "<b>bold</b> claim", "body": "Просим подтвердить — merci"},
    )
    html = client.get(f"/crisis/cases/{uid}/export.html")
    assert html.status_code == 200 and "attachment" in html.headers["content-disposition"]
    assert "chain and signatures verified" in html.text and "TLP:RED" in html.text
    assert "&lt;b&gt;bold&lt;/b&gt;" in html.text  # user text is escaped
    pdf = client.get(f"/crisis/cases/{uid}/export.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    doc = pypdfium2.PdfDocument(io.BytesIO(pdf.content))
    text = " ".join(doc[0].get_textpage().get_text_range().split())
    assert "chain and signatures verified" in text and "DDoS on ministry" in text
    if FONT_DIR.joinpath("DejaVuSans.ttf").is_file():  # the setup installs it (fonts-dejavu-core)
        assert "Просим подтвердить — merci" in text
    image = doc[0].render(scale=1).to_pil()
    image.save(tmp_path / "export.png")
    assert image.getextrema()[0][0] < 100  # something dark (text) was drawn on the page
    doc.close()


def test_ledger_verify_cli_detects_tampering(tmp_path: Path, engine: Any) -> None:
    runner = CliRunner()
    env = {
        "ACCORD_DATA_DIR": str(tmp_path / "node"),
        "ACCORD_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "ACCORD_NODE_STATE": "EE",
        "COLUMNS": "200",
    }
    r = runner.invoke(cli, ["case", "open", "Ransomware at port", "--counterpart", "LV"], env=env)
    assert r.exit_code == 0, r.output
    uid = r.output.split()[1]
    r = runner.invoke(cli, ["case", "send", uid, "--kind", "request-assistance", "--summary", "Port down"], env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["ledger", "verify", uid], env=env)
    assert r.exit_code == 0 and "2 entries, chain and signatures verified" in r.output
    out = tmp_path / "case.pdf"
    r = runner.invoke(cli, ["ledger", "export", uid, "--format", "pdf", "--out", str(out)], env=env)
    assert r.exit_code == 0 and out.read_bytes().startswith(b"%PDF")
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as s:
        case_id = select(Case.id).where(Case.uid == uid).scalar_subquery()
        s.execute(update(LedgerEntry).where(LedgerEntry.case_id == case_id, LedgerEntry.seq == 2).values(actor="x"))
    r = runner.invoke(cli, ["ledger", "verify", uid], env=env)
    assert r.exit_code == 1 and "TAMPERED" in r.output and "entry 2" in r.output
    r = runner.invoke(cli, ["case", "open", "x", "--counterpart", "ZZ"], env=env)
    assert r.exit_code == 1 and "counterpart_state" in r.output
