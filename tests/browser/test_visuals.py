"""The map and the chart really render in the browser (not just that their markup is there)."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.browser

# The <svg> with the most <path> elements on the page, described: how many paths, how many distinct
# fills (a choropleth has several), and whether it has a non-zero size on screen.
MAP_PROBE = """
() => {
  const svgs = [...document.querySelectorAll('svg')];
  if (!svgs.length) return null;
  const svg = svgs.reduce((a, b) => (b.querySelectorAll('path').length > a.querySelectorAll('path').length ? b : a));
  const paths = [...svg.querySelectorAll('path')];
  const fills = new Set(paths.map((p) => getComputedStyle(p).fill));
  const box = svg.getBoundingClientRect();
  return {paths: paths.length, fills: fills.size, width: box.width, height: box.height};
}
"""

LEGEND = "[class*=legend i], [id*=legend i], [aria-label*=legend i]"

# How many pixels of the first <canvas> are not transparent (0 before Chart.js has drawn).
CANVAS_INK = """
() => {
  const c = document.querySelector('canvas');
  if (!c || !c.width || !c.height) return 0;
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) n++;
  return n;
}
"""


def test_instrument_map_renders(new_context: Any, watch: Any, shoot: Any) -> None:
    page = new_context("analyst").new_page()
    seen = watch(page)
    response = page.goto("/instruments/BUDAPEST")
    assert response is not None and response.status == 200
    probe = page.evaluate(MAP_PROBE)
    assert probe is not None, "/instruments/BUDAPEST has no <svg> map"
    assert probe["paths"] >= 150, f"the map has only {probe['paths']} paths (expected one per country, ~177)"
    assert probe["fills"] >= 3, f"the map uses {probe['fills']} fill colour(s): not a choropleth of statuses"
    assert probe["width"] > 300 and probe["height"] > 150, f"the map is drawn {probe['width']}x{probe['height']} px"
    legend = page.locator(LEGEND)
    assert legend.count() >= 1 and legend.first.is_visible(), "the map has no visible legend"
    # the legend counts states per current status (bundled data: 48 ratified, 28 acceded; "signed"
    # counts only those that have not ratified since, so it is not asserted here)
    legend_text = " ".join(legend.first.inner_text().split()).lower()
    for status, count in (("ratified", 48), ("acceded", 28)):
        assert re.search(rf"{status}\D*{count}\b", legend_text), (
            f"the legend does not count {count} {status}: {legend_text!r}"
        )
    shoot(page.locator("svg").filter(has=page.locator("path")).first, "map-BUDAPEST")
    assert not seen.problems(page), seen.problems(page)


def test_dashboard_chart_renders(new_context: Any, watch: Any, shoot: Any) -> None:
    page = new_context("analyst").new_page()
    seen = watch(page)
    response = page.goto("/")
    assert response is not None and response.status == 200
    assert page.locator("canvas").count() >= 1, "the dashboard has no <canvas> chart"
    # Chart.js animates: wait until the canvas holds a real drawing
    page.wait_for_function(f"({CANVAS_INK})() > 2000", timeout=10_000)
    chart = page.evaluate(
        """() => {
          const c = document.querySelector('canvas');
          const chart = window.Chart && window.Chart.getChart ? window.Chart.getChart(c) : null;
          return chart ? {type: chart.config.type, labels: chart.data.labels.length,
                          points: chart.data.datasets.reduce((n, d) => n + d.data.length, 0)} : null;
        }"""
    )
    assert chart is not None, "the <canvas> carries no Chart.js chart"
    assert chart["labels"] >= 10, (
        f"the attributions-per-year chart has only {chart['labels']} labels (2007-2025 expected)"
    )
    assert chart["points"] >= 10, f"the chart has only {chart['points']} data points"
    shoot(page.locator("canvas").first, "chart-home")
    assert not seen.problems(page), seen.problems(page)
