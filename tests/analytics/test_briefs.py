"""Briefing reports (SQLite and PostgreSQL): the country brief as HTML and PDF (page 1 rendered to an image with
pypdfium2 and checked not to be blank; Cyrillic and accented names print), what each reader may see (points of
contact, crisis cases), the sections whose analytics module is missing or fails, and the forum brief — through
accord.analytics.consensus and through the brief's own computation, which must agree.

Records written here use Mongolia (MN) and Kyrgyzstan (KG), which no other brief or capacity test touches.
"""

from __future__ import annotations

import datetime as dt
import sys
import uuid
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from accord.analytics import briefs
from accord.capacity import service as capacity
from accord.crisis.models import Case
from accord.db import make_sessionmaker, unit_of_work
from accord.directory.models import PointOfContact

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CONTACT = "Батбаяр Должинсүрэн"  # a Cyrillic name: the PDF must print it
CASE = "Démarche on the Ulaanbaatar outage"
GCI = {"legal": 12.5, "technical": 9, "organisational": 11, "capacity-development": 7, "cooperation": 14}


@pytest.fixture(scope="module")
def mongolia(engine: Any) -> dict[str, Any]:
    """A point of contact, an open crisis case, a need and two assessments for Mongolia (committed once)."""
    with unit_of_work(make_sessionmaker(engine)) as s:
        if s.scalar(select(Case.id).where(Case.title == CASE)) is None:
            s.add(PointOfContact(state_code="MN", role="technical", name=CONTACT, channels=[], languages=["mn"],
                                 sources=["https://example.org/poc"], as_of=dt.date(2026, 1, 1)))  # fmt: skip
            s.add(Case(uid=str(uuid.uuid4()), title=CASE, counterpart_state="MN", tlp="amber", ladder=[],
                       level="diplomatic"))  # fmt: skip
            capacity.create_need(s, state_code="MN", title="Центр реагирования на инциденты", declared_on="2025-01-10",
                                 themes=["incident-management-ciip"], pillars=["technical"])  # fmt: skip
            for date, legal in (("2021-06-29", 8.0), ("2024-09-12", 12.5)):
                capacity.create_assessment(s, state_code="MN", framework="gci", assessed_on=date, kind="external",
                                           scores={**GCI, "legal": legal})  # fmt: skip
    return {"code": "MN"}


def is_pdf(resp: Any) -> bytes:
    assert resp.status_code == 200, resp.text[:500]
    assert resp.headers["content-type"] == "application/pdf"
    assert resp.content.startswith(b"%PDF-")
    return resp.content  # type: ignore[no-any-return]


def page_one(content: bytes, name: str) -> Any:
    """Page 1 as an image (saved under test-artifacts/screenshots), checked not to be blank."""
    doc = pdfium.PdfDocument(content)
    try:
        page = doc[0]
        image = page.render(scale=1.5).to_pil().convert("L")
        text = page.get_textpage().get_text_range()
        page.close()
    finally:
        doc.close()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image.save(SCREENSHOTS / f"{name}.png")
    inked = image.histogram()[:200]
    inked = sum(inked)
    assert inked > 0.005 * image.width * image.height, f"page 1 of {name} is (nearly) blank: {inked} dark pixels"
    return text


# ---------------------------------------------------------------- country brief


def test_country_brief_html_and_pdf(role_clients: dict[str, TestClient], mongolia: dict[str, Any]) -> None:
    analyst = role_clients["analyst"]
    r = analyst.get("/briefs/states/mn")
    assert r.status_code == 200, r.text
    for text in ("Country brief", "Mongolia", "Commitments", "Incidents", "Alignment", "Tension",
                 "Open crisis cases", "Capacity needs and maturity", "Центр реагирования на инциденты",
                 CONTACT, CASE, "TLP:AMBER", "ITU GCI pillars"):  # fmt: skip
        assert text in r.text, text
    assert "<polyline" in r.text  # the maturity history chart
    text = page_one(is_pdf(analyst.get("/briefs/states/MN.pdf")), "brief-country-MN-page1")
    assert "Country brief: Mongolia (MN)" in text and "TLP:AMBER" in text
    assert CONTACT in text  # Cyrillic survives (DejaVu)


def test_readers_see_only_what_their_role_may(role_clients: dict[str, TestClient], mongolia: dict[str, Any]) -> None:
    for who in ("anonymous", "viewer"):
        r = role_clients[who].get("/briefs/states/MN")
        assert r.status_code == 200
        assert CONTACT not in r.text and CASE not in r.text and "TLP:CLEAR" in r.text
        assert "Points of contact:</strong> 1 current" in r.text  # the count, never the names
        assert "crisis cases are for roles that may read them" in r.text
        pdf = pdfium.PdfDocument(is_pdf(role_clients[who].get("/briefs/states/MN.pdf")))
        try:
            text = "".join(p.get_textpage().get_text_range() for p in pdf)
        finally:
            pdf.close()
        assert CONTACT not in text and CASE not in text
    liaison = role_clients["liaison"].get("/briefs/states/MN")
    assert CONTACT in liaison.text and CASE in liaison.text


def test_accents_and_unknown_states(role_clients: dict[str, TestClient]) -> None:
    viewer = role_clients["viewer"]
    text = page_one(is_pdf(viewer.get("/briefs/states/CI.pdf")), "brief-country-CI-page1")
    assert "Côte" in text  # an accented name prints
    for path in ("/briefs/states/QQ", "/briefs/states/QQ.pdf", "/briefs/states/FRA", "/briefs/states/1.pdf"):
        assert viewer.get(path).status_code == 404, path


def test_missing_analytics_modules_leave_their_sections_unavailable(
    session: Any, role_clients: dict[str, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("alignment", "tension"):
        monkeypatch.setitem(sys.modules, f"accord.analytics.{module}", None)  # import now fails
    brief = briefs.country_brief(session, "UA", reader=briefs.Reader())
    assert not brief["alignment"].available and brief["alignment"].note == briefs.NOT_YET
    assert not brief["tension"].available and brief["tension"].note == briefs.NOT_YET
    assert brief["incidents"]["suffered_total"] > 0  # the rest is there
    r = role_clients["viewer"].get("/briefs/states/UA")
    assert r.status_code == 200 and r.text.count("Not available on this node yet") == 2
    page_one(is_pdf(role_clients["viewer"].get("/briefs/states/UA.pdf")), "brief-country-UA-without-analytics")


def test_present_analytics_modules_fill_their_sections(session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, Any]] = []

    class Fake:
        def closest_states(self, s: Any, code: str, *, at: Any = None, limit: int = 5) -> list[tuple[str, float]]:
            calls.append(("alignment", (code, at, limit)))
            return [("PL", 0.91), ("EE", 0.875)]

        def state_tension(self, s: Any, code: str, *, at: Any = None, top: int = 5) -> list[Any]:
            calls.append(("tension", (code, at, top)))
            t = type("T", (), {"other": "RU", "index": 7.25, "trend": 1.5, "drivers": ["sanctions"]})
            return [t()]

    fake = Fake()
    monkeypatch.setattr(briefs, "analytics_function", lambda module, name: getattr(fake, name, None))
    brief = briefs.country_brief(session, "UA")
    assert calls == [("alignment", ("UA", None, 5)), ("tension", ("UA", None, 5))]
    assert [(r["code"], r["similarity"]) for r in brief["alignment"].rows] == [("PL", 0.91), ("EE", 0.875)]
    (row,) = brief["tension"].rows
    assert (row["code"], row["index"], row["trend"], row["drivers"]) == ("RU", 7.25, 1.5, ["sanctions"])
    assert briefs.country_pdf(brief).startswith(b"%PDF-")


def test_a_failing_analytics_module_is_logged_not_fatal(
    session: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: Any, **_kw: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(briefs, "analytics_function", lambda module, name: broken)
    brief = briefs.country_brief(session, "FR")
    assert not brief["alignment"].available and brief["alignment"].note == briefs.FAILED
    assert not brief["tension"].available
    assert "brief section alignment.closest_states failed" in caplog.text
    assert briefs.country_pdf(brief).startswith(b"%PDF-")


def test_capacity_in_the_brief(session: Any, mongolia: dict[str, Any]) -> None:
    brief = briefs.country_brief(session, "MN", reader=briefs.Reader(contacts=True, crisis=True))
    cap = brief["capacity"]
    assert [n["title"] for n in cap["needs"]] == ["Центр реагирования на инциденты"]
    assert cap["needs"][0]["themes"] == ["Cyber incident management and critical infrastructure protection"]
    (gci,) = cap["maturity"]
    assert gci.key == "gci" and gci.change["legal"] == 4.5
    assert brief["profile"]["contacts"] == [{"name": CONTACT, "role": "technical", "agency": None}]
    assert [c["title"] for c in brief["cases"].rows] == [CASE] and brief["tlp"] == "amber"
    assert briefs.as_json(brief)["capacity"]["maturity"][0]["key"] == "gci"


# ---------------------------------------------------------------- forum brief

PROVISIONS = ["OSCE-CBM/3", "UNGGE-2015/h", "BUDAPEST/art35"]


def _support(brief: dict[str, Any]) -> dict[str, list[str]]:
    return {i["ref"]: i["supporters"] for i in brief["support"]}


def test_forum_brief_agrees_with_and_without_the_consensus_module(
    session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if briefs.analytics_function("consensus", "consensus") is None:
        pytest.skip("accord.analytics.consensus is not on this node")
    via_module = briefs.forum_brief(session, forum="OSCE", provisions=PROVISIONS, threshold="two_thirds")
    monkeypatch.setitem(sys.modules, "accord.analytics.consensus", None)
    own = briefs.forum_brief(session, forum="osce", provisions=PROVISIONS, threshold="two_thirds")
    assert "consensus is not on this node" in own["source"] and "accord.analytics.consensus:" in via_module["source"]
    assert own["members"] == via_module["members"] and len(own["members"]) == 57
    assert _support(own) == _support(via_module)
    assert own["required"] == via_module["required"] == 38
    assert [i["passes"] for i in own["support"]] == [i["passes"] for i in via_module["support"]]


def test_forum_brief_pages(role_clients: dict[str, TestClient], monkeypatch: pytest.MonkeyPatch) -> None:
    viewer = role_clients["viewer"]
    form = viewer.get("/briefs/forums")
    assert form.status_code == 200 and "Provisions on the table" in form.text
    assert "Briefs for a meeting" in viewer.get("/briefs").text
    assert viewer.get("/briefs?state=fr", follow_redirects=False).headers["location"] == "/briefs/states/FR"
    query = {"forum": "OSCE", "provisions": "OSCE-CBM/3,UNGGE-2015/h"}
    r = viewer.get("/briefs/forums", params=query)
    assert r.status_code == 200, r.text
    assert "Organization for Security and Co-operation in Europe" in r.text and "57 members" in r.text
    assert "OSCE-CBM/3" in r.text and "/ 57" in r.text
    text = page_one(is_pdf(viewer.get("/briefs/forums.pdf", params=query)), "brief-forum-OSCE-page1")
    assert "Forum brief" in text and "Türkiye" in text
    edit = viewer.get("/briefs/forums", params={**query, "edit": "1"})
    assert edit.status_code == 200 and 'value="OSCE-CBM/3" checked' in edit.text

    monkeypatch.setitem(sys.modules, "accord.analytics.consensus", None)
    own = viewer.get("/briefs/forums", params=query)
    assert own.status_code == 200 and "computed from commitments and norm findings" in own.text


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"forum": "NOPE", "provisions": "OSCE-CBM/3"}, "forum", "NOPE"),
        ({"forum": "OSCE", "provisions": "OSCE-CBM/99"}, "provisions", "OSCE-CBM/99"),
        ({"forum": "OSCE", "provisions": "99999999"}, "provisions", "99999999"),
        ({"forum": "", "provisions": "OSCE-CBM/3"}, "forum", "choose a forum"),
        ({"forum": "OSCE"}, "provisions", "at least one"),
    ],
)
def test_forum_brief_refuses_bad_choices(
    role_clients: dict[str, TestClient], params: dict[str, str], field: str, reason: str
) -> None:
    r = role_clients["viewer"].get("/briefs/forums", params=params)
    assert r.status_code == 422 and "The brief could not be made" in r.text
    assert f'id="err-{field}"' in r.text and reason in r.text
    pdf = role_clients["viewer"].get("/briefs/forums.pdf", params=params)
    assert pdf.status_code == 422
