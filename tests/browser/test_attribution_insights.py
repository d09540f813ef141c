"""Coalitions and timing (/attributions/coalitions) and an incident's precedents (/incidents/{id}/precedents) in a
real browser: reached through their links (the attributions list, the incident page), they load without console
errors, uncaught exceptions, CSP violations or failed requests; axe-core finds no serious or critical violation;
the four Chart.js charts are really drawn on their canvases (and follow the year filter); the pages do not scroll
sideways on a phone; screenshots land in test-artifacts/screenshots/insights-*.png.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from browser_checks import WIDE, axe_at, charts, clean, fits_narrow

pytestmark = pytest.mark.browser
CHARTS = ("pairs-chart", "parties-chart", "timing-chart", "years-chart")


def test_coalitions_and_timing_page(live_node: Any, new_context: Any, watch: Any, shoot: Any) -> None:
    page = new_context("analyst").new_page()
    seen = watch(page)
    audit = new_context("analyst", bypass_csp=True).new_page()

    # reached from the attributions list
    page.goto("/attributions")
    with page.expect_navigation():
        page.get_by_role("link", name="Coalitions and timing of attributions").click()
    assert urlsplit(page.url).path == "/attributions/coalitions"
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Coalitions and timing"
    assert page.locator("nav.sharing-nav a[aria-current=page]").inner_text() == "Coalitions and timing"

    drawn = charts(page, CHARTS)  # each one drawn
    # the bundled data: the United Kingdom and the United States attributed together most often
    assert drawn["pairs-chart"]["labels"][0] == "United Kingdom + United States"
    assert drawn["parties-chart"]["labels"][0] == "United States"
    assert "United States" in drawn["timing-chart"]["labels"]
    years = drawn["years-chart"]["labels"]
    assert years == sorted(years) and years[0] <= 2010 and years[-1] >= 2024
    pairs_table = page.locator("section[aria-labelledby=h-coalitions] table").first
    first_row = pairs_table.locator("tbody tr").first.inner_text()
    assert "United Kingdom" in first_row and "United States" in first_row and "WannaCry" in first_row
    timing_rows = page.locator("section[aria-labelledby=h-timing] table").first.locator("tbody tr")
    assert "United States" in timing_rows.first.inner_text()
    clean(seen, page, "/attributions/coalitions")
    shoot(page, "insights-coalitions")
    shoot(page.locator("section[aria-labelledby=h-coalitions] div.grid.two"), "insights-coalitions-charts")
    shoot(page.locator("section[aria-labelledby=h-timing] div.grid.two"), "insights-timing-charts")
    axe_at(audit, "/attributions/coalitions")

    # the year filter: fewer pairs, the charts redrawn for those years only
    page.fill("#f-year_from", "2021")
    page.fill("#f-year_to", "2023")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply").click()
    assert parse_qs(urlsplit(page.url).query) == {"year_from": ["2021"], "year_to": ["2023"]}
    page.wait_for_load_state("networkidle")
    filtered = charts(page, CHARTS)
    assert set(filtered["years-chart"]["labels"]) <= {2021, 2022, 2023}
    assert sum(filtered["pairs-chart"]["values"][0]) < sum(drawn["pairs-chart"]["values"][0])
    assert "Attributions dated from 2021 to 2023" in page.locator("p.meta").first.inner_text()
    clean(seen, page, "/attributions/coalitions?year_from=2021&year_to=2023")
    shoot(page, "insights-coalitions-2021-2023")
    axe_at(audit, "/attributions/coalitions?year_from=2021&year_to=2023")

    # a year that is not one: said so, the rest still shown
    page.goto("/attributions/coalitions?year_from=soon")
    alert = page.get_by_role("alert")
    assert "give a year between 1900 and 2100" in alert.inner_text()
    assert page.locator(".field.invalid #f-year_from").count() == 1
    clean(seen, page, "/attributions/coalitions?year_from=soon")
    shoot(page, "insights-coalitions-bad-year")
    axe_at(audit, "/attributions/coalitions?year_from=soon")

    # on a phone: tables scroll in their boxes, the charts are drawn one above the other
    fits_narrow(page, "/attributions/coalitions")
    charts(page, CHARTS)
    clean(seen, page, "/attributions/coalitions on a phone")
    shoot(page, "insights-coalitions-narrow")
    page.set_viewport_size(WIDE)


def test_precedents_page(live_node: Any, new_context: Any, watch: Any, shoot: Any) -> None:
    page = new_context().new_page()  # an anonymous visitor: public data
    seen = watch(page)
    audit = new_context(bypass_csp=True).new_page()
    path = f"/incidents/{live_node.incident_id}/precedents"

    # reached from NotPetya's page
    page.goto(f"/incidents/{live_node.incident_id}")
    with page.expect_navigation():
        page.get_by_role("link", name="Precedents").click()
    assert urlsplit(page.url).path == path
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Precedents of NotPetya"
    toolbox = page.locator("section[aria-labelledby=h-followed] table")
    labels = toolbox.locator("tbody th").all_inner_texts()
    assert labels == [
        "Preventive measures",
        "Cooperative measures",
        "Stabilising measures",
        "Restrictive measures",
        "Support to lawful responses",
    ]
    restrictive = toolbox.locator("tbody tr").nth(3).locator("td").all_inner_texts()
    assert int(restrictive[0]) >= 1, restrictive  # EU sanctions followed Sandworm's attacks on Ukraine
    measures = page.get_by_role("list", name="Measures taken, with examples").inner_text()
    assert "Restrictive measures: sanctions" in measures and "For example" in measures, measures
    similar = page.locator("section[aria-labelledby=h-similar] ol.hits > li")
    assert similar.count() == 10
    assert "Sandworm Team" in similar.first.inner_text()
    scores = [float(t) for t in similar.locator(".score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    # each precedent's details: attributions alone or jointly, responses with their toolbox category
    details = page.locator("section[id^=p-]")
    assert details.count() == 10
    text = page.locator("section[aria-labelledby=h-similar]").inner_text()
    assert "jointly with" in text and "EU toolbox: restrictive" in text
    clean(seen, page, path)
    shoot(page, "insights-precedents-notpetya")
    axe_at(audit, path)

    # all incidents, five of them
    page.select_option("#p-scope", "all")
    page.select_option("#p-limit", "5")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    assert parse_qs(urlsplit(page.url).query) == {"scope": ["all"], "limit": ["5"]}
    assert page.locator("section[aria-labelledby=h-similar] ol.hits > li").count() == 5
    clean(seen, page, f"{path}?scope=all&limit=5")
    shoot(page, "insights-precedents-notpetya-all")
    axe_at(audit, f"{path}?scope=all&limit=5")

    fits_narrow(page, path)
    clean(seen, page, f"{path} on a phone")
    shoot(page, "insights-precedents-narrow")
    page.set_viewport_size(WIDE)
