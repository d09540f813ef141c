"""Real-browser tests: Playwright (Python) drives Debian's chromium against a live node.

The node runs in this process: ``create_app`` on a fresh SQLite file holding the bundled dataset,
served by uvicorn on 127.0.0.1 and a free port, in a background thread. Three accounts (admin,
analyst, viewer) are created once per run and signed in through the real login form; each test gets
fresh browser contexts carrying those sessions.

Chromium is ``/usr/bin/chromium`` (``make browser-deps`` / ``scripts/install-browser.sh`` installs it;
``playwright install`` is never used — it downloads, and this project's machines have no network).
Without it the suite is skipped, and said so in the last lines of the run (``Browser suite: SKIPPED
(...)``), unless ``ACCORD_REQUIRE_BROWSER=1`` (CI), which turns the skip into a failure.

Screenshots of every page land in ``test-artifacts/screenshots/`` at the repository root.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # this machine's network is closed: without these chromium keeps trying to reach Google's hosts
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRE_BROWSER = os.environ.get("ACCORD_REQUIRE_BROWSER") == "1"
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"

# Accounts created once per run. The passwords are random per run and never leave this process.
ROLES = ("admin", "analyst", "viewer")
PASSWORD_SUFFIX = os.urandom(8).hex()
# A point of contact for France that only signed-in roles with contacts:read may see.
POC_NAME = "Marianne Browsertest"
POC_EMAIL = "poc-browsertest@example.org"

_status: dict[str, str] = {}


def password_for(role: str) -> str:
    return f"Browser-{role}-{PASSWORD_SUFFIX}-Passphrase!"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(f"Browser suite: {_status.get('status', 'not requested by the selected tests')}")


# --------------------------------------------------------------------------------------------------
# The browser


def _unavailable(reason: str) -> None:
    _status["status"] = f"SKIPPED ({reason})"
    if REQUIRE_BROWSER:
        pytest.fail(f"ACCORD_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found; `make browser-deps` installs Debian's chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"Playwright for Python is not installed ({exc}); pip install -e '.[test]'")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    for old in SCREENSHOTS.glob("*.png"):  # the artifacts show this run only
        old.unlink()
    b = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    _status["status"] = f"ran (chromium {b.version}, headless)"
    yield b
    b.close()


# --------------------------------------------------------------------------------------------------
# The live node


@dataclass
class LiveNode:
    base_url: str
    engine: Any
    incident_id: int  # NotPetya (slug notpetya-2017); its page answers to either
    actor_id: int  # APT28
    sharing: dict[str, Any] = field(default_factory=dict)  # collection / community / object ids (set by `accounts`)


def _load_dataset(engine: Any) -> None:
    # same as tests/conftest.py::_load (tests/ is not a package, so it is repeated here)
    from accord.dataset.files import bundled_dataset
    from accord.dataset.importer import import_bundle
    from accord.db import make_sessionmaker, unit_of_work
    from accord.migrate import upgrade

    upgrade(engine)
    with unit_of_work(make_sessionmaker(engine)) as session:
        import_bundle(session, bundled_dataset())


def _add_french_contact(engine: Any) -> None:
    from accord.db import make_sessionmaker, unit_of_work
    from accord.directory.models import PointOfContact

    with unit_of_work(make_sessionmaker(engine)) as session:
        session.add(
            PointOfContact(
                state_code="FR",
                role="diplomatic",
                name=POC_NAME,
                title="Deputy cyber coordinator (test record)",
                channels=[{"kind": "email", "value": POC_EMAIL}],  # shape of directory.schemas.Channel,
                languages=["fr", "en"],
                sources=["https://example.org/browser-test"],
                as_of=dt.date(2026, 1, 1),
            )
        )


def _lookup_ids(engine: Any) -> tuple[int, int]:
    from sqlalchemy import select

    from accord.db import make_sessionmaker
    from accord.incidents.models import Incident, ThreatActor

    with make_sessionmaker(engine)() as session:
        incident_id = session.scalar(select(Incident.id).where(Incident.name == "NotPetya"))
        actor_id = session.scalar(select(ThreatActor.id).where(ThreatActor.name == "APT28"))
    assert incident_id and actor_id, "bundled dataset lacks NotPetya or APT28"
    return incident_id, actor_id


def _wait_until_up(url: str, thread: threading.Thread, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the uvicorn thread stopped before the node answered")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"the node did not answer {url}/healthz within {timeout}s: {last}")


@pytest.fixture(scope="session")
def live_node(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNode]:
    """The node, served by uvicorn in a thread on 127.0.0.1 and a free port (the socket is bound here)."""
    import uvicorn

    from accord.config import Settings
    from accord.db import make_engine
    from accord.web.app import create_app

    data_dir = tmp_path_factory.mktemp("browser-node")
    db_url = f"sqlite:///{data_dir / 'accord.db'}"
    engine = make_engine(db_url)
    _load_dataset(engine)
    _add_french_contact(engine)
    incident_id, actor_id = _lookup_ids(engine)
    app = create_app(Settings(data_dir=data_dir, database_url=db_url), engine=engine)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, ws="none", lifespan="auto")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="accord-live-node", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url, thread)
        yield LiveNode(base_url, engine, incident_id, actor_id)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        engine.dispose()


# --------------------------------------------------------------------------------------------------
# Accounts and signed-in contexts


@pytest.fixture(scope="session")
def accounts(live_node: LiveNode) -> dict[str, str]:
    """An admin, an analyst and a viewer, created through the accounts service; returns role -> username."""
    try:
        from accord.auth.service import create_user
    except ImportError as exc:
        pytest.fail(f"accounts are not available yet: accord.auth.service.create_user cannot be imported ({exc})")
    from accord.db import make_sessionmaker, unit_of_work

    usernames = {role: f"browser-{role}" for role in ROLES}
    with unit_of_work(make_sessionmaker(live_node.engine)) as session:
        for role, username in usernames.items():
            create_user(
                session,
                username=username,
                password=password_for(role),
                role=role,
                display_name=f"Browser test {role}",
                state_code=None,
            )
        _share_something(session, live_node, usernames["analyst"])
    return usernames


def _share_something(session: Any, node: LiveNode, analyst: str) -> None:
    """The analyst's CERT shares a CLEAR and a GREEN indicator into a community collection (sharing pages)."""
    import uuid

    from accord.audit.service import SYSTEM
    from accord.auth.service import get_user
    from accord.sharing import service as sharing
    from accord.sharing.tlp import TLP2_BY_LEVEL

    party = sharing.create_party(session, key="browser-cert", name="Browser CERT", state_code="EE")
    get_user(session, analyst).party_id = party.id
    community = sharing.create_community(session, name="Browser CSIRTs")
    sharing.set_member(session, community.id, party.id, can_read=True, can_write=True)
    coll = sharing.create_collection(session, community_id=community.id, title="Browser indicators")
    objects = [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid4()}",
            "created": "2024-01-01T00:00:00.000Z",
            "modified": "2024-01-01T00:00:00.000Z",
            "name": f"Shared {level}",
            "pattern": "[ipv4-addr:value = '203.0.113.7']",
            "pattern_type": "stix",
            "valid_from": "2024-01-01T00:00:00Z",
            "object_marking_refs": [TLP2_BY_LEVEL[level]],
        }
        for level in ("clear", "green")
    ]
    sharing.ingest(
        session, coll, objects, actor=SYSTEM, producer_party_id=party.id, provenance="browser-test", unmarked="red"
    )
    node.sharing.update(collection_id=coll.id, community_id=community.id, object_id=objects[0]["id"])


def sign_in(page: Any, username: str, password: str) -> Any:
    """Fill and submit the real login form; returns the response of the page it lands on."""
    response = page.goto("/login")
    assert response is not None and response.status == 200, f"GET /login answered {response and response.status}"
    form = page.locator("form", has=page.locator("input[name=username]"))
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        form.locator("button[type=submit], input[type=submit], button:not([type])").first.click()
    return page


@pytest.fixture(scope="session")
def session_states(browser: Any, live_node: LiveNode, accounts: dict[str, str]) -> dict[str, Any]:
    """role -> Playwright storage state (cookies) after signing in once through /login."""
    states: dict[str, Any] = {}
    for role, username in accounts.items():
        context = browser.new_context(base_url=live_node.base_url)
        page = context.new_page()
        sign_in(page, username, password_for(role))
        path = urllib.parse.urlsplit(page.url).path
        assert path != "/login", f"signing in as {role} stayed on /login: {page.locator('body').inner_text()[:500]}"
        assert context.cookies(), f"signing in as {role} set no cookie"
        states[role] = context.storage_state()
        context.close()
    return states


@pytest.fixture
def new_context(browser: Any, live_node: LiveNode, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """Factory of fresh browser contexts (closed after the test): ``new_context(role=None, **options)``."""
    opened: list[Any] = []

    def make(role: str | None = None, **options: Any) -> Any:
        if role is not None:
            # resolved lazily so anonymous tests do not need accounts
            options["storage_state"] = request.getfixturevalue("session_states")[role]
        context = browser.new_context(
            base_url=live_node.base_url, viewport={"width": 1280, "height": 900}, locale="en-GB", **options
        )
        context.set_default_timeout(15_000)
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()


# --------------------------------------------------------------------------------------------------
# Watching a page: console errors, uncaught exceptions, CSP violations, failed requests

CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  const where = `${e.sourceFile || ''}:${e.lineNumber || ''}`;
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${where})`);
});
"""


@dataclass
class PageWatch:
    """Everything a page complained about while it was open."""

    origin: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> PageWatch:
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)
        page.add_init_script(CSP_LISTENER)
        return self

    def _on_console(self, msg: Any) -> None:
        if msg.type == "error":
            loc = msg.location or {}
            self.console_errors.append(f"{msg.text} ({loc.get('url', '')}:{loc.get('lineNumber', '')})")

    def _on_request_failed(self, request: Any) -> None:
        # ERR_ABORTED: the test navigated on while the request was in flight (e.g. the favicon); not the page's fault
        if "ERR_ABORTED" not in (request.failure or ""):
            self.failed_requests.append(f"{request.url}: {request.failure}")

    def _on_response(self, response: Any) -> None:
        req = response.request
        if response.status >= 400 and req.resource_type != "document" and response.url.startswith(self.origin):
            self.failed_requests.append(f"{response.status} {req.method} {response.url}")

    def problems(self, page: Any) -> list[str]:
        csp = page.evaluate("window.__cspViolations || []")
        return (
            [f"console error: {m}" for m in self.console_errors]
            + [f"uncaught exception: {m}" for m in self.page_errors]
            + [f"CSP violation: {m}" for m in csp]
            + [f"failed request: {m}" for m in self.failed_requests]
        )


@pytest.fixture
def watch(live_node: LiveNode) -> Callable[[Any], PageWatch]:
    return lambda page: PageWatch(live_node.base_url).attach(page)


def screenshot(target: Any, name: str) -> Path:
    """A full-page screenshot of a page, or a screenshot of one element (a Playwright locator)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    if hasattr(target, "goto"):
        target.screenshot(path=str(path), full_page=True)
    else:
        target.screenshot(path=str(path))
    return path


@pytest.fixture
def shoot() -> Callable[[Any, str], Path]:
    """``shoot(page_or_locator, name)`` saves test-artifacts/screenshots/<name>.png."""
    return screenshot


@pytest.fixture
def login_form() -> Callable[[Any, str, str], Any]:
    """``login_form(page, username, password)`` submits the real login form."""
    return sign_in


@pytest.fixture
def french_contact() -> tuple[str, str]:
    """Name and e-mail of the point of contact for France added to the node (not in the bundled data)."""
    return POC_NAME, POC_EMAIL
