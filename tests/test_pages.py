"""Server-rendered pages: every page with the bundled data, filters, paging, exports, the incident form,
who may use it, and escaping of everything users write."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest_helpers import PASSWORD, login

PAGES = [
    "/",
    "/states",
    "/states/RU",
    "/states/ee",
    "/incidents",
    "/attributions",
    "/actors",
    "/instruments",
    "/instruments/BUDAPEST",
    "/instruments/UNGGE-2015",
    "/search",
    "/search?q=notpetya",
    "/incidents/notpetya-2017",
]
PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def anon(app: Any) -> TestClient:
    return TestClient(app)


def signed_in(app: Any, role: str) -> TestClient:
    client = TestClient(app)
    assert login(client, role, PASSWORD).status_code in (302, 303)
    return client


@pytest.fixture(scope="module")
def analyst(app: Any, accounts: dict[str, str]) -> TestClient:
    return signed_in(app, "analyst")


def csrf(client: TestClient) -> str:
    return client.cookies.get("accord_csrf", "")


def form_data(slug: str, **changes: Any) -> dict[str, Any]:
    data = {
        "slug": slug,
        "name": f"Test operation {slug}",
        "aliases": "Alias One\nAlias Two",
        "description": "A test incident.",
        "start_date": "2021-03-01",
        "end_date": "",
        "disclosure_date": "2021-04-02",
        "date_precision": "day",
        "operation_type": "espionage",
        "intensity": "2",
        "receivers-0-state_code": "EE",
        "receivers-0-category": "government",
        "receivers-0-sector": "government_services",
        "receivers-1-state_code": "",
        "receivers-1-category": "",
        "receivers-1-sector": "",
        "sources": "https://example.org/report\nhttps://example.org/second",
        "as_of": "2024-01-01",
    }
    data.update(changes)
    return data


def incident_id(response: Any) -> int:
    match = re.fullmatch(r"/incidents/(\d+)", response.headers["location"])
    assert match, response.headers.get("location")
    return int(match.group(1))


def create(client: TestClient, slug: str, **changes: Any) -> int:
    r = client.post(
        "/incidents/new", data={**form_data(slug, **changes), "csrf_token": csrf(client)}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    return incident_id(r)


def version_in(html: str) -> str:
    match = re.search(r'name="version" value="(\d+)"', html)
    assert match
    return match.group(1)


# ---------------------------------------------------------------- reading, anonymously


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_for_anonymous_visitors(anon: TestClient, path: str) -> None:
    r = anon.get(path)
    assert r.status_code == 200, r.text[:500]
    html = r.text
    assert html.startswith("<!doctype html>") and '<html lang="en">' in html
    assert html.count("<h1") == 1
    assert "<main" in html and "<nav" in html and "<footer" in html
    assert 'href="/login"' in html  # anonymous: a sign-in link, no logout form
    assert " style=" not in html and "<style" not in html  # strict CSP: no inline styles
    assert not re.search(r"<script(?![^>]*(src=|type=\"application/json\"))", html)  # no inline scripts


def test_dashboard_shows_latest_chart_pairs_and_search(anon: TestClient) -> None:
    html = anon.get("/").text
    assert "Latest incidents" in html and "Latest attributions" in html
    assert 'id="per-year-data"' in html and "/static/vendor/chart.umd.min.js" in html
    assert "attributed pairs" in html and "/incidents?attributing_state=" in html
    assert 'action="/search"' in html


def test_state_profile_gathers_the_record(anon: TestClient) -> None:
    html = anon.get("/states/RU").text
    assert "Russia" in html and "NotPetya" in html
    for heading in (
        "Memberships",
        "Commitments",
        "Incidents suffered",
        "Attributions made",
        "Responses taken",
        "Responses received",
        "Timeline",
    ):
        assert heading in html
    assert "Points of contact" not in html  # anonymous visitors never see contacts
    assert '/static/css/print.css" media="print"' in html


def test_state_profile_shows_joint_and_single_attributions(anon: TestClient) -> None:
    html = anon.get("/states/US").text
    assert "jointly" in html and "alone" in html


def test_contacts_only_for_roles_that_may_read_them(app: Any, accounts: dict[str, str]) -> None:
    assert "Points of contact" in signed_in(app, "analyst").get("/states/EE").text
    assert "Points of contact" not in signed_in(app, "viewer").get("/states/EE").text


def test_unknown_state_and_incident_are_404(anon: TestClient) -> None:
    assert anon.get("/states/QQ").status_code == 404
    assert anon.get("/states/toolong").status_code == 404
    assert anon.get("/incidents/999999").status_code == 404
    assert anon.get("/actors/abc").status_code == 404
    assert anon.get("/instruments/NOPE").status_code == 404


def test_incident_page_has_timeline_actors_norms_sources(anon: TestClient) -> None:
    html = anon.get("/incidents/notpetya-2017").text
    assert 'class="timeline"' in html and "Operation begins" in html and "attributes it to" in html
    assert "Actors" in html and "Norms implicated" in html
    assert re.search(r'<a href="https://[^"]+" rel="noopener noreferrer">', html)


def test_instrument_page_has_map_table_and_counts(anon: TestClient) -> None:
    html = anon.get("/instruments/BUDAPEST").text
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert svg.count("<path") > 150
    assert 'class="st-ratified"' in svg and "<title>France: ratified</title>" in svg
    assert re.search(r"Ratified <strong>\d+</strong>", html)
    assert "No commitment recorded" in html
    assert "Every state&#39;s status" in html or "Every state's status" in html
    assert "Provisions" in html


def test_map_geometry_is_decoded_once_and_covers_the_world() -> None:
    from accord.web import geo

    world = geo.world()
    assert geo.world() is world
    codes = {c.code for c in world.countries}
    assert {"FR", "US", "RU", "CN", "BR", "AU", "XK", "FJ"} <= codes
    assert "AQ" not in codes
    assert all(c.path.startswith("M") and c.path.endswith("Z") for c in world.countries)


# ---------------------------------------------------------------- lists: filters, paging, export


def test_incident_filters(anon: TestClient) -> None:
    html = anon.get("/incidents?attributed_state=KP").text
    assert "WannaCry" in html and "NotPetya" not in html
    html = anon.get("/incidents?attributed_state=RU&year_from=2017&year_to=2017").text
    assert "NotPetya" in html and "Cyber attacks on Estonia" not in html


def test_bad_filter_values_are_reported_not_fatal(anon: TestClient) -> None:
    r = anon.get("/incidents?year_from=abc&attributed_state=ZZ")
    assert r.status_code == 200
    assert 'class="error"' in r.text


def test_attribution_and_actor_and_state_filters(anon: TestClient) -> None:
    assert "Salt Typhoon" in anon.get("/attributions?by_state=NZ").text
    html = anon.get("/actors?sponsor_state=KP").text
    assert "Lazarus" in html and "APT28" not in html
    html = anon.get("/states?organisation=NATO").text
    assert ">Estonia</a>" in html and ">Austria</a>" not in html
    assert "Budapest" in anon.get("/instruments?kind=treaty").text


def test_lists_have_export_links_with_the_same_filters(anon: TestClient) -> None:
    html = anon.get("/incidents?attributed_state=RU&year_from=2017").text
    assert 'href="/api/v1/incidents/export?attributed_state=RU&amp;year_from=2017&amp;format=csv"' in html
    for path, resource in (
        ("/states", "states"),
        ("/attributions", "attributions"),
        ("/actors", "actors"),
        ("/instruments", "instruments"),
    ):
        assert f'href="/api/v1/{resource}/export?format=csv"' in anon.get(path).text
    r = anon.get("/api/v1/incidents/export?attributed_state=RU&year_from=2017&format=csv")
    assert r.status_code == 200 and "notpetya-2017" in r.text


def test_cursor_paging_follows_next_links(anon: TestClient) -> None:
    first = anon.get("/actors").text
    match = re.search(r'rel="next" href="([^"]+)"', first)
    assert match
    second = anon.get(match.group(1).replace("&amp;", "&"))
    assert second.status_code == 200 and "First page" in second.text
    assert anon.get("/actors?cursor=garbage").status_code == 200  # stale cursor: back to page one


def test_search_page(anon: TestClient) -> None:
    html = anon.get("/search?q=Budapest").text
    assert 'href="/instruments/BUDAPEST"' in html
    assert "0 results" in anon.get("/search?q=zzzzqqqq").text


# ---------------------------------------------------------------- the incident form


def test_anonymous_and_viewers_cannot_use_the_form(app: Any, anon: TestClient, unique: str) -> None:
    r = anon.get("/incidents/new", follow_redirects=False)
    assert r.status_code == 401 or r.headers.get("location", "").startswith("/login")
    viewer = signed_in(app, "viewer")
    assert viewer.get("/incidents/new").status_code == 403
    r = viewer.post("/incidents/new", data={**form_data(f"v-{unique}"), "csrf_token": csrf(viewer)})
    assert r.status_code == 403
    assert "0 results" in anon.get(f"/search?q=v-{unique}").text
    assert "New incident" not in viewer.get("/incidents").text


def test_form_without_csrf_token_is_refused(analyst: TestClient, unique: str) -> None:
    r = analyst.post("/incidents/new", data=form_data(f"c-{unique}"), follow_redirects=False)
    assert r.status_code == 403


def test_create_and_edit_an_incident_through_the_form(analyst: TestClient, anon: TestClient, unique: str) -> None:
    form = analyst.get("/incidents/new")
    assert form.status_code == 200 and 'name="csrf_token"' in form.text
    for label_for in ("i-slug", "i-name", "i-start_date", "i-operation_type", "r-0-state_code", "i-sources", "i-as_of"):
        assert f'<label for="{label_for}"' in form.text or f'for="{label_for}">' in form.text
    new_id = create(analyst, f"t-{unique}")
    page = anon.get(f"/incidents/{new_id}").text
    assert f"Test operation t-{unique}" in page and "Alias Two" in page and "Estonia" in page
    assert 'href="https://example.org/second"' in page

    edit = analyst.get(f"/incidents/{new_id}/edit").text
    version = version_in(edit)
    data = {**form_data(f"t-{unique}", name="Renamed operation", intensity="4"), "version": version}
    data.pop("slug")
    r = analyst.post(f"/incidents/{new_id}/edit", data={**data, "csrf_token": csrf(analyst)}, follow_redirects=False)
    assert r.status_code == 303
    page = anon.get(f"/incidents/{new_id}").text
    assert "Renamed operation" in page and "4 of 5" in page

    # a second edit from the stale form is refused, with a clear message, and nothing is written
    stale = {**data, "name": "Lost update", "csrf_token": csrf(analyst)}
    r = analyst.post(f"/incidents/{new_id}/edit", data=stale)
    assert r.status_code == 409 and "changed by someone else" in r.text
    assert "Lost update" not in anon.get(f"/incidents/{new_id}").text


def test_invalid_form_rerenders_with_messages_and_writes_nothing(
    analyst: TestClient, anon: TestClient, unique: str
) -> None:
    slug = f"bad-{unique}"
    r = analyst.post(
        "/incidents/new",
        data={
            **form_data(
                slug, end_date="2020-01-01", sources="not a url", operation_type="", **{"receivers-0-state_code": "QQ"}
            ),
            "csrf_token": csrf(analyst),
        },
    )
    assert r.status_code == 422
    assert "Nothing was saved" in r.text
    assert 'id="e-end_date"' in r.text and 'id="e-sources"' in r.text and 'id="e-operation_type"' in r.text
    assert f'value="{slug}"' in r.text  # what was typed is kept
    assert "0 results" in anon.get(f"/search?q={slug}").text

    r = analyst.post(
        "/incidents/new", data={**form_data(slug, **{"receivers-0-state_code": "QQ"}), "csrf_token": csrf(analyst)}
    )
    assert r.status_code == 422 and 'id="e-receivers-0-state_code"' in r.text

    create(analyst, slug)
    r = analyst.post("/incidents/new", data={**form_data(slug), "csrf_token": csrf(analyst)})
    assert r.status_code == 422 and "already exists" in r.text


# ---------------------------------------------------------------- escaping


def test_user_written_text_is_escaped_on_every_page(analyst: TestClient, anon: TestClient, unique: str) -> None:
    slug = f"x-{unique}"
    new_id = create(
        analyst,
        slug,
        name=f"{PAYLOAD} {unique}",
        aliases=PAYLOAD,
        description=PAYLOAD,
        start_date="2099-01-01",
        disclosure_date="",
    )
    pages = [
        f"/incidents/{new_id}",
        f"/incidents/{new_id}/edit",
        "/incidents?q=" + unique,
        "/",  # latest incidents (it starts in 2099)
        "/search?q=" + unique,
        "/states/EE",  # incidents suffered
        "/search?q=" + PAYLOAD,  # the query itself is echoed
        "/incidents?q=" + PAYLOAD + "&sector=" + PAYLOAD,
    ]
    for path in pages:
        client = analyst if path.endswith("/edit") else anon
        html = client.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html, path
    assert "&lt;script&gt;alert(" in anon.get(f"/incidents/{new_id}").text


def test_static_assets_are_served(anon: TestClient) -> None:
    for path in (
        "/static/css/accord.css",
        "/static/css/print.css",
        "/static/js/accord.js",
        "/static/js/charts.js",
        "/static/vendor/chart.umd.min.js",
    ):
        assert anon.get(path).status_code == 200, path
