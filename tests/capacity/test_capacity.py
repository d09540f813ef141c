"""Capacity building in the domain (SQLite and PostgreSQL): needs, offers, validation naming the fields, the
matching score worked by hand, eligibility, the all-or-nothing batch, maturity history and the audit log.

Each test works in the ``session`` fixture's transaction and never commits, so it leaves nothing behind."""

from __future__ import annotations

import datetime as dt
from typing import Any, get_args

import pytest
from sqlalchemy import func, select

from accord.audit.models import AuditEntry
from accord.audit.service import Actor
from accord.capacity import models, schemas
from accord.capacity import service as cap
from accord.capacity.models import CapacityNeed, CapacityOffer, MaturityAssessment
from accord.core.errors import Duplicate, Invalid, PreconditionFailed, PreconditionRequired, ReferenceNotFound

TODAY = dt.date(2026, 6, 1)
ANALYST = Actor("analyst-test", None)
SRC = {"sources": ["https://example.org/needs"], "as_of": "2026-01-15"}
GCI = {"legal": 18.5, "technical": 12, "organisational": 15, "capacity-development": 9.25, "cooperation": 20}


def fields(exc: pytest.ExceptionInfo[Invalid]) -> set[str]:
    return {p.field for p in exc.value.problems}


def need(**kw: Any) -> dict[str, Any]:
    return {"state_code": "KE", "title": "National CSIRT set-up", "themes": ["incident-management-ciip"],
            "declared_on": "2025-03-01", **kw}  # fmt: skip


def offer(**kw: Any) -> dict[str, Any]:
    return {"provider_state": "EE", "title": "CSIRT maturity training", "themes": ["incident-management-ciip"], **kw}


def count(session: Any, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)))


# ---------------------------------------------------------------- vocabularies


def test_vocabularies_are_the_published_ones() -> None:
    assert get_args(schemas.Theme) == tuple(models.GFCE_THEMES)
    assert get_args(schemas.Pillar) == tuple(models.GCI_PILLARS)
    assert get_args(schemas.FrameworkKey) == tuple(models.FRAMEWORKS)
    assert get_args(schemas.NeedStatus) == models.NEED_STATUSES
    assert get_args(schemas.OfferStatus) == models.OFFER_STATUSES
    assert len(models.GFCE_THEMES) == len(models.GCI_PILLARS) == len(models.CMM_DIMENSIONS) == 5
    assert (models.FRAMEWORKS["gci"].low, models.FRAMEWORKS["gci"].high) == (0, 20)
    assert (models.FRAMEWORKS["cmm"].low, models.FRAMEWORKS["cmm"].high) == (1, 5)
    tax = cap.taxonomies()
    assert tax["themes"]["source"].startswith("https://") and tax["frameworks"]["cmm"]["source"].startswith("https://")


# ---------------------------------------------------------------- needs and offers


def test_a_need_is_recorded_with_its_provenance_and_audited(session: Any) -> None:
    before = count(session, AuditEntry)
    local = cap.create_need(session, actor=ANALYST, **need(pillars=["technical", "technical"]))
    public = cap.create_need(session, actor=ANALYST, **need(state_code="gh", **SRC))
    assert local.entered_by == "analyst-test" and local.sources == [] and local.as_of is None
    assert local.pillars == ["technical"] and local.status == "open"
    assert public.state_code == "GH" and public.as_of == dt.date(2026, 1, 15)
    entries = session.scalars(select(AuditEntry).where(AuditEntry.id > 0).order_by(AuditEntry.id.desc()).limit(2))
    assert count(session, AuditEntry) == before + 2
    assert {(e.action, e.resource, e.key) for e in entries} == {
        ("create", "capacity_needs", str(local.id)),
        ("create", "capacity_needs", str(public.id)),
    }


@pytest.mark.parametrize(
    ("values", "error", "expected"),
    [
        (need(themes=["hacking"]), Invalid, {"themes.0"}),
        (need(pillars=["legal", "fiscal"]), Invalid, {"pillars.1"}),
        (need(state_code="QQ"), Invalid, {"state_code"}),  # not an ISO code at all
        (need(state_code="AQ"), ReferenceNotFound, {"state_code"}),  # ISO, but not in the directory
        (need(declared_on="2025-02-30"), Invalid, {"declared_on"}),
        (need(declared_on="2999-01-01"), Invalid, {"declared_on"}),
        (need(themes=[]), Invalid, {"themes", "pillars"}),
        (need(sources=["https://example.org/x"]), Invalid, {"as_of"}),
        (need(as_of="2026-01-01"), Invalid, {"sources"}),
        (need(sources=["not a url"], as_of="2026-01-01"), Invalid, {"sources.0"}),
        (need(status="done"), Invalid, {"status"}),
        (need(colour="red"), Invalid, {"colour"}),
    ],
)
def test_bad_needs_name_the_field_and_write_nothing(session: Any, values: Any, error: Any, expected: set[str]) -> None:
    before = count(session, CapacityNeed), count(session, AuditEntry)
    with pytest.raises(error) as exc:
        cap.create_need(session, **values)
    assert fields(exc) == expected, exc.value.problems
    assert (count(session, CapacityNeed), count(session, AuditEntry)) == before


@pytest.mark.parametrize(
    ("values", "error", "expected"),
    [
        (offer(provider_organisation="EU"), Invalid, {"provider_state", "provider_organisation"}),
        (offer(provider_state=None), Invalid, {"provider_state", "provider_organisation"}),
        (offer(provider_state=None, provider_organisation="NOPE"), ReferenceNotFound, {"provider_organisation"}),
        (offer(beneficiary_scope="regions"), Invalid, {"beneficiary_regions"}),
        (offer(beneficiary_scope="states"), Invalid, {"beneficiary_states"}),
        (offer(beneficiary_regions=["Africa"]), Invalid, {"beneficiary_regions"}),
        (offer(beneficiary_scope="regions", beneficiary_regions=["Atlantis"]), ReferenceNotFound,
         {"beneficiary_regions.0"}),
        (offer(beneficiary_scope="states", beneficiary_states=["KE", "AQ"]), ReferenceNotFound,
         {"beneficiary_states.1"}),
        (offer(starts_on="2026-05-01", ends_on="2026-04-30"), Invalid, {"ends_on"}),
        (offer(ends_on="2026-13-01"), Invalid, {"ends_on"}),
        (offer(themes=["standards", "law"]), Invalid, {"themes.1"}),
    ],
)  # fmt: skip
def test_bad_offers_name_the_field(session: Any, values: Any, error: Any, expected: set[str]) -> None:
    before = count(session, CapacityOffer)
    with pytest.raises(error) as exc:
        cap.create_offer(session, **values)
    assert fields(exc) == expected, exc.value.problems
    assert count(session, CapacityOffer) == before


def test_an_offer_to_regions_keeps_the_directory_spelling(session: Any) -> None:
    o = cap.create_offer(
        session, **offer(provider_state=None, provider_organisation="eu", beneficiary_scope="regions",
                         beneficiary_regions=["sub-saharan africa", "Sub-Saharan Africa"]),
    )  # fmt: skip
    assert o.provider_organisation == "EU"
    assert o.beneficiary_regions == ["Sub-Saharan Africa"]
    assert cap.offer_json(o)["provider"] == o.provider_organisation


def test_updates_need_the_version_they_read(session: Any) -> None:
    n = cap.create_need(session, **need())
    with pytest.raises(PreconditionRequired):
        cap.update_need(session, n.id, if_match=None, status="met")
    with pytest.raises(PreconditionFailed):
        cap.update_need(session, n.id, if_match='"99"', status="met")
    with pytest.raises(Invalid) as exc:
        cap.update_need(session, n.id, if_match=cap.etag(n), status="finished")
    assert fields(exc) == {"status"}
    n = cap.update_need(session, n.id, if_match=cap.etag(n), status="met", actor=ANALYST)
    assert n.status == "met" and n.version == 2
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
    assert (last.action, last.before["status"], last.after["status"]) == ("update", "open", "met")


# ---------------------------------------------------------------- matching


def _need(**kw: Any) -> CapacityNeed:
    base = {"id": 1, "state_code": "KE", "title": "n", "themes": [], "pillars": [], "status": "open",
            "declared_on": dt.date(2025, 1, 1)}  # fmt: skip
    return CapacityNeed(**{**base, **kw})


def _offer(**kw: Any) -> CapacityOffer:
    base = {"id": 10, "provider_state": "EE", "provider_organisation": None, "title": "o", "themes": [],
            "pillars": [], "beneficiary_scope": "any", "beneficiary_regions": [], "beneficiary_states": [],
            "starts_on": None, "ends_on": None, "status": "open"}  # fmt: skip
    return CapacityOffer(**{**base, **kw})


PLACES = {"KE": ("Africa", "Sub-Saharan Africa"), "EE": ("Europe", "Northern Europe")}


def test_the_score_worked_by_hand() -> None:
    n = _need(themes=["cybercrime", "standards"], pillars=["legal"])
    o = _offer(themes=["cybercrime"], pillars=["legal", "technical"])
    # coverage = (0.6 · 1/2 + 0.4 · 1/1) / (0.6 + 0.4) = 0.7; open to any state: × 0.8
    m = cap.match_pair(n, o, PLACES, TODAY)
    assert m is not None and m.coverage == pytest.approx(0.7) and m.score == 56.0
    assert (m.shared_themes, m.shared_pillars, m.missing_themes, m.missing_pillars) == (
        ["cybercrime"], ["legal"], ["standards"], [])  # fmt: skip
    assert "Cybercrime" in m.why and "does not cover Cyber security standards" in m.why
    assert "open to any state" in m.why
    named = cap.match_pair(n, _offer(themes=["cybercrime"], pillars=["legal"], beneficiary_scope="states",
                                     beneficiary_states=["KE"]), PLACES, TODAY)  # fmt: skip
    region = cap.match_pair(n, _offer(themes=["cybercrime"], pillars=["legal"], beneficiary_scope="regions",
                                      beneficiary_regions=["Sub-Saharan Africa"]), PLACES, TODAY)  # fmt: skip
    assert named is not None and named.score == 70.0 and named.eligibility == "names the state"
    assert region is not None and region.score == 63.0 and region.eligibility == "open to Sub-Saharan Africa"
    # a need with themes only: themes take all the weight
    only = cap.match_pair(_need(themes=["cybercrime", "standards"]), o, PLACES, TODAY)
    assert only is not None and only.coverage == pytest.approx(0.5) and only.score == 40.0
    full = cap.match_pair(_need(pillars=["legal"]), _offer(pillars=["legal"], beneficiary_scope="states",
                                                          beneficiary_states=["KE"]), PLACES, TODAY)  # fmt: skip
    assert full is not None and full.score == 100.0


@pytest.mark.parametrize(
    "change",
    [
        {"need": {"status": "met"}},
        {"need": {"status": "withdrawn"}},
        {"offer": {"status": "closed"}},
        {"offer": {"ends_on": dt.date(2026, 5, 31)}},
        {"offer": {"provider_state": "KE"}},  # a state does not donate to itself
        {"offer": {"themes": ["standards"], "pillars": ["technical"]}},  # nothing shared
        {"offer": {"beneficiary_scope": "states", "beneficiary_states": ["EE"]}},
        {"offer": {"beneficiary_scope": "regions", "beneficiary_regions": ["Europe", "Northern Africa"]}},
    ],
)
def test_what_does_not_match(change: dict[str, dict[str, Any]]) -> None:
    n = _need(**{"themes": ["cybercrime"], "pillars": ["legal"], **change.get("need", {})})
    o = _offer(**{"themes": ["cybercrime"], "pillars": ["legal"], **change.get("offer", {})})
    assert cap.match_pair(n, o, PLACES, TODAY) is None


def test_an_offer_that_has_not_started_matches_and_says_so() -> None:
    o = _offer(themes=["cybercrime"], starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2027, 8, 31))
    m = cap.match_pair(_need(themes=["cybercrime"]), o, PLACES, TODAY)
    assert m is not None and m.note == "starts 2026-09-01; ends 2027-08-31" and "starts 2026-09-01" in m.why


def test_matches_are_ranked_and_filtered_in_the_database(session: Any) -> None:
    old = cap.create_need(session, **need(state_code="MW", themes=["cybercrime"], declared_on="2024-01-01"))
    new = cap.create_need(session, **need(state_code="MW", themes=["cybercrime"], declared_on="2025-01-01"))
    partial = cap.create_need(session, **need(state_code="MW", themes=["cybercrime", "standards"]))
    cap.create_need(session, **need(state_code="MW", themes=["cybercrime"], status="met"))
    o = cap.create_offer(session, **offer(provider_state="NL", themes=["cybercrime"], beneficiary_scope="regions",
                                          beneficiary_regions=["Africa"]))  # fmt: skip
    cap.create_offer(session, **offer(provider_state="NL", themes=["cybercrime"], status="closed"))
    found = cap.matches(session, state="MW", provider="NL", now=TODAY)
    assert [(m.need_id, m.offer_id, m.score) for m in found] == [
        (old.id, o.id, 90.0),
        (new.id, o.id, 90.0),
        (partial.id, o.id, 45.0),
    ]
    assert [m.need_id for m in cap.matches(session, state="MW", provider="NL", min_score=50, now=TODAY)] == [
        old.id, new.id]  # fmt: skip
    assert [m.need_id for m in cap.matches(session, offer_id=o.id, now=TODAY) if m.state == "MW"] == [
        old.id, new.id, partial.id]  # fmt: skip
    assert cap.list_offers(session, cap.Filters(state="MW", provider="NL", status="open")) == [o]
    assert cap.list_offers(session, cap.Filters(state="FR", provider="NL", status="open")) == []
    assert [n.id for n in cap.list_needs(session, cap.Filters(state="mw", theme="standards"))] == [partial.id]
    assert {n.id for n in cap.list_needs(session, cap.Filters(region="Sub-Saharan Africa", status="open"))} >= {
        old.id, new.id, partial.id}  # fmt: skip


# ---------------------------------------------------------------- maturity


def test_assessments_keep_their_history(session: Any) -> None:
    first = cap.create_assessment(session, state_code="RW", framework="gci", assessed_on="2021-06-29",
                                  kind="external", assessor="ITU GCI 2020", scores={**GCI, "technical": 10},
                                  **SRC)  # fmt: skip
    second = cap.create_assessment(session, state_code="RW", framework="gci", assessed_on="2024-09-12",
                                   kind="self", scores=GCI)  # fmt: skip
    cap.create_assessment(session, state_code="RW", framework="cmm", assessed_on="2023-01-01", kind="external",
                          scores={k: 2.5 for k in models.CMM_DIMENSIONS})  # fmt: skip
    profile = {f.key: f for f in cap.maturity_profile(session, "rw")}
    gci = profile["gci"]
    assert [a["id"] for a in gci.assessments] == [first.id, second.id]
    assert gci.latest["scores"]["technical"] == 12 and gci.change["technical"] == 2
    assert gci.change["legal"] == 0 and gci.low == 0 and gci.high == 20
    assert profile["cmm"].change == {k: None for k in models.CMM_DIMENSIONS}
    with pytest.raises(Duplicate) as exc:
        cap.create_assessment(session, state_code="RW", framework="gci", assessed_on="2024-09-12", kind="self",
                              scores=GCI)  # fmt: skip
    assert fields(exc) == {"assessed_on"}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"scores": {**GCI, "legal": 21}}, {"scores.legal"}),
        ({"scores": {**GCI, "legal": -0.5}}, {"scores.legal"}),
        ({"scores": {**GCI, "legal": float("nan")}}, {"scores.legal"}),
        ({"scores": {**GCI, "legal": "high"}}, {"scores.legal"}),
        ({"scores": {k: v for k, v in GCI.items() if k != "cooperation"}}, {"scores.cooperation"}),
        ({"scores": {**GCI, "culture-society": 3}}, {"scores.culture-society"}),
        ({"framework": "cmm", "scores": {k: 6 for k in models.CMM_DIMENSIONS}},
         {f"scores.{k}" for k in models.CMM_DIMENSIONS}),
        ({"framework": "nist"}, {"framework"}),
        ({"kind": "peer"}, {"kind"}),
        ({"assessed_on": "2999-01-01"}, {"assessed_on"}),
        ({"assessed_on": "yesterday"}, {"assessed_on"}),
        ({"state_code": "AQ"}, {"state_code"}),
    ],
)  # fmt: skip
def test_bad_assessments_name_the_field(session: Any, values: dict[str, Any], expected: set[str]) -> None:
    before = count(session, MaturityAssessment)
    base = {"state_code": "UG", "framework": "gci", "assessed_on": "2024-01-01", "kind": "self", "scores": GCI}
    with pytest.raises(Invalid) as exc:
        cap.create_assessment(session, **{**base, **values})
    assert fields(exc) == expected, exc.value.problems
    assert count(session, MaturityAssessment) == before


# ---------------------------------------------------------------- several at once


def test_a_batch_is_all_or_nothing(session: Any) -> None:
    before = tuple(count(session, m) for m in (CapacityNeed, CapacityOffer, MaturityAssessment, AuditEntry))
    bad = {
        "needs": [need(state_code="ZM"), need(state_code="ZM", themes=["nope"]), need(state_code="AQ")],
        "offers": [offer(beneficiary_scope="regions", beneficiary_regions=["Atlantis"])],
        "assessments": [{"state_code": "ZM", "framework": "gci", "assessed_on": "2024-01-01", "kind": "self",
                         "scores": {**GCI, "legal": 25}}],
    }  # fmt: skip
    with pytest.raises(Invalid) as exc:
        cap.import_batch(session, bad)
    assert fields(exc) == {"needs.1.themes.0"}  # malformed fields are found first, all of them
    bad["needs"][1] = need(state_code="ZM")
    with pytest.raises(Invalid) as exc:
        cap.import_batch(session, bad)
    assert fields(exc) == {"needs.2.state_code", "offers.0.beneficiary_regions.0", "assessments.0.scores.legal"}
    assert tuple(count(session, m) for m in (CapacityNeed, CapacityOffer, MaturityAssessment, AuditEntry)) == before
    good = {"needs": bad["needs"][:2], "assessments": [{**bad["assessments"][0], "scores": GCI}]}
    made = cap.import_batch(session, good, actor=ANALYST)
    assert len(made["needs"]) == 2 and len(made["assessments"]) == 1 and made["offers"] == []
    assert count(session, AuditEntry) == before[3] + 3
    twice = {"assessments": [good["assessments"][0] | {"assessed_on": "2023-01-01"}] * 2}
    with pytest.raises(Duplicate) as exc:
        cap.import_batch(session, twice)
    assert fields(exc) == {"assessments.1.assessed_on"}


def test_state_summary(session: Any) -> None:
    n = cap.create_need(session, **need(state_code="SN", pillars=["cooperation"]))
    o = cap.create_offer(session, **offer(provider_state="SN", themes=["standards"]))
    summary = cap.state_summary(session, "sn", now=TODAY)
    assert summary["state"].code == "SN" and n in summary["needs"] and o in summary["offers_made"]
    assert o not in summary["offers_open_to"]  # a state is not its own beneficiary … in matching
    assert all(m.state == "SN" for m in summary["matches"])
