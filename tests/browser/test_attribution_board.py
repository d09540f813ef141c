"""The attribution board (/incidents/{id}/attribution) in a real browser: an administrator reaches it from the
incident page, adds hypotheses and graded evidence through its forms (a refused form names its fields), rates
the items in the matrix (attribution_board.js marks the changed cells), sees the scores and the ranking by
least inconsistency change, records observed techniques and sees the candidate groups with the warning that
they are a lead, never an attribution, and deletes a hypothesis through the confirmation — with no console
error, uncaught exception or CSP violation on the way. axe-core checks the filled board for serious or
critical violations; screenshots land in test-artifacts/screenshots/board-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from browser_checks import clean

pytestmark = pytest.mark.browser
AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
BLOCKING = ("serious", "critical")
NARROW = {"width": 390, "height": 844}
TECHNIQUES = "T1486 T1485, T1561.002\nT1059.001 S0368"  # NotPetya's behaviour, as public reports describe it


def _ids(live_node: Any) -> dict[str, int]:
    from sqlalchemy import select

    from accord.db import make_sessionmaker
    from accord.incidents.models import Incident, ThreatActor

    with make_sessionmaker(live_node.engine)() as s:
        sandworm = s.scalar(select(ThreatActor.id).where(ThreatActor.attack_id == "G0034"))
        other = s.scalar(select(Incident.id).where(Incident.slug != "notpetya-2017").order_by(Incident.id).limit(1))
    assert sandworm and other
    return {"sandworm": sandworm, "other": other}


@pytest.fixture(scope="module")
def filled_board(live_node: Any) -> int:
    """A board with everything on it, written through the service (for axe-core and the read-only views)."""
    from accord.attribution import service
    from accord.db import make_sessionmaker, unit_of_work

    ids = _ids(live_node)
    incident = ids["other"]
    with unit_of_work(make_sessionmaker(live_node.engine)) as s:
        hyps = [
            service.create_hypothesis(s, incident_id=incident, kind="state", state_code="RU"),
            service.create_hypothesis(s, incident_id=incident, kind="intrusion-set", actor_id=ids["sandworm"]),
            service.create_hypothesis(s, incident_id=incident, kind="unknown", note="Someone we have not named"),
        ]
        items = [
            service.create_evidence(
                s, incident_id=incident, title=title, evidence_class=cls, reliability=rel, credibility=cred,
                source="Browser fixture", urls=["https://example.org/report"],
            )
            for title, cls, rel, cred in (
                ("Wiper shares code with an earlier campaign", "malware", "B", 2),
                ("Command servers reused", "infrastructure", "A", 2),
                ("Targets concentrated in one state", "intent", "C", 3),
            )
        ]  # fmt: skip
        marks = [(0, 0, "consistent", "high"), (0, 1, "consistent", "high"), (1, 1, "consistent", "medium")]
        marks += [(2, 0, "inconsistent", "medium"), (2, 2, "neutral", "low")]
        for e, h, rating, diag in marks:
            service.set_rating(
                s, incident_id=incident, evidence_id=items[e].id, hypothesis_id=hyps[h].id, rating=rating,
                diagnosticity=diag,
            )  # fmt: skip
        service.add_observations(s, incident_id=incident, refs=["T1486", "T1485", "S0368"])
    return incident


def scores(page: Any) -> dict[str, int]:
    """Candidate → score, as the hypotheses table shows them."""
    rows = page.locator("table.hypotheses tbody tr[id^=hyp-]")
    out = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        value = row.locator(".score-value").inner_text().replace("<", "").replace(">", "")
        out[row.locator(".candidate").inner_text()] = int(value)
    return out


def ranking(page: Any) -> list[str]:
    return page.locator("ol.ranking .candidate").all_inner_texts()


def test_an_analyst_builds_the_board_of_an_incident(live_node: Any, new_context: Any, watch: Any, shoot: Any) -> None:
    ids = _ids(live_node)
    page = new_context("admin").new_page()
    seen = watch(page)
    board = f"/incidents/{live_node.incident_id}/attribution"

    page.goto(f"/incidents/{live_node.incident_id}")
    with page.expect_navigation():
        page.get_by_role("link", name="Attribution board").click()
    assert page.url.endswith(board)
    assert page.locator("h1").inner_text() == "Attribution board: NotPetya"
    assert "No hypothesis yet" in page.locator("#hypotheses").inner_text()
    shoot(page, "board-empty")

    # a hypothesis with nothing chosen is refused, and says which field
    with page.expect_navigation():
        page.get_by_role("button", name="Add the hypothesis").click()
    assert page.locator("#err-hypothesis-kind").is_visible()
    assert page.locator("#h-kind").get_attribute("aria-invalid") == "true"
    shoot(page, "board-hypothesis-errors")
    seen.console_errors[:] = [m for m in seen.console_errors if "status of 422" not in m]  # the refused form

    page.select_option("#h-kind", "state")
    page.select_option("#h-state", "RU")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the hypothesis").click()
    assert "done=hypothesis" in page.url
    page.get_by_text("Add a hypothesis", exact=True).click()  # the form folds away once there is a hypothesis
    page.select_option("#h-kind", "intrusion-set")
    page.select_option("#h-actor", str(ids["sandworm"]))
    page.fill("#h-note", "The unit public reporting ties to the 2015 and 2016 grid attacks.")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the hypothesis").click()

    for n, (title, cls, rel, cred) in enumerate(
        (
            ("Wiper shares code with an earlier campaign", "malware", "B", "2"),
            ("M.E.Doc update server compromised", "infrastructure", "A", "2"),
            ("Targets concentrated in Ukraine", "intent", "C", "3"),
        )
    ):
        if n:
            page.get_by_text("Add an evidence item", exact=True).click()
        page.fill("#e-title", title)
        page.select_option("#e-class", cls)
        page.select_option("#e-reliability", rel)
        page.select_option("#e-credibility", cred)
        page.fill("#e-source", "Vendor report")
        page.fill("#e-urls", "https://example.org/report")
        with page.expect_navigation():
            page.get_by_role("button", name="Add the item").click()
        assert "done=evidence" in page.url
    assert scores(page) == {"Russia": 33, "Sandworm Team": 33}
    assert page.locator("table.ach tbody tr").count() == 3

    # rate the items in the matrix; the script marks each changed cell
    cells = page.locator("table.ach tbody tr")

    def rate(row: int, column: int, rating: str, diagnosticity: str = "medium") -> None:
        cell = cells.nth(row).locator("td.cell").nth(column)
        cell.locator("select.rating").select_option(rating)
        cell.locator("select.diag").select_option(diagnosticity)

    rate(0, 0, "consistent", "high")
    rate(0, 1, "consistent", "high")
    rate(2, 0, "consistent")
    rate(2, 1, "neutral")
    assert page.locator("table.ach td.changed").count() == 4
    assert page.locator("#matrix-status").inner_text() == "4 cells changed, not saved yet"
    shoot(page.locator("#matrix"), "board-matrix-editing")
    with page.expect_navigation():
        page.get_by_role("button", name="Save the ratings").click()
    assert "done=ratings" in page.url
    assert page.locator("table.ach td.changed").count() == 0
    first = scores(page)
    assert first["Russia"] > first["Sandworm Team"] > 0, first
    assert ranking(page) == ["Russia", "Sandworm Team"]

    # the update server was Sandworm's, not what a state's own services would use: the lead changes
    rate(1, 0, "inconsistent", "high")
    rate(1, 1, "consistent", "high")
    with page.expect_navigation():
        page.get_by_role("button", name="Save the ratings").click()
    second = scores(page)
    assert second["Sandworm Team"] > second["Russia"], second
    assert ranking(page) == ["Sandworm Team", "Russia"]
    assert "M.E.Doc update server compromised" in page.locator("table.hypotheses").inner_text()  # contradicting
    assert page.locator("table.sensitivity tr.critical").count() >= 1
    assert "Sponsor states" in page.locator("#hypotheses").inner_text()

    # observed techniques give candidate groups, with the warning
    page.fill("#o-refs", TECHNIQUES)
    with page.expect_navigation():
        page.get_by_role("button", name="Add", exact=True).click()
    assert "done=observations" in page.url
    warning = page.locator(".lead-warning").inner_text()
    assert "A lead for analysts, never an attribution." in warning
    candidates = page.locator("table.candidates tbody tr")
    assert 1 <= candidates.count() <= 10
    assert "Sandworm Team" in page.locator("table.candidates").inner_text()
    assert page.locator("ul.refs li").count() == 5
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "board-filled")
    shoot(page.locator("#ttp"), "board-candidates")

    # a third hypothesis, deleted again through the confirmation
    page.get_by_text("Add a hypothesis", exact=True).click()
    page.select_option("#h-kind", "non-state")
    page.fill("#h-label", "Criminal ransomware group")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the hypothesis").click()
    row = page.locator("table.hypotheses tr", has_text="Criminal ransomware group")
    row.locator("details.confirm summary").click()
    shoot(row, "board-delete-confirm")
    with page.expect_navigation():
        row.get_by_role("button", name="Delete the hypothesis").click()
    assert "done=hypothesis-deleted" in page.url
    assert "Criminal ransomware group" not in page.locator("#hypotheses").inner_text()
    clean(seen, page, "the attribution board")


def test_the_board_reads_well_for_others(
    live_node: Any, filled_board: int, new_context: Any, watch: Any, shoot: Any
) -> None:
    analyst = new_context("analyst").new_page()
    seen = watch(analyst)
    analyst.goto(f"/incidents/{filled_board}/attribution")
    assert analyst.get_by_role("button", name="Save the ratings").count() == 1
    assert "Someone we have not named" in analyst.locator("#hypotheses").inner_text()
    assert analyst.locator("tr.residual").count() == 0  # an "unknown" hypothesis replaces the residual
    shoot(analyst, "board-analyst")
    clean(seen, analyst, "the analyst's board")

    viewer = new_context("viewer").new_page()
    response = viewer.goto(f"/incidents/{filled_board}/attribution")
    assert response is not None and response.status == 403
    viewer.goto(f"/incidents/{filled_board}")
    assert viewer.get_by_role("link", name="Attribution board").count() == 0


def test_the_board_fits_a_phone(filled_board: int, new_context: Any, shoot: Any) -> None:
    page = new_context("admin").new_page()
    page.set_viewport_size(NARROW)
    page.goto(f"/incidents/{filled_board}/attribution")
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"], f"the board is {width} px wide in a {NARROW['width']} px window"
    shoot(page, "board-phone")


def test_the_board_has_no_serious_accessibility_violations(filled_board: int, new_context: Any) -> None:
    page = new_context("admin", bypass_csp=True).new_page()
    path = f"/incidents/{filled_board}/attribution"
    response = page.goto(path)
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")
    for details in page.locator("details").all():  # the folded forms and confirmations too
        details.evaluate("(d) => { d.open = true; }")
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    blocking = [v for v in result["violations"] if v.get("impact") in BLOCKING]
    lines = [f"[{v['impact']}] {v['id']}: {v['help']} — {[n['target'] for n in v['nodes'][:3]]}" for v in blocking]
    assert not blocking, f"axe-core on {path}:\n  " + "\n  ".join(lines)
    assert re.search(r"never an attribution", page.locator(".lead-warning").inner_text())
