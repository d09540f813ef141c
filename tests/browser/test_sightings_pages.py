"""Sightings in a real browser: the list (/sightings) with its filters, the page of one indicator
(/indicators/{id}/sightings) where an analyst links the sighting to an incident, unlinks it, and shares it back
to the indicator's community (the button then says why it cannot be pressed again), the page of an incident
(/incidents/{id}/sightings), and the disabled share button with its reason for a suppressed sighting, a sighting
of an indicator known only to this node and a user whose organisation may not write to the collection. TLP in
the browser: a viewer with no organisation sees none of the community's sightings. Every page is watched for
console errors, uncaught exceptions, CSP violations and failed requests, checked with axe-core (no serious or
critical violation), opened at a phone's width (no sideways scrolling), and photographed into
test-artifacts/screenshots/sightings-*.png.

Data: the partner CERT of this module (a member of the conftest's "Browser CSIRTs" community, with write rights)
shares an AMBER, a RED (named to the analyst's CERT) and a GREEN indicator; the matching engine's output is
recorded through ``accord.matching.sightings.record`` with the built-in warning lists (the GREEN indicator
matched only private addresses, so it is suppressed), plus one indicator known only to this node.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from browser_checks import axe_at, clean, fits_narrow

pytestmark = pytest.mark.browser
T0 = dt.datetime(2026, 3, 2, 6, 30, tzinfo=dt.UTC)


def _indicator(name: str, level: str, value: str) -> dict[str, Any]:
    from accord.sharing.tlp import TLP2_BY_LEVEL

    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-02-01T00:00:00.000Z",
        "modified": "2026-02-01T00:00:00.000Z",
        "name": name,
        "pattern": f"[ipv4-addr:value = '{value}']",
        "pattern_type": "stix",
        "valid_from": "2026-02-01T00:00:00Z",
        "object_marking_refs": [TLP2_BY_LEVEL[level]],
    }


@pytest.fixture(scope="module")
def data(live_node: Any, accounts: dict[str, str]) -> dict[str, str]:
    """Indicators shared by a partner CERT, and what the matching engine found (recorded through the service)."""
    from sqlalchemy import select

    from accord.audit.service import SYSTEM, Actor
    from accord.auth.models import Party
    from accord.db import make_sessionmaker, unit_of_work
    from accord.matching import sightings
    from accord.matching.types import Evidence, Match
    from accord.matching.warninglists import WarningLists
    from accord.sharing import service as sharing

    coll_id = live_node.sharing["collection_id"]
    amber = _indicator("Partner C2 relay", "amber", "45.142.212.61")
    red = _indicator("Partner implant beacon", "red", "185.225.69.17")
    green = _indicator("Partner scanner", "green", "10.20.30.40")
    with unit_of_work(make_sessionmaker(live_node.engine)) as s:
        partner = sharing.create_party(s, key="browser-partner", name="Partner CERT", state_code="FI")
        sharing.set_member(s, live_node.sharing["community_id"], partner.id, can_read=True, can_write=True)
        own = s.scalar(select(Party.id).where(Party.key == "browser-cert"))
        coll = sharing.get_collection(s, coll_id)
        for obj, named in ((amber, None), (red, [own]), (green, None)):
            sharing.ingest(
                s, coll, [obj], actor=SYSTEM, producer_party_id=partner.id, provenance="peer:partner",
                unmarked="red", recipients=named,
            )  # fmt: skip
    local = f"indicator--{uuid.uuid4()}"

    def od() -> str:
        return f"observed-data--{uuid.uuid4()}"

    def hit(ind: str, hours: float, count: int, *values: str) -> Match:
        start = T0 + dt.timedelta(hours=hours)
        evidence = tuple(Evidence("ipv4-addr", "value", v) for v in values)
        return Match(ind, (od(),), start, start + dt.timedelta(minutes=20), count, evidence)

    matches = [
        hit(amber["id"], 0, 3, "45.142.212.61"),
        hit(amber["id"], 5, 2, "45.142.212.61"),
        hit(red["id"], 2, 1, "185.225.69.17"),
        hit(green["id"], 1, 4, "10.20.30.40"),
        hit(local, 3, 1, "91.215.85.142"),
    ]
    with unit_of_work(make_sessionmaker(live_node.engine)) as s:
        sightings.record(s, matches, warning_lists=WarningLists("builtin"), actor=Actor("matcher"))
    return {"amber": amber["id"], "red": red["id"], "green": green["id"], "local": local, "collection": coll_id}


def submit(page: Any, button: str) -> Any:
    with page.expect_navigation() as nav:
        page.get_by_role("button", name=button).click()
    return nav.value


def rows(page: Any) -> list[str]:
    return page.locator("table.sightings tbody tr").all_inner_texts()


def test_the_list_shows_what_tlp_allows(data: dict[str, str], new_context: Any, watch: Any, shoot: Any) -> None:
    page = new_context("analyst").new_page()
    seen = watch(page)
    page.goto("/sightings")
    assert page.locator("h1").inner_text() == "Sightings"
    texts = "\n".join(rows(page))
    for name in ("Partner C2 relay", "Partner implant beacon", "Partner scanner", data["local"]):
        assert name in texts, name
    amber = page.locator("tr", has=page.get_by_role("link", name="Partner C2 relay"))
    assert amber.locator(".tlp").inner_text() == "TLP:AMBER"
    assert amber.locator("td.num").inner_text().startswith("5")
    quiet = page.locator("tr", has=page.get_by_role("link", name="Partner scanner"))
    assert "Private-use addresses" in quiet.inner_text() and "10.20.30.40" in quiet.inner_text()
    shoot(page, "sightings-list")

    page.select_option("#f-suppressed", "true")
    submit(page, "Apply filters")
    assert "suppressed=true" in page.url
    assert [t.split("\n")[0] for t in rows(page)] == ["Partner scanner"]
    page.fill("#f-indicator", "not-an-indicator")
    submit(page, "Apply filters")
    assert "indicator" in page.get_by_role("alert").inner_text()  # reported, and ignored
    shoot(page, "sightings-list-filtered")
    clean(seen, page, "/sightings")

    # a viewer without an organisation sees the sighting of the local indicator only
    viewer = new_context("viewer").new_page()
    viewer.goto("/sightings")
    texts = "\n".join(rows(viewer))
    assert data["local"] in texts and "Partner" not in texts
    assert viewer.goto(f"/indicators/{data['red']}/sightings").status == 404
    shoot(viewer, "sightings-list-viewer")


def test_an_analyst_links_unlinks_and_shares(
    data: dict[str, str], live_node: Any, new_context: Any, watch: Any, shoot: Any
) -> None:
    page = new_context("analyst").new_page()
    seen = watch(page)
    page.goto("/sightings")
    with page.expect_navigation():
        page.get_by_role("link", name="Partner C2 relay").click()
    assert page.url.endswith(f"/indicators/{data['amber']}/sightings")
    assert page.locator("h1").inner_text() == "Partner C2 relay"
    assert "[ipv4-addr:value = '45.142.212.61']" in page.locator("dl.facts").first.inner_text()
    assert page.locator("table.observations tbody tr").count() == 2
    assert "Not linked to an incident." in page.locator("#main").inner_text()
    shoot(page, "sightings-indicator")

    # an incident that does not exist is refused, and the field says so
    page.fill("#s-incident", "no-such-incident")
    response = submit(page, "Link")
    assert response.status == 422
    assert page.locator("#s-incident").get_attribute("aria-invalid") == "true"
    seen.console_errors[:] = [m for m in seen.console_errors if "status of 422" not in m]

    page.fill("#s-incident", "notpetya-2017")
    submit(page, "Link")
    assert "done=linked" in page.url
    assert "linked to the incident" in page.get_by_role("status").first.inner_text()
    with page.expect_navigation():
        page.get_by_role("link", name="its sightings").click()
    assert page.url.endswith(f"/incidents/{live_node.incident_id}/sightings")
    assert page.locator("h1").inner_text() == "Sightings: NotPetya"
    assert "Partner C2 relay" in "\n".join(rows(page))
    shoot(page, "sightings-incident")
    page.go_back()
    submit(page, "Unlink from NotPetya")
    assert "Not linked to an incident." in page.locator("#main").inner_text()
    assert page.goto(f"/incidents/{live_node.incident_id}/sightings").ok
    assert "Partner C2 relay" not in page.locator("#main").inner_text()

    page.goto(f"/indicators/{data['amber']}/sightings")
    submit(page, "Share the sighting as TLP:AMBER")
    assert "done=shared" in page.url
    assert page.locator("table.shares tbody tr").count() == 1
    button = page.get_by_role("button", name="Share the sighting")
    assert button.is_disabled()
    assert "already shared" in page.locator("#share-why").inner_text()
    shoot(page, "sightings-indicator-shared")
    clean(seen, page, "the indicator page")

    # the hub holds it, AMBER, addressed to the partner that produced the indicator
    from sqlalchemy import select

    from accord.db import make_sessionmaker
    from accord.matching.models import Sighting
    from accord.sharing.models import ShareRecipient, StixObject

    with make_sessionmaker(live_node.engine)() as s:
        stix_id = s.scalar(select(Sighting.stix_id).where(Sighting.indicator_id == data["amber"]))
        row = s.scalar(select(StixObject).where(StixObject.stix_id == stix_id))
        assert row is not None and (row.collection_id, row.tlp) == (data["collection"], "amber")
        named = s.scalars(select(ShareRecipient.party_id).where(ShareRecipient.share_id == row.share_id)).all()
        assert len(named) == 1


def test_the_share_button_says_why_it_is_disabled(
    data: dict[str, str], new_context: Any, watch: Any, shoot: Any
) -> None:
    page = new_context("analyst").new_page()
    seen = watch(page)
    reasons = {
        "green": "warning list",  # suppressed
        "local": "known only to this node",
    }
    for key, why in reasons.items():
        page.goto(f"/indicators/{data[key]}/sightings")
        assert page.get_by_role("button", name="Share the sighting").is_disabled(), key
        assert why in page.locator("#share-why").inner_text(), key
    page.goto(f"/indicators/{data['green']}/sightings")
    assert "Private-use addresses" in page.locator("table.observations").inner_text()
    shoot(page, "sightings-indicator-suppressed")
    clean(seen, page, "the suppressed indicator page")

    # the administrator has no organisation: may not write to the collection
    admin = new_context("admin").new_page()
    assert admin.goto(f"/indicators/{data['red']}/sightings").status == 404  # RED is not for an admin without a party
    admin.goto(f"/indicators/{data['local']}/sightings")
    assert admin.get_by_role("button", name="Share the sighting").is_disabled()

    # a viewer reads, and is offered no form
    viewer = new_context("viewer").new_page()
    viewer.goto(f"/indicators/{data['local']}/sightings")
    assert viewer.locator("form[action$='/share'], form[action$='/incident']").count() == 0
    shoot(viewer, "sightings-indicator-viewer")


def test_accessible_and_narrow(data: dict[str, str], live_node: Any, new_context: Any) -> None:
    page = new_context("analyst", bypass_csp=True).new_page()
    paths = ["/sightings", *(f"/indicators/{data[k]}/sightings" for k in ("amber", "green", "local"))]
    paths.append(f"/incidents/{live_node.incident_id}/sightings")
    for path in paths:
        axe_at(page, path)
    narrow = new_context("analyst").new_page()
    for path in paths:
        fits_narrow(narrow, path)
