"""Who sees what, in the browser: anonymous visitors, viewers and analysts at the doors of the UI."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser


def landed_on_login(page: Any) -> bool:
    return urlsplit(page.url).path == "/login"


def visible_text(page: Any) -> str:
    return page.locator("body").inner_text()


def test_anonymous_visitor_sees_no_points_of_contact(
    new_context: Any, french_contact: tuple[str, str], shoot: Any
) -> None:
    page = new_context().new_page()
    response = page.goto("/states/FR")
    shoot(page, "anonymous-state-FR")
    assert response is not None
    if landed_on_login(page):
        return  # a node that does not publish to anonymous visitors: nothing to leak
    assert response.status == 200, f"/states/FR answered {response.status} to an anonymous visitor"
    html = page.content()
    for secret in french_contact:
        assert secret not in html, f"an anonymous visitor sees the point of contact ({secret!r}) on /states/FR"


def test_viewer_sees_no_points_of_contact(new_context: Any, french_contact: tuple[str, str]) -> None:
    page = new_context("viewer").new_page()
    response = page.goto("/states/FR")
    assert response is not None and response.status == 200
    html = page.content()
    for secret in french_contact:
        assert secret not in html, f"a viewer sees the point of contact ({secret!r}) on /states/FR"


def test_analyst_sees_points_of_contact(new_context: Any, french_contact: tuple[str, str], shoot: Any) -> None:
    # the positive control of the two tests above: the contact is there for those allowed to see it
    page = new_context("analyst").new_page()
    response = page.goto("/states/FR")
    shoot(page, "analyst-state-FR")
    assert response is not None and response.status == 200
    name, _email = french_contact
    assert name in visible_text(page), "an analyst does not see France's point of contact on /states/FR"


def test_anonymous_visitor_cannot_open_the_incident_form(new_context: Any) -> None:
    page = new_context().new_page()
    response = page.goto("/incidents/new")
    assert response is not None
    assert landed_on_login(page) or response.status in (401, 403), (
        f"an anonymous visitor got /incidents/new with status {response.status} at {page.url}"
    )
    assert page.locator("form input[name=slug]").count() == 0, "the incident form is shown to an anonymous visitor"


def test_viewer_cannot_open_the_incident_form(new_context: Any) -> None:
    page = new_context("viewer").new_page()
    response = page.goto("/incidents/new")
    assert response is not None and response.status == 403, f"a viewer got /incidents/new with {response.status}"
    assert page.locator("form input[name=slug]").count() == 0


def test_analyst_cannot_open_admin_pages(new_context: Any) -> None:
    page = new_context("analyst").new_page()
    for path in ("/admin/users", "/admin/audit"):
        response = page.goto(path)
        assert response is not None and response.status == 403, f"an analyst got {path} with {response.status}"


def test_wrong_password_says_so_and_signs_nobody_in(
    new_context: Any, accounts: dict[str, str], login_form: Any, shoot: Any
) -> None:
    context = new_context()
    page = context.new_page()
    page.goto("/login")
    plain_lines = set(visible_text(page).splitlines())
    login_form(page, accounts["analyst"], "not-the-password")
    shoot(page, "login-wrong-password")
    assert landed_on_login(page), f"a wrong password led to {page.url}"
    news = [line for line in visible_text(page).splitlines() if line.strip() and line not in plain_lines]
    assert news, "after a wrong password the login page shows no message (its text did not change)"
    response = page.goto("/incidents/new")
    assert response is not None
    assert landed_on_login(page) or response.status in (401, 403), "a failed sign-in still opened the incident form"
