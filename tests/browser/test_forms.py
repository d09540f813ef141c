"""Using the UI like an analyst: list filters, the search page, creating and editing an incident.

Contract with the pages (field names follow the API schemas):
- /incidents has a filter form with a field ``attributed_state`` (a <select> of ISO codes or a text
  input) and shows its results as rows of ``table tbody tr``;
- /search has a form with a text field ``q``; results link to the record pages;
- /incidents/new and /incidents/<id>/edit have one form with fields ``name``, ``slug``,
  ``operation_type``, ``start_date``, ``disclosure_date``, ``sources`` (one URL per line), ``as_of``,
  and at least one receiver row whose field names contain "receiver" and "state" / "categor" /
  "sector" (e.g. ``receivers-0-state_code``), or an "Add receiver" button that makes one;
- a successful save redirects to /incidents/<id>.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

ROWS = "table tbody tr"


def set_field(scope: Any, selector: str, value: str) -> None:
    field = scope.locator(selector).first
    assert field.count() == 1, f"no form field matches {selector}"
    if field.evaluate("e => e.tagName.toLowerCase()") == "select":
        field.select_option(value)
    else:
        field.fill(value)


def submit(page: Any, form: Any) -> None:
    with page.expect_navigation():
        form.locator("button[type=submit], input[type=submit], button:not([type])").last.click()


def rows_text(page: Any) -> list[str]:
    return [t.strip() for t in page.locator(ROWS).all_inner_texts()]


def wait_for_rows_change(page: Any, before: list[str], timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.2)):
        page.wait_for_timeout(200)
        try:
            if rows_text(page) != before:
                return
        except Exception:  # noqa: BLE001 - the page is navigating; try again
            continue


def test_incident_list_filter_by_attributed_state(new_context: Any, watch: Any, shoot: Any) -> None:
    page = new_context("analyst").new_page()
    seen = watch(page)
    page.goto("/incidents")
    before = rows_text(page)
    assert before, f"/incidents shows no rows ({ROWS})"
    form = page.locator("form", has=page.locator("[name=attributed_state]")).first
    set_field(form, "[name=attributed_state]", "KP")
    buttons = form.locator("button[type=submit], input[type=submit], button:not([type])")
    if buttons.count():
        buttons.last.click()
    # a plain GET form navigates, an htmx one swaps the rows in place: wait for the rows to change
    wait_for_rows_change(page, before)
    page.wait_for_load_state("networkidle")
    after = rows_text(page)
    shoot(page, "incidents-filtered-KP")

    assert after != before, "the rows did not change after filtering on attributed_state=KP"
    joined = "\n".join(after)
    assert "WannaCry" in joined, f"WannaCry missing from incidents attributed to KP: {after}"
    assert "NotPetya" not in joined, "NotPetya (attributed to Russia) is listed under KP"
    assert len(after) == 6, f"expected the 6 incidents attributed to North Korea, got {len(after)}"
    assert "attributed_state=KP" in page.url, f"the filter is not in the address ({page.url}), so it cannot be shared"
    assert not seen.problems(page), seen.problems(page)


def test_search_page_finds_an_incident_and_an_actor(live_node: Any, new_context: Any, watch: Any, shoot: Any) -> None:
    page = new_context("analyst").new_page()
    seen = watch(page)
    page.goto("/search")
    form = page.locator("main form", has=page.locator("[name=q]")).first
    if form.count() == 0:  # no form inside <main>: take the first search form on the page
        form = page.locator("form", has=page.locator("[name=q]")).first
    set_field(form, "[name=q]", "NotPetya")
    submit(page, form)
    page.wait_for_load_state("networkidle")
    shoot(page, "search-NotPetya")
    assert "q=NotPetya" in page.url, page.url
    targets = (f"/incidents/{live_node.incident_id}", "/incidents/notpetya-2017")  # by id or by slug
    link = page.locator(", ".join(f"a[href$='{t}']" for t in targets)).first
    assert link.count() == 1, "the search results do not link to NotPetya's page"
    with page.expect_navigation():
        link.click()
    assert urlsplit(page.url).path in targets
    assert "NotPetya" in page.locator("h1").first.inner_text()

    page.goto("/search?q=APT28")
    assert page.locator(f"a[href$='/actors/{live_node.actor_id}']").count() >= 1, "searching APT28 finds no actor link"
    assert not seen.problems(page), seen.problems(page)


def fill_receiver(page: Any, form: Any) -> None:
    state = "[name*=receiver i][name*=state i]"
    if form.locator(state).count() == 0:
        page.get_by_role("button", name=re.compile("add.*receiver", re.I)).first.click()
    set_field(form, state, "EE")
    set_field(form, "[name*=receiver i][name*=categor i]", "government")
    if form.locator("[name*=receiver i][name*=sector i]").count():
        set_field(form, "[name*=receiver i][name*=sector i]", "government_services")


def errors_on(page: Any) -> str:
    return page.locator("body").inner_text()[:1500]


def test_create_then_edit_an_incident(new_context: Any, watch: Any, shoot: Any) -> None:
    uniq = uuid.uuid4().hex[:6]
    name = f"Browser test operation {uniq}"
    page = new_context("analyst").new_page()
    seen = watch(page)

    response = page.goto("/incidents/new")
    assert response is not None and response.status == 200, f"/incidents/new answered {response and response.status}"
    form = page.locator("form", has=page.locator("[name=slug]")).first
    set_field(form, "[name=name]", name)
    set_field(form, "[name=slug]", f"browser-test-{uniq}")
    set_field(form, "[name=operation_type]", "espionage")
    set_field(form, "[name=start_date]", "2025-03-01")
    set_field(form, "[name=disclosure_date]", "2025-04-15")
    fill_receiver(page, form)
    set_field(form, "[name=sources]", "https://example.org/browser-test-report")
    set_field(form, "[name=as_of]", "2026-01-10")
    shoot(page, "incident-new-filled")
    submit(page, form)

    match = re.fullmatch(r"/incidents/(\d+)", urlsplit(page.url).path)
    assert match, f"saving the new incident led to {page.url}:\n{errors_on(page)}"
    incident_id = match.group(1)
    assert name in page.locator("h1").first.inner_text()
    assert "Estonia" in page.locator("body").inner_text(), "the receiver (Estonia) is not shown"
    shoot(page, "incident-created")

    response = page.goto(f"/incidents/{incident_id}/edit")
    assert response is not None and response.status == 200, f"the edit form answered {response and response.status}"
    form = page.locator("form", has=page.locator("[name=name]")).first
    assert form.locator("[name=name]").input_value() == name, "the edit form is not filled with the incident"
    new_name = f"Browser test operation {uniq} (renamed)"
    set_field(form, "[name=name]", new_name)
    submit(page, form)

    assert urlsplit(page.url).path == f"/incidents/{incident_id}", (
        f"saving the edit led to {page.url}:\n{errors_on(page)}"
    )
    assert new_name in page.locator("h1").first.inner_text()
    shoot(page, "incident-edited")
    assert not seen.problems(page), seen.problems(page)

    # every write lands in the audit log, which the administrator browses
    audit = new_context("admin").new_page()
    response = audit.goto("/admin/audit")
    assert response is not None and response.status == 200, f"/admin/audit answered {response and response.status}"
    text = audit.locator("body").inner_text()
    assert "browser-analyst" in text, "the audit log shows no write by browser-analyst"
    assert uniq in text or "incident" in text.lower(), "the audit log does not show the incident written"
    shoot(audit, "admin-audit-after-edit")
