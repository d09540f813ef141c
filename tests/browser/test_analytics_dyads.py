"""Dyads, trends and tension pages (/analytics/dyads, /analytics/trends, /analytics/tension and one pair's page) and
the dashboard's tension panel in a real browser, as an anonymous visitor (the pages are public): reached through
their links, they load without console errors, uncaught exceptions, CSP violations or failed requests; axe-core
finds no serious or critical violation; the Chart.js charts are really drawn and follow the filters; the network
figure is drawn; the CSV exports download; bad filters are said so; the pages do not scroll sideways on a phone;
screenshots land in test-artifacts/screenshots/analytics-*.png.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from browser_checks import axe_at, charts, clean, on_a_phone, submit, watched_page

pytestmark = pytest.mark.browser
DYAD_CHARTS = ("dyads-chart", "states-chart")
TREND_CHARTS = ("years-chart", "timing-chart", "responses-chart")


def test_dyads_page(new_context: Any, watch: Any, shoot: Any) -> None:
    page, seen = watched_page(new_context, watch)
    audit = new_context(bypass_csp=True).new_page()

    # reached from the dashboard
    page.goto("/")
    with page.expect_navigation():
        page.get_by_role("link", name="The dyad network, with filters").click()
    assert urlsplit(page.url).path == "/analytics/dyads"
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Who targets whom"
    assert page.locator("nav.sharing-nav a[aria-current=page]").inner_text() == "Dyads"
    drawn = charts(page, DYAD_CHARTS)
    assert drawn["dyads-chart"]["labels"][0] == "Russia → Ukraine"
    assert drawn["states-chart"]["labels"][0] == "Russia"
    network = page.locator("svg.dyad-network")
    assert network.locator("path").count() >= 20 and network.get_by_text("Russia (").count() == 1
    first = page.locator("section[aria-labelledby=h-network] table").first.locator("tbody tr").first.inner_text()
    assert "Russia" in first and "Ukraine" in first
    clean(seen, page, "/analytics/dyads")
    shoot(page, "analytics-dyads")
    shoot(network, "analytics-dyads-network")
    shoot(page.locator("section[aria-labelledby=h-network] div.grid.two"), "analytics-dyads-charts")
    axe_at(audit, "/analytics/dyads")

    # filters: espionage and data theft from 2015, government attributions only
    page.check("#f-type-espionage")
    page.check("#f-type-data_theft")
    page.fill("#f-year_from", "2015")
    page.select_option("#f-attributed_by", "government")
    submit(page, "Apply")
    query = parse_qs(urlsplit(page.url).query)
    assert query["type"] == ["espionage", "data_theft"] and query["year_from"] == ["2015"]
    page.wait_for_load_state("networkidle")
    filtered = charts(page, DYAD_CHARTS)
    assert sum(filtered["dyads-chart"]["values"][0]) < sum(drawn["dyads-chart"]["values"][0])
    assert page.locator("#f-type-espionage").is_checked() and not page.locator("#f-type-ddos").is_checked()
    meta = page.locator("p.meta").first.inner_text()
    assert meta.startswith("Incidents dated from 2015; espionage, data theft; attributions by governments")
    clean(seen, page, "/analytics/dyads filtered")
    shoot(page, "analytics-dyads-filtered")

    # the CSV export keeps the filters
    href = page.get_by_role("link", name="Dyads as CSV").get_attribute("href")
    assert href is not None and "type=espionage" in href and "format=csv" in href
    response = page.request.get(href)
    assert response.status == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.text().splitlines()[0].startswith("source,source_name,target")

    # sectors: a receiver sector narrows the view
    page.goto("/analytics/dyads")
    page.get_by_text("Receivers: sectors and categories").click()
    page.check("#f-sector-energy")
    submit(page, "Apply")
    assert parse_qs(urlsplit(page.url).query)["sector"] == ["energy"]
    assert page.locator("details[open] #f-sector-energy").is_checked()
    assert int(page.locator("dl.figures dd").first.inner_text()) < 20

    # a bad year: said so, the rest still shown
    page.goto("/analytics/dyads?year_from=soon&type=espionage")
    assert "give a year between 1900 and 2100" in page.get_by_role("alert").inner_text()
    assert page.locator(".field.invalid #f-year_from").count() == 1
    charts(page, ("dyads-chart",))
    clean(seen, page, "/analytics/dyads?year_from=soon")
    shoot(page, "analytics-dyads-bad-year")
    axe_at(audit, "/analytics/dyads?year_from=soon&type=espionage")

    on_a_phone(page, seen, shoot, "/analytics/dyads", "analytics-dyads-narrow", DYAD_CHARTS)


def test_trends_page(new_context: Any, watch: Any, shoot: Any) -> None:
    page, seen = watched_page(new_context, watch)
    audit = new_context(bypass_csp=True).new_page()
    page.goto("/analytics/dyads")
    with page.expect_navigation():
        page.locator("nav.sharing-nav").get_by_role("link", name="Trends").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Trends"
    drawn = charts(page, TREND_CHARTS)
    years = drawn["years-chart"]["labels"]
    assert years == sorted(years) and years[0] <= 2007 and years[-1] >= 2025
    assert "espionage" in drawn["responses-chart"]["labels"]
    rows = page.locator("section[aria-labelledby=h-responses] tbody tr")
    assert "All kinds" in rows.last.inner_text()
    assert page.locator("section[aria-labelledby=h-timing] dl.figures dd").first.inner_text() == "143"
    clean(seen, page, "/analytics/trends")
    shoot(page, "analytics-trends")
    shoot(page.locator("#years-chart"), "analytics-trends-years-chart")
    axe_at(audit, "/analytics/trends")

    page.fill("#f-year_from", "2018")
    page.fill("#f-year_to", "2021")
    submit(page, "Apply")
    page.wait_for_load_state("networkidle")
    filtered = charts(page, TREND_CHARTS)
    assert filtered["years-chart"]["labels"] == [2018, 2019, 2020, 2021]
    assert set(filtered["timing-chart"]["labels"]) <= {2018, 2019, 2020, 2021}
    clean(seen, page, "/analytics/trends?year_from=2018&year_to=2021")
    shoot(page, "analytics-trends-2018-2021")
    response = page.request.get(page.get_by_role("link", name="Responses as CSV").get_attribute("href") or "")
    assert response.status == 200 and "operation_type" in response.text().splitlines()[0]

    on_a_phone(page, seen, shoot, "/analytics/trends", "analytics-trends-narrow", TREND_CHARTS)


def test_tension_pages(new_context: Any, watch: Any, shoot: Any) -> None:
    page, seen = watched_page(new_context, watch)
    audit = new_context(bypass_csp=True).new_page()

    # the dashboard's panel: the most tense pairs now, each linking to its page
    page.goto("/")
    panel = page.locator("section[aria-labelledby=h-tense]")
    assert panel.locator("tbody tr").count() == 5
    first = panel.locator("tbody tr").first.get_by_role("link")
    pair = first.inner_text()
    assert " – " in pair
    clean(seen, page, "/")
    shoot(panel, "analytics-dashboard-tension")

    with page.expect_navigation():
        panel.get_by_role("link", name="All pairs, and how the tension index is computed").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Tension between states"
    drawn = charts(page, ("tension-chart",))
    assert drawn["tension-chart"]["labels"][0] == pair  # the same pair leads on both
    assert page.locator("section[aria-labelledby=h-formula]").get_by_text("halves every 365 days").count() == 1
    clean(seen, page, "/analytics/tension")
    shoot(page, "analytics-tension")
    axe_at(audit, "/analytics/tension")

    # one state's pairs at a date
    page.fill("#f-state", "RU")
    page.fill("#f-at", "2021-01-01")
    submit(page, "Apply")
    page.wait_for_load_state("networkidle")
    ru = charts(page, ("tension-chart",))
    assert all("Russia" in label for label in ru["tension-chart"]["labels"])
    assert ru["tension-chart"]["labels"][0] == "Russia – United States"
    assert "1 Jan 2021" in page.locator("p.meta").first.inner_text()
    clean(seen, page, "/analytics/tension?state=RU&at=2021-01-01")
    shoot(page, "analytics-tension-RU-2021")

    # one pair over time, with its drivers
    with page.expect_navigation():
        page.get_by_role("link", name="Russia – United States").click()
    assert urlsplit(page.url).path == "/analytics/tension/RU-US"
    assert parse_qs(urlsplit(page.url).query) == {"at": ["2021-01-01"]}
    page.wait_for_load_state("networkidle")
    series = charts(page, ("series-chart",))
    labels = series["series-chart"]["labels"]
    assert labels[-1] == "2021-01-01" and labels[0] < "2017-01-01"  # the DNC hack, ascribed in 2016
    assert page.locator("section[aria-labelledby=h-drivers] tbody tr").count() == 5
    assert page.locator("h1").inner_text() == "Russia and United States"
    clean(seen, page, "/analytics/tension/RU-US?at=2021-01-01")
    shoot(page, "analytics-tension-RU-US")
    shoot(page.locator("#series-chart"), "analytics-tension-RU-US-chart")
    axe_at(audit, "/analytics/tension/RU-US?at=2021-01-01")
    response = page.request.get(page.get_by_role("link", name="Events as CSV").get_attribute("href") or "")
    assert response.status == 200 and response.text().startswith("date,kind,what")

    # an unknown pair is a 404 page; a bad date is said so
    missing = audit.goto("/analytics/tension/XX-US")
    assert missing is not None and missing.status == 404
    page.goto("/analytics/tension?at=someday")
    assert "give a date as YYYY-MM-DD" in page.get_by_role("alert").inner_text()

    for path, chart in (("/analytics/tension", "tension-chart"), ("/analytics/tension/CN-US", "series-chart")):
        on_a_phone(page, seen, shoot, path, f"analytics-{path.rsplit('/', 1)[-1]}-narrow", (chart,))
    on_a_phone(page, seen, shoot, "/", "analytics-dashboard-narrow")  # the dashboard's tables scroll in their boxes
