"""Reachability checks ("ping tests") in a real browser, as the administrator: create a campaign through the
form on /crisis/ping (first with bad values, which names the fields), run it, read the run's report — the two
Chart.js bar charts really drawn on their canvases — acknowledge one check with its button and see the
response rate (and the charts) change, find the result in the points-of-contact directory, and acknowledge a
check received from a peer node. Every page is watched for console errors, uncaught exceptions, CSP violations
and failed requests, checked with axe-core (no serious or critical violation, in the state the test leaves it
in: form errors shown, checks waiting, checks acknowledged), opened at a phone's width too (the page must
not scroll sideways: wide tables scroll in their own box), and photographed into
test-artifacts/screenshots/ping-*.png.

The live node of conftest.py has no contact in the states used here: this module adds four points of contact
in Brazil, India and South Africa (all BRICS members in the bundled data; the other browser tests use France
and Estonia), two with an e-mail channel and two with none, and a peer node that sent this node one check —
written to the live node's database the way test_crisis_room.py does it.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from browser_checks import clean, fits_narrow

pytestmark = pytest.mark.browser
AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
BLOCKING = ("serious", "critical")
ORGANISATION = "BRICS"
# (state, role, name, e-mail or None); none of these states has a contact elsewhere in the browser suite
CONTACTS = [
    ("BR", "technical", "Beatriz Browsertest (CTIR Gov)", "ctir-browsertest@example.org"),
    ("BR", "diplomatic", "Paulo Browsertest (Itamaraty)", None),
    ("IN", "24-7", "Asha Browsertest (CERT-In duty desk)", "certin-browsertest@example.org"),
    ("ZA", "political", "Thabo Browsertest (DIRCO)", None),
]
ACKNOWLEDGED = CONTACTS[0]  # the contact whose check the test acknowledges (Americas, technical)
PEER = "ke-node-browsertest"
RECEIVED_CAMPAIGN = "CBM 8 reachability check (from Kenya)"
RECEIVED_FOR = "Duty officer Browsertest"
WIDE = {"width": 1280, "height": 900}  # conftest's viewport

# Both charts of a report: is a Chart.js instance attached to the canvas, what does it show, and how much of
# the canvas is painted at all and in the bars' colour (the bars are #1f3a5f and #b07d12, see ping.js).
CHART_PROBE = """
() => ['ping-region-chart', 'ping-role-chart'].map((id) => {
  const canvas = document.getElementById(id);
  if (!canvas) return {id, missing: true};
  const chart = window.Chart && window.Chart.getChart(canvas);
  const box = canvas.getBoundingClientRect();
  const out = {id, chart: !!chart, width: canvas.width, height: canvas.height, shownWidth: box.width,
               shownHeight: box.height, painted: 0, bars: 0, labels: null, values: null};
  if (chart) {
    out.labels = chart.data.labels;
    out.values = chart.data.datasets[0].data;
  }
  if (!canvas.width || !canvas.height) return out;
  const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const bar = id === 'ping-region-chart' ? [0x1f, 0x3a, 0x5f] : [0xb0, 0x7d, 0x12];
  for (let i = 0; i < px.length; i += 4) {
    if (px[i + 3] === 0) continue;
    out.painted++;
    if (px[i + 3] > 250 && Math.abs(px[i] - bar[0]) < 4 && Math.abs(px[i + 1] - bar[1]) < 4
        && Math.abs(px[i + 2] - bar[2]) < 4) out.bars++;
  }
  return out;
})
"""


@pytest.fixture(scope="module")
def ping_data(live_node: Any) -> dict[str, Any]:
    """The four points of contact, and one check that a peer node (Kenya's) sent to this node."""
    from accord.crisis import registry
    from accord.db import make_sessionmaker, unit_of_work
    from accord.directory.models import PointOfContact
    from accord.sharing import federation

    now = dt.datetime.now(dt.UTC)
    check_uid = str(uuid.uuid4())
    with unit_of_work(make_sessionmaker(live_node.engine)) as s:
        for state, role, name, email in CONTACTS:
            s.add(
                PointOfContact(
                    state_code=state,
                    role=role,
                    name=name,
                    title="Reachability test record",
                    channels=[{"kind": "email", "value": email}] if email else [],
                    languages=["en"],
                    sources=["https://example.org/browser-test"],
                    as_of=dt.date(2026, 1, 1),
                )
            )
        peer = federation.add_peer(s, name=PEER, base_url="https://ke-node.example.org", token="t0ken")
        s.flush()
        registry.load_all()
        answer = registry.INBOX["ping"](
            s,
            peer,
            {
                "id": f"ping:{check_uid}",
                "type": "ping",
                "from": "k" * 64,
                "check": check_uid,
                "campaign": RECEIVED_CAMPAIGN,
                "poc": {"name": RECEIVED_FOR, "role": "24-7"},
                "respond_by": (now + dt.timedelta(hours=48)).isoformat(),
            },
            now - dt.timedelta(minutes=20),
        )
        assert answer == {"status": "waiting", "check": check_uid}
        return {"check_uid": check_uid, "peer_id": peer.id}


# --------------------------------------------------------------------------------------------------
# helpers


def _format(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = [" ".join(map(str, n["target"])) for n in v["nodes"][:3]]
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} — {len(v['nodes'])} node(s): {targets}")
    return "\n  ".join(lines)


def axe_check(page: Any, what: str) -> None:
    """axe-core on the page as it is now (the page belongs to a context that bypasses the CSP: the node's
    CSP refuses the injected script, see test_pages.py)."""
    page.wait_for_load_state("networkidle")
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    blocking = [v for v in result["violations"] if v.get("impact") in BLOCKING]
    assert not blocking, f"axe-core on {what}:\n  " + _format(blocking)


def axe_at(page: Any, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path} answered {response and response.status}"
    axe_check(page, path)


def urlpath(url: str) -> str:
    return urlsplit(url).path


def forget_refused_form(seen: Any) -> None:
    # chromium logs the 422 answer of a refused form as a console error: expected there, and only there
    seen.console_errors[:] = [m for m in seen.console_errors if "status of 422" not in m]


def submit(page: Any, button: str) -> Any:
    with page.expect_navigation() as nav:
        page.get_by_role("button", name=button).click()
    return nav.value


def fill_campaign(page: Any, name: str, *, organisation: str, window: str, reminders: str) -> None:
    page.fill("#c-name", name)
    page.select_option("#c-scope", "organisation")
    page.select_option("#c-org", organisation)
    page.fill("#c-window", window)
    page.fill("#c-reminders", reminders)


def figure(page: Any, label: str) -> str:
    """The value of one figure of a report (``dl.figures``), e.g. "Response rate"."""
    item = page.locator("dl.figures > div").filter(has=page.locator("dt", has_text=re.compile(f"^{label}$")))
    return item.locator("dd").inner_text().strip()


def row_of(page: Any, table: Any, text: str) -> Any:
    rows = table.locator("tbody tr").filter(has_text=text)
    assert rows.count() == 1, f"{rows.count()} rows name {text!r}"
    return rows.first


def charts(page: Any) -> dict[str, dict[str, Any]]:
    page.wait_for_function(
        "() => window.Chart && ['ping-region-chart', 'ping-role-chart']"
        ".every((id) => window.Chart.getChart(document.getElementById(id)))"
    )
    return {c["id"].split("-")[1]: c for c in page.evaluate(CHART_PROBE)}


def assert_drawn(chart: dict[str, Any]) -> None:
    assert chart["chart"], f"no Chart.js instance on #{chart['id']}"
    assert chart["shownWidth"] > 250 and chart["shownHeight"] > 200, (
        f"#{chart['id']} is shown {chart['shownWidth']}x{chart['shownHeight']} px"
    )
    # axes, ticks and labels at least: a blank canvas has no painted pixel
    assert chart["painted"] > 500, f"#{chart['id']} is blank ({chart['painted']} painted pixels)"


def wide(page: Any) -> None:
    page.set_viewport_size(WIDE)


# --------------------------------------------------------------------------------------------------
# the test


def test_reachability_check_end_to_end(
    live_node: Any, ping_data: dict[str, Any], new_context: Any, watch: Any, shoot: Any
) -> None:
    page = new_context("admin").new_page()
    seen = watch(page)
    audit = new_context("admin", bypass_csp=True).new_page()  # axe-core runs here, page by page
    name = f"{ORGANISATION} contacts — browser check {uuid.uuid4().hex[:4]}"
    rate = f"{100 / len(CONTACTS):.0f} %"  # once one check is acknowledged

    # the campaign list and its form
    response = page.goto("/crisis/ping")
    assert response is not None and response.status == 200
    assert page.locator("h1").inner_text() == "Reachability checks"
    assert page.locator("nav.sharing-nav a[aria-current=page]").inner_text() == "Reachability checks"
    clean(seen, page, "/crisis/ping")
    shoot(page, "ping-campaigns-new")
    axe_at(audit, "/crisis/ping")

    # a reminder that is not a number: refused, the field named and marked, what was typed kept
    fill_campaign(page, name, organisation=ORGANISATION, window="24", reminders="12, soon")
    response = submit(page, "Create campaign")
    assert response.status == 422 and urlpath(page.url) == "/crisis/ping"
    alert = page.get_by_role("alert")
    assert "The campaign was not created" in alert.inner_text()
    assert "reminder hours" in alert.inner_text()
    assert page.locator(".field.invalid #c-reminders").count() == 1
    assert page.locator(".field.invalid").count() == 1
    assert page.locator("#c-reminders").input_value() == "12, soon"
    assert page.locator("#c-name").input_value() == name
    assert page.locator("#c-org").input_value() == ORGANISATION

    # a reminder outside the window and no organisation named: both fields are marked at once
    page.fill("#c-reminders", "30")
    page.select_option("#c-org", "")
    response = submit(page, "Create campaign")
    assert response.status == 422
    problems = alert.inner_text()
    assert "scope value" in problems and "name the organisation to check" in problems, problems
    assert "reminder hours" in problems and "between 1 and 23 hours" in problems, problems
    assert page.locator(".field.invalid #c-reminders").count() == 1
    assert page.locator(".field.invalid #c-org").count() == 1
    forget_refused_form(seen)
    clean(seen, page, "/crisis/ping with a refused form")
    shoot(page, "ping-campaigns-errors")
    audit.goto("/crisis/ping")
    fill_campaign(audit, name, organisation="", window="24", reminders="30")
    assert submit(audit, "Create campaign").status == 422
    axe_check(audit, "/crisis/ping with field errors")

    # corrected: created, and the campaign page offers to run it
    fill_campaign(page, name, organisation=ORGANISATION, window="48", reminders="24")
    submit(page, "Create campaign")
    assert re.fullmatch(r"/crisis/ping/campaigns/\d+", urlpath(page.url)), page.url
    campaign_path = urlpath(page.url)
    assert page.locator("h1").inner_text() == name
    meta = page.locator("p.meta").inner_text()
    assert f"members of {ORGANISATION}" in meta and "48 h to acknowledge" in meta and "reminders at 24 h" in meta
    assert "Not run yet." in page.locator("table").first.inner_text()
    clean(seen, page, campaign_path)
    shoot(page, "ping-campaign-new")
    axe_at(audit, campaign_path)

    # run it: one check per contact in scope, by e-mail or to be recorded here
    submit(page, "Run now")
    assert re.fullmatch(r"/crisis/ping/runs/\d+", urlpath(page.url)), page.url
    run_path = urlpath(page.url)
    assert page.locator("h1").inner_text() == name
    assert "open until" in page.locator("p.meta").inner_text()
    checks = page.locator("section[aria-labelledby=h-checks] table")
    assert checks.locator("tbody tr").count() == len(CONTACTS)
    for _state, kind, who, email in CONTACTS:
        row = row_of(page, checks, who)
        assert kind in row.inner_text()
        assert ("e-mail" if email else "no channel (record here)") in row.inner_text()
        assert row.get_by_role("button", name=f"Acknowledge for {who}").is_visible()
    assert figure(page, "Checks sent") == str(len(CONTACTS))
    assert figure(page, "Acknowledged") == "0"
    assert figure(page, "Response rate") == "0 %"
    assert figure(page, "Median time to acknowledge") == "—"
    by_state = page.locator("section[aria-labelledby=h-by-state] table").inner_text()
    assert all(state in by_state for state in ("Brazil", "India", "South Africa")), by_state

    # the charts are drawn: Chart.js owns both canvases, with one bar per region / role, all at 0 %
    before = charts(page)
    for chart in before.values():
        assert_drawn(chart)
    assert before["region"]["labels"] == ["Africa", "Americas", "Asia"]
    assert before["role"]["labels"] == ["24-7", "diplomatic", "political", "technical"]
    assert before["region"]["values"] == [0, 0, 0] and before["role"]["values"] == [0, 0, 0, 0]
    assert before["region"]["bars"] == 0 and before["role"]["bars"] == 0  # no bar has any height yet
    clean(seen, page, run_path)
    shoot(page, "ping-run")
    axe_at(audit, run_path)

    # the technical contact in Brazil answered by telephone: acknowledge it here
    state, role, contact, _email = ACKNOWLEDGED
    with page.expect_navigation():
        row_of(page, checks, contact).get_by_role("button", name=f"Acknowledge for {contact}").click()
    assert urlpath(page.url) == run_path and re.search(r"#check-[0-9a-f-]{36}$", page.url), page.url
    row = row_of(page, checks, contact)
    assert "via web, Browser test admin" in row.inner_text()
    assert row.get_by_role("button").count() == 0
    assert re.fullmatch(r"\d+ (s|min)", row.locator("td.num").last.inner_text().strip())
    assert checks.get_by_role("button", name=re.compile("^Acknowledge for")).count() == len(CONTACTS) - 1
    assert figure(page, "Acknowledged") == "1"
    assert figure(page, "Response rate") == rate
    assert re.fullmatch(r"\d+ (s|min)", figure(page, "Median time to acknowledge"))
    by_role = page.locator("section[aria-labelledby=h-by-role] table")
    assert "100 %" in row_of(page, by_role, role).inner_text()
    by_region = page.locator("section[aria-labelledby=h-by-region] table")
    assert "50 %" in row_of(page, by_region, "Americas").inner_text()

    # ... and the charts follow: Americas at 50 %, technical at 100 %, now with a bar drawn in each
    after = charts(page)
    for chart in after.values():
        assert_drawn(chart)
    assert after["region"]["values"] == [0, 50, 0], after["region"]
    assert after["role"]["values"] == [0, 0, 0, 100], after["role"]
    assert after["region"]["bars"] > 500, f"no Americas bar drawn on the region chart: {after['region']}"
    assert after["role"]["bars"] > after["region"]["bars"], "the 100 % bar is not taller than the 50 % one"
    clean(seen, page, f"{run_path} after the acknowledgement")
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "ping-run-acknowledged")
    shoot(page.locator("div.grid.two").first, "ping-run-charts")
    axe_at(audit, run_path)
    # on a phone: the tables scroll in their boxes, the charts are drawn one above the other
    fits_narrow(page, run_path)
    for chart in charts(page).values():
        assert_drawn(chart)
    clean(seen, page, f"{run_path} on a phone")
    shoot(page, "ping-run-narrow")
    wide(page)

    # the campaign: its run and the report across runs (with the same charts)
    page.goto(campaign_path)
    runs = page.locator("section[aria-labelledby=h-runs] table tbody tr")
    assert runs.count() == 1 and "open" in runs.first.inner_text() and rate in runs.first.inner_text()
    assert figure(page, "Response rate") == rate
    overall = charts(page)
    for chart in overall.values():
        assert_drawn(chart)
    assert overall["region"]["values"] == [0, 50, 0]
    clean(seen, page, campaign_path)
    shoot(page, "ping-campaign")
    axe_at(audit, campaign_path)
    fits_narrow(page, campaign_path)
    wide(page)

    # the campaign list shows the latest run's figures
    page.goto("/crisis/ping")
    listed = row_of(page, page.locator("section[aria-labelledby=h-campaigns] table"), name)
    assert f"members of {ORGANISATION}" in listed.inner_text() and rate in listed.inner_text()
    assert listed.get_by_role("link").nth(1).get_attribute("href") == run_path
    clean(seen, page, "/crisis/ping after a run")
    shoot(page, "ping-campaigns")
    axe_at(audit, "/crisis/ping")
    fits_narrow(page, "/crisis/ping")
    wide(page)

    # the directory: each contact's latest check — acknowledged (via the web) or still waiting
    page.goto("/crisis/contacts")
    assert page.locator("h1").inner_text() == "Directory and latest checks"
    directory = page.locator("div.table-scroll table")
    for _state, _role, who, _email in CONTACTS:
        row = row_of(page, directory, who)
        assert row.get_by_role("link").nth(1).get_attribute("href") == run_path  # "last checked" → the run
        result = row.locator("td").nth(5).inner_text()
        assert result == ("acknowledged via web" if who == contact else "waiting"), (who, result)
    clean(seen, page, "/crisis/contacts")
    shoot(page, "ping-contacts")
    axe_at(audit, "/crisis/contacts")
    fits_narrow(page, "/crisis/contacts")
    wide(page)
    page.goto("/crisis/contacts")
    # filtered to one state and role
    page.select_option("#f-state", state)
    page.select_option("#f-role", role)
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    assert directory.locator("tbody tr").count() == 1
    assert page.locator("p.count").inner_text() == "1 point of contact"
    assert "acknowledged" in row_of(page, directory, contact).inner_text()
    clean(seen, page, "/crisis/contacts filtered")
    shoot(page, "ping-contacts-filtered")

    # the check Kenya's node sent here: acknowledged, and the acknowledgement queued back to that node
    page.goto("/crisis/inbox/pings")
    assert page.locator("h1").inner_text() == "Reachability checks received"
    inbox = page.locator("div.table-scroll table")
    received = row_of(page, inbox, RECEIVED_CAMPAIGN)
    assert PEER in received.inner_text() and f"{RECEIVED_FOR} (24-7)" in received.inner_text()
    clean(seen, page, "/crisis/inbox/pings")
    shoot(page, "ping-received")
    axe_at(audit, "/crisis/inbox/pings")
    fits_narrow(page, "/crisis/inbox/pings")
    wide(page)
    page.goto("/crisis/inbox/pings")
    with page.expect_navigation():
        received.get_by_role("button", name=f"Acknowledge the check for {RECEIVED_FOR}").click()
    assert urlpath(page.url) == "/crisis/inbox/pings"
    received = row_of(page, inbox, RECEIVED_CAMPAIGN)
    assert "by Browser test admin" in received.inner_text() and received.get_by_role("button").count() == 0
    assert _queued_ack(live_node, ping_data["check_uid"]) == (PEER, ping_data["peer_id"], "Browser test admin")
    clean(seen, page, "/crisis/inbox/pings after the acknowledgement")
    shoot(page, "ping-received-acknowledged")
    axe_at(audit, "/crisis/inbox/pings")

    # the e-mailed checks were queued as e-mails (the node sends them; nothing leaves this test)
    assert _queued_mail(live_node, run_path) == sorted(e for *_, e in CONTACTS if e)


def _queued_ack(live_node: Any, check_uid: str) -> tuple[str, int, str]:
    from sqlalchemy import select

    from accord.crisis.models import Delivery
    from accord.db import make_sessionmaker

    with make_sessionmaker(live_node.engine)() as s:
        row = s.scalars(select(Delivery).where(Delivery.key == f"ping-ack:{check_uid}")).one()
        return row.destination, row.peer_id, row.payload["by"]


def _queued_mail(live_node: Any, run_path: str) -> list[str]:
    from sqlalchemy import select

    from accord.crisis.models import Delivery, PingCheck
    from accord.db import make_sessionmaker

    run_id = int(run_path.rsplit("/", 1)[1])
    with make_sessionmaker(live_node.engine)() as s:
        uids = s.scalars(select(PingCheck.uid).where(PingCheck.run_id == run_id))
        keys = [f"ping:{uid}" for uid in uids]
        rows = s.scalars(select(Delivery).where(Delivery.key.in_(keys), Delivery.kind == "ping"))
        return sorted(r.destination for r in rows if r.channel == "email")
