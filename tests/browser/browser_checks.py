"""Checks the browser tests share: nothing complained on the page, axe-core finds no serious violation, the page
fits a phone's width, the Chart.js charts are really drawn."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"  # axe-core 4.14.1 from the npm registry
BLOCKING = ("serious", "critical")
NARROW = {"width": 390, "height": 844}  # a phone
WIDE = {"width": 1280, "height": 900}  # the window every new context opens with

# Per canvas: is a Chart.js instance attached, what does it show (labels, each dataset's data and label), how big
# is it, how many pixels are painted
CHART_PROBE = """
(ids) => ids.map((id) => {
  const canvas = document.getElementById(id);
  if (!canvas) return {id, missing: true};
  const chart = window.Chart && window.Chart.getChart(canvas);
  const box = canvas.getBoundingClientRect();
  const out = {id, chart: !!chart, shownWidth: box.width, shownHeight: box.height, painted: 0,
               labels: chart ? chart.data.labels : null,
               values: chart ? chart.data.datasets.map((d) => d.data) : null,
               datasets: chart ? chart.data.datasets.map((d) => d.label) : null};
  if (!canvas.width || !canvas.height) return out;
  const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) out.painted++;
  return out;
})
"""


def watched_page(new_context: Any, watch: Any, role: str | None = None, **options: Any) -> tuple[Any, Any]:
    """A page in a new context (as ``role``, or an anonymous visitor), and what watches it for complaints."""
    page = new_context(role, **options).new_page()
    return page, watch(page)


def clean(seen: Any, page: Any, what: str) -> None:
    """Nothing complained on the page so far (CSP violations are counted per document: check each page)."""
    problems = seen.problems(page)
    assert not problems, f"{what} complained:\n  " + "\n  ".join(problems)


def axe_at(page: Any, path: str) -> None:
    """axe-core on ``path``, in a context that bypasses the CSP (the node's CSP refuses the injected script)."""
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path} answered {response and response.status}"
    page.wait_for_load_state("networkidle")
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    blocking = [v for v in result["violations"] if v.get("impact") in BLOCKING]
    lines = [f"[{v['impact']}] {v['id']}: {v['help']} — {[n['target'] for n in v['nodes'][:3]]}" for v in blocking]
    assert not blocking, f"axe-core on {path}:\n  " + "\n  ".join(lines)


def fits_narrow(page: Any, path: str) -> Any:
    """Opens ``path`` at a phone's width: the page must not scroll sideways (wide tables scroll in their box)."""
    page.set_viewport_size(NARROW)
    page.goto(path)
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"], f"{path} is {width} px wide in a {NARROW['width']} px window"
    return page


def submit(page: Any, button: str) -> Any:
    """Clicks the button named ``button`` and waits for the page it leads to; returns that page's response."""
    with page.expect_navigation() as nav:
        page.get_by_role("button", name=button).click()
    return nav.value


def assert_drawn(chart: dict[str, Any]) -> None:
    """One canvas of :data:`CHART_PROBE`: a Chart.js chart, shown at a readable size, with more than a few pixels."""
    assert chart["chart"], f"no Chart.js instance on #{chart['id']}"
    assert chart["shownWidth"] > 250 and chart["shownHeight"] > 200, chart
    assert chart["painted"] > 2000, f"#{chart['id']} is nearly blank ({chart['painted']} painted pixels)"


def charts(page: Any, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Waits for a Chart.js chart on each canvas of ``ids``, checks each is drawn; what each shows, by id."""
    page.wait_for_function(
        "(ids) => window.Chart && ids.every((id) => window.Chart.getChart(document.getElementById(id)))", arg=list(ids)
    )
    found = {c["id"]: c for c in page.evaluate(CHART_PROBE, list(ids))}
    for chart in found.values():
        assert_drawn(chart)
    return found


def on_a_phone(
    page: Any, seen: Any, shoot: Callable[[Any, str], Any], path: str, shot: str, chart_ids: Sequence[str] = ()
) -> None:
    """``path`` at a phone's width: fits it (:func:`fits_narrow`), its charts are drawn, nothing complained;
    screenshot ``shot``; then the window is wide again."""
    fits_narrow(page, path)
    if chart_ids:
        charts(page, chart_ids)
    clean(seen, page, f"{path} on a phone")
    shoot(page, shot)
    page.set_viewport_size(WIDE)


def accessible_and_narrow(new_context: Any, watch: Any, path: str, role: str | None = None) -> Any:
    """``path`` (as ``role``) opens with nothing complaining, passes axe-core and fits a phone's width; returns the
    page opened at a phone's width."""
    page, seen = watched_page(new_context, watch, role)
    page.goto(path)
    clean(seen, page, path)
    axe_at(new_context(role, bypass_csp=True).new_page(), path)
    narrow = new_context(role).new_page()
    fits_narrow(narrow, path)
    return narrow
