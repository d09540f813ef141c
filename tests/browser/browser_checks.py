"""Checks the browser tests share: nothing complained on the page, axe-core finds no serious violation, the page
fits a phone's width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"  # axe-core 4.14.1 from the npm registry
BLOCKING = ("serious", "critical")
NARROW = {"width": 390, "height": 844}  # a phone


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
