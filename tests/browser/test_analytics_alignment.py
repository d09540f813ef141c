"""Alignment and blocs (/analytics/alignment) and the consensus finder (/analytics/consensus) in a real browser:
the forms are used as a visitor would (pick a forum, a state, provisions; sort the table by its headers); the
pages load without console errors, uncaught exceptions, CSP violations or failed requests; axe-core finds no
serious or critical violation; the Chart.js charts are really drawn; the CSV exports download; the pages do not
scroll sideways on a phone; screenshots land in test-artifacts/screenshots/analytics-*.png.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from browser_checks import axe_at, charts, clean, on_a_phone, submit, watched_page

pytestmark = pytest.mark.browser


def column(page: Any, table: str, index: int) -> list[str]:
    return page.locator(f"{table} tbody tr td:nth-child({index})").all_inner_texts()


def download_csv(page: Any, link_text: str) -> list[dict[str, str]]:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_text).first.click()
    return list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8"))))


def test_alignment_page(new_context: Any, watch: Any, shoot: Any) -> None:
    page, seen = watched_page(new_context, watch, accept_downloads=True)  # public, like the other dataset pages
    audit = new_context(bypass_csp=True).new_page()

    page.goto("/analytics/alignment")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Alignment and blocs"
    assert page.locator("nav.sharing-nav a[aria-current=page]").inner_text() == "Alignment and blocs"
    charts(page, ["bloc-chart"])
    assert "Pick a state above" in page.locator("section[aria-labelledby=h-similar]").inner_text()
    clean(seen, page, "/analytics/alignment")
    shoot(page, "analytics-alignment-un")
    axe_at(audit, "/analytics/alignment")

    # the OSCE, Russia: its closest partners are those with exactly its commitments
    page.select_option("#f-forum", "OSCE")
    page.select_option("#f-state", "RU")
    submit(page, "Compare")
    assert parse_qs(urlsplit(page.url).query)["state"] == ["RU"]
    page.wait_for_load_state("networkidle")
    drawn = charts(page, ["bloc-chart", "time-chart"])
    assert drawn["time-chart"]["datasets"][:3] == ["Belarus", "Kazakhstan", "Uzbekistan"]
    assert any(label.startswith("Bloc 1") for label in drawn["bloc-chart"]["datasets"])
    similarity = column(page, "#similar-table", 1)
    assert similarity[:3] == ["1.00", "1.00", "1.00"] and len(similarity) == 56  # the 56 other participating states
    assert page.locator("#similar-table th[aria-sort=descending]").text_content().strip().startswith("Similarity")
    clean(seen, page, "/analytics/alignment?forum=OSCE&state=RU")
    shoot(page, "analytics-alignment-osce-ru")
    shoot(page.locator("section[aria-labelledby=h-blocs] div.grid.two"), "analytics-alignment-blocs-chart")
    shoot(page.locator("section[aria-labelledby=h-similar] div.grid.two"), "analytics-alignment-time-chart")

    # sortable: by name, then the other way round
    with page.expect_navigation():
        page.locator("#similar-table thead").get_by_role("link", name="State").click()
    names = column(page, "#similar-table", 2)
    assert names == sorted(names) and page.locator("#similar-table th[aria-sort=ascending]").count() == 1
    with page.expect_navigation():
        page.locator("#similar-table thead").get_by_role("link", name="State").click()
    assert column(page, "#similar-table", 2) == sorted(names, reverse=True)
    with page.expect_navigation():
        page.locator("#similar-table thead").get_by_role("link", name="Bloc").click()
    blocs = [int(b) for b in column(page, "#similar-table", 4)]
    assert blocs == sorted(blocs)
    clean(seen, page, "sorting the similarity table")

    # CSV export of the table shown
    rows = download_csv(page, "This table as CSV")
    assert len(rows) == 56 and rows[0]["state"] == "RU" and rows[0]["similarity"] == "1.0"
    axe_at(audit, urlsplit(page.url).path + "?" + urlsplit(page.url).query)

    # bad values: said so next to the field, the rest still shown
    page.goto("/analytics/alignment?forum=OSCE&state=US&at=2020-02-31&cut=7")
    alert = page.get_by_role("alert").inner_text()
    assert "give a date between" in alert and "give a distance between 0.05 and 1" in alert
    assert page.locator(".field.invalid #f-at").count() == 1 and page.locator(".field.invalid #f-cut").count() == 1
    charts(page, ["bloc-chart"])
    clean(seen, page, "bad values")
    shoot(page, "analytics-alignment-bad-values")
    axe_at(audit, "/analytics/alignment?forum=OSCE&state=US&at=2020-02-31&cut=7")

    phone = "/analytics/alignment?forum=OSCE&state=FR"
    on_a_phone(page, seen, shoot, phone, "analytics-alignment-narrow", ["bloc-chart", "time-chart"])


def test_consensus_page(new_context: Any, watch: Any, shoot: Any) -> None:
    page, seen = watched_page(new_context, watch, accept_downloads=True)
    audit = new_context(bypass_csp=True).new_page()

    # reached from the alignment page's section navigation; an example to start from
    page.goto("/analytics/alignment")
    with page.expect_navigation():
        page.locator("nav.sharing-nav").get_by_role("link", name="Consensus finder").click()
    assert urlsplit(page.url).path == "/analytics/consensus"
    clean(seen, page, "/analytics/consensus")
    shoot(page, "analytics-consensus-start")
    axe_at(audit, "/analytics/consensus")
    with page.expect_navigation():
        page.get_by_role("link", name="The Budapest Convention and the Paris Call in the OSCE, two-thirds").click()
    page.wait_for_load_state("networkidle")
    drawn = charts(page, ["support-chart"])["support-chart"]
    assert drawn["labels"] == ["BUDAPEST", "PARIS-CALL"]
    figures = page.locator("dl.figures").inner_text()
    assert "57" in figures and "38" in figures  # members, two-thirds of them
    facts = page.locator("section[aria-labelledby=h-persuade] dl.facts").inner_text()
    assert "optimal" in facts and " ms" in facts
    persuade = column(page, "#persuade-table", 2)
    assert persuade and all(name for name in persuade)
    assert page.locator("#holdouts-table tr.current").count() == len(persuade)
    clean(seen, page, "the OSCE example")
    shoot(page, "analytics-consensus-osce")
    axe_at(audit, urlsplit(page.url).path + "?" + urlsplit(page.url).query)
    rows = download_csv(page, "Persuasion sets as CSV")
    assert {r["method"] for r in rows} == {"exact", "greedy"}
    assert sum(r["method"] == "exact" for r in rows) == len(persuade)

    # a package picked in the form: both Budapest protocols, the EU, by consensus
    page.select_option("#f-forum", "EU")
    page.select_option("#f-provisions", ["BUDAPEST-P1", "BUDAPEST-P2"])
    page.select_option("#f-threshold", "consensus")
    submit(page, "Find consensus")
    query = parse_qs(urlsplit(page.url).query)
    assert query["provisions"] == ["BUDAPEST-P1", "BUDAPEST-P2"] and query["forum"] == ["EU"]
    page.wait_for_load_state("networkidle")
    charts(page, ["support-chart"])
    support = page.locator("#support-table").text_content()
    assert "Blocked by" in support
    # under consensus every holdout must move: the persuasion set is all of them
    assert len(column(page, "#persuade-table", 2)) == page.locator("#holdouts-table tbody tr").count()
    clean(seen, page, "the EU package")
    shoot(page, "analytics-consensus-eu")
    rows = download_csv(page, "Provisions as CSV")
    assert [r["provision"] for r in rows] == ["BUDAPEST-P1", "BUDAPEST-P2"] and rows[0]["members"] == "27"

    # a custom forum with a state that is not one, and an unknown provision
    page.goto("/analytics/consensus?forum=custom&states=FR+QQ&provisions=NOPE&threshold=majority")
    alert = page.get_by_role("alert").inner_text()
    assert "not in the directory: QQ" in alert
    clean(seen, page, "bad values")
    shoot(page, "analytics-consensus-bad-values")
    axe_at(audit, "/analytics/consensus?forum=custom&states=FR+QQ&provisions=NOPE&threshold=majority")

    phone = "/analytics/consensus?forum=UN&provisions=PARIS-CALL/*&threshold=two_thirds"
    on_a_phone(page, seen, shoot, phone, "analytics-consensus-narrow", ["support-chart"])
