"""Three nodes as separate processes on loopback: state A (Estonia, on PostgreSQL), state B (Finland) and a
secretariat S (both on SQLite files), each an ``accord serve`` process with its background worker.

* A sends a request to B while B is down; the acknowledgement deadline passes while B is down and the
  request escalates exactly once; B comes back; every message arrives exactly once, in order, with
  verified signatures; B's acknowledgement travels back and stops the clock at A.
* ``kill -9`` of A in the middle of a send — before B saw the envelope, and after B processed it but before
  A read the receipt — loses nothing and duplicates nothing.
* The secretariat's reachability check reaches both states' nodes and their acknowledgements come back.
* Editing any stored ledger entry is caught by ``accord ledger verify``.

A small HTTP relay between A and B (``Relay``) lets the test hold an envelope or a receipt in flight.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from accord.crisis.identity import load_or_create, public_pem
from accord.crisis.models import Case, Delivery, InboxEntry, LedgerEntry, Message
from accord.db import make_engine, make_sessionmaker, unit_of_work

ACCORD = Path(sys.executable).with_name("accord")
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Node:
    name: str
    state: str | None
    db_url: str
    data_dir: Path
    port: int = field(default_factory=_free_port)
    token: str = ""
    proc: subprocess.Popen[bytes] | None = None
    log: Any = None
    engine: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "ACCORD_DATA_DIR": str(self.data_dir),
            "ACCORD_DATABASE_URL": self.db_url,
            "ACCORD_PUBLIC_URL": self.url,
            "ACCORD_WORKER_POLL_SECONDS": "0.3",
            "ACCORD_DELIVERY_RETRY_SECONDS": "1",
            "ACCORD_DELIVERY_LEASE_SECONDS": "3",
            "ACCORD_PUBLIC_READ": "false",
            "COLUMNS": "200",
        }
        if self.state:
            env["ACCORD_NODE_STATE"] = self.state
        return env

    @property
    def identity(self) -> Any:
        return load_or_create(self.data_dir / "node.ed25519.pem")

    def factory(self) -> Any:
        if self.engine is None:
            self.engine = make_engine(self.db_url)
        return make_sessionmaker(self.engine)

    def start(self) -> None:
        self.log = open(self.data_dir / f"{self.name}.log", "ab")  # noqa: SIM115 (closed with the process)
        self.proc = subprocess.Popen(
            [str(ACCORD), "serve", "--port", str(self.port)], env=self.env(), stdout=self.log, stderr=self.log
        )
        wait_for(f"node {self.name} to serve", self._up, timeout=30)

    def _up(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"node {self.name} exited: {(self.data_dir / f'{self.name}.log').read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None
        self.log.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()
                return
        self.proc = None
        if self.log is not None:
            self.log.close()

    def api(self, method: str, path: str, **kw: Any) -> Any:
        r = httpx.request(
            method, f"{self.url}{path}", headers={"Authorization": f"Bearer {self.token}"}, timeout=15, **kw
        )
        assert r.status_code < 300, (self.name, method, path, r.status_code, r.text)
        return r.json()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(ACCORD), *args], env=self.env(), capture_output=True, text=True, timeout=120)


class Relay:
    """Forwards POSTs to a target node; ``hold`` = "request" keeps an envelope in flight before the target
    sees it, "response" after the target processed it but before the sender reads the receipt."""

    def __init__(self, target: Node) -> None:
        self.target = target
        self.hold: str | None = None
        self.holding = threading.Event()
        self.release = threading.Event()
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._forward(b"")

            def do_POST(self) -> None:
                self._forward(self.rfile.read(int(self.headers.get("Content-Length", 0))))

            def _forward(self, body: bytes) -> None:
                mode = relay.hold
                if mode == "request":
                    relay.holding.set()
                    relay.release.wait(120)
                    self.close_connection = True
                    return
                try:
                    r = httpx.request(
                        self.command,
                        f"{relay.target.url}{self.path}",
                        content=body,
                        headers={"Content-Type": self.headers.get("Content-Type", "application/octet-stream")},
                        timeout=10,
                    )
                    status, content, ctype = r.status_code, r.content, r.headers.get("content-type", "")
                except httpx.HTTPError as exc:
                    status, content, ctype = 502, str(exc).encode(), "text/plain"
                if mode == "response" and status == 200:
                    relay.holding.set()
                    relay.release.wait(120)
                    self.close_connection = True
                    return
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self) -> None:
        self.hold = None
        self.release.set()
        self.holding = threading.Event()
        self.release = threading.Event()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _prepare(node: Node) -> None:
    """Schema, the states, an operator account with a token, and the node key — what `accord init` and
    `accord user add` / `accord token create` would do, done in-process to keep the test quick."""
    from accord.auth import service as accounts
    from accord.dataset.files import bundled_dataset
    from accord.dataset.importer import import_bundle
    from accord.migrate import upgrade

    node.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(node.db_url)
    upgrade(engine)
    with unit_of_work(make_sessionmaker(engine)) as s:
        import_bundle(s, {"states": bundled_dataset()["states"]})
        accounts.create_user(
            s, username="ops", password="Correct-Horse-Battery-9", role="liaison", state_code=node.state
        )
        _token, node.token = accounts.create_token(s, "ops", name="test", scopes=["read", "write"])
    engine.dispose()
    node.identity  # noqa: B018 (creates the key file before the server starts)


def _peer(node: Node, name: str, other: Node, url: str | None = None) -> None:
    from accord.sharing import federation

    with unit_of_work(node.factory()) as s:
        federation.add_peer(
            s,
            name=name,
            base_url=url or other.url,
            token="not-used-for-crisis-messages",
            public_key=public_pem(other.identity.public_key),
            state_code=other.state,
        )


def _contacts(node: Node, state: str, peer: str, roles: tuple[str, ...]) -> None:
    from accord.directory.models import PointOfContact

    with unit_of_work(node.factory()) as s:
        for role in roles:
            s.add(
                PointOfContact(
                    state_code=state, role=role, name=f"{state} {role} desk", channels=[{"kind": "node", "value": peer}]
                )
            )


@pytest.fixture
def nodes(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Node, Node, Node, Relay]]:
    a_url = request.getfixturevalue("pg_databases").create()
    a = Node("a", "EE", a_url, tmp_path / "a")
    b = Node("b", "FI", f"sqlite:///{tmp_path / 'b.db'}", tmp_path / "b")
    s = Node("s", None, f"sqlite:///{tmp_path / 's.db'}", tmp_path / "s")
    for n in (a, b, s):
        _prepare(n)
    relay = Relay(b)
    _peer(a, "b", b, url=relay.url)  # A reaches B through the relay
    _peer(a, "s", s)
    _peer(b, "a", a)
    _peer(b, "s", s)
    _peer(s, "a", a)
    _peer(s, "b", b)
    _contacts(a, "FI", "b", ("technical", "diplomatic", "political"))
    _contacts(s, "EE", "a", ("technical",))
    _contacts(s, "FI", "b", ("technical",))
    # short deadlines for the test: acknowledge within 8 seconds at technical level
    ladder = [
        {"level": "technical", "ack_hours": 8 / 3600, "reply_hours": 1},
        {"level": "diplomatic", "ack_hours": 1, "reply_hours": 2},
        {"level": "political", "ack_hours": 2, "reply_hours": 4},
    ]
    assert a.cli("policy", "set", json.dumps(ladder), "--from", "EE", "--to", "FI").returncode == 0
    try:
        yield a, b, s, relay
    finally:
        relay.close()
        for n in (a, b, s):
            n.stop()
            if n.engine is not None:
                n.engine.dispose()


def _inbound(node: Node, case_uid: str) -> list[Message]:
    with node.factory()() as s:
        case = s.scalars(select(Case).where(Case.uid == case_uid)).first()
        if case is None:
            return []
        return list(
            s.scalars(select(Message).where(Message.case_id == case.id, Message.direction == "in").order_by(Message.id))
        )


def _deliveries(node: Node, key: str) -> list[Delivery]:
    with node.factory()() as s:
        return list(s.scalars(select(Delivery).where(Delivery.key == key)))


def test_three_nodes(nodes: tuple[Node, Node, Node, Relay]) -> None:
    a, b, s, relay = nodes
    a.start()
    s.start()

    # --- A writes to B while B is down
    case = a.api("POST", "/api/v1/crisis/cases", json={"title": "Wiper at Tallinn port", "counterpart_state": "FI"})
    first = a.api(
        "POST",
        f"/api/v1/crisis/cases/{case['uid']}/messages",
        json={
            "kind": "request-assistance",
            "incident_summary": "Wiper traced to servers in FI",
            "urgency": "immediate",
        },
    )
    wait_for(
        "a failed attempt to reach B",
        lambda: any(d.attempts > 0 and d.last_error for d in _deliveries(a, first["uid"])),
    )
    # the acknowledgement deadline passes while B is down: one escalation, to the diplomatic desk
    full = wait_for(
        "the escalation at A",
        lambda: (c := a.api("GET", f"/api/v1/crisis/cases/{case['uid']}"))["level"] == "diplomatic" and c,
        timeout=40,
    )
    time.sleep(2)  # more worker passes: still exactly one escalation
    full = a.api("GET", f"/api/v1/crisis/cases/{case['uid']}")
    escalated = [m for m in full["messages"] if m["escalated_from"] == first["uid"]]
    assert len(escalated) == 1 and escalated[0]["level"] == "diplomatic"
    assert escalated[0]["recipients"][0]["name"] == "FI diplomatic desk"
    third = a.api(
        "POST",
        f"/api/v1/crisis/cases/{case['uid']}/messages",
        json={"kind": "notification", "body": "Indicators shared in the CERT collection."},
    )
    sent = [first["uid"], escalated[0]["uid"], third["uid"]]

    # --- B comes back: everything arrives once, in order, signed by A
    b.start()
    wait_for("all three messages at B", lambda: len(_inbound(b, case["uid"])) == 3, timeout=60)
    time.sleep(1.5)
    received = _inbound(b, case["uid"])
    assert [m.uid for m in received] == sent
    assert {m.sender_node for m in received} == {a.identity.key_id}
    with b.factory()() as bs:
        keys = [e.key for e in bs.scalars(select(InboxEntry).where(InboxEntry.sender_kid == a.identity.key_id))]
        assert sorted(keys) == sorted(sent)  # each message processed once
    for uid in sent:
        rows = _deliveries(a, uid)
        assert len(rows) == 1 and rows[0].status == "delivered" and rows[0].receipt
    # no further escalation happened at A after B came back
    full = a.api("GET", f"/api/v1/crisis/cases/{case['uid']}")
    assert sum(1 for m in full["messages"] if m["escalated_from"]) == 1

    # --- B acknowledges the diplomatic-level message; A records it through its inbox
    b.api("POST", f"/api/v1/crisis/messages/{escalated[0]['uid']}/acknowledge", json={"by": "FI MFA duty officer"})
    acked = wait_for(
        "the acknowledgement at A",
        lambda: next(
            (
                m
                for m in a.api("GET", f"/api/v1/crisis/cases/{case['uid']}")["messages"]
                if m["uid"] == escalated[0]["uid"] and m["acknowledged_at"]
            ),
            None,
        ),
    )
    assert acked["acknowledged_by"] == "FI MFA duty officer"

    # --- kill -9 of A in the middle of a send, twice
    for hold in ("request", "response"):
        _kill_mid_send(a, b, relay, case["uid"], hold)

    # --- every ledger verifies; tampering with one stored entry is caught
    for node in (a, b):
        done = node.cli("ledger", "verify", case["uid"])
        assert done.returncode == 0, done.stdout + done.stderr
        assert "chain and signatures verified" in done.stdout
    with unit_of_work(b.factory()) as bs:
        case_id = bs.scalars(select(Case.id).where(Case.uid == case["uid"])).one()
        bs.execute(
            update(LedgerEntry)
            .where(LedgerEntry.case_id == case_id, LedgerEntry.seq == 2)
            .values(data={"subject": "nothing to see"})
        )
    done = b.cli("ledger", "verify", case["uid"])
    assert done.returncode == 1 and "entry 2" in done.stderr + done.stdout
    _ping_from_the_secretariat(a, b, s)


def _kill_mid_send(a: Node, b: Node, relay: Relay, case_uid: str, hold: str) -> None:
    """A sends while the relay holds the envelope (``request``) or B's receipt (``response``); A is killed
    with SIGKILL, restarted, and re-sends after its lease: B has the message exactly once."""
    relay.hold = hold
    msg = a.api(
        "POST",
        f"/api/v1/crisis/cases/{case_uid}/messages",
        json={"kind": "clarification", "body": f"Clarification sent while the relay holds the {hold}."},
    )
    assert relay.holding.wait(30), "the relay saw no envelope"
    if hold == "response":  # B has processed it; A has not read the receipt
        wait_for("B to store the message", lambda: any(m.uid == msg["uid"] for m in _inbound(b, case_uid)))
    a.kill9()
    relay.reset()
    a.start()
    wait_for(
        "the re-sent message to be delivered",
        lambda: (rows := _deliveries(a, msg["uid"])) and rows[0].status == "delivered",
        timeout=60,
    )
    assert [m.uid for m in _inbound(b, case_uid)].count(msg["uid"]) == 1
    assert _deliveries(a, msg["uid"])[0].attempts >= 1


def _ping_from_the_secretariat(a: Node, b: Node, s: Node) -> None:
    """The secretariat checks that both states' contacts are reachable; both acknowledge from their nodes."""
    campaign = s.api("POST", "/api/v1/ping/campaigns", json={"name": "Quarterly check", "role": "technical"})
    run = s.api("POST", f"/api/v1/ping/campaigns/{campaign['id']}/runs")
    assert {c["state_code"]: c["channel"] for c in run["checks"]} == {"EE": "node", "FI": "node"}
    for node in (a, b):
        pending = wait_for(
            f"the check at {node.name}", lambda n=node: n.api("GET", "/api/v1/ping/received?pending=true")["items"]
        )
        assert len(pending) == 1 and pending[0]["campaign"] == "Quarterly check"
        node.api("POST", f"/api/v1/ping/received/{pending[0]['id']}/ack")
    report = wait_for(
        "both acknowledgements at the secretariat",
        lambda: (r := s.api("GET", f"/api/v1/ping/runs/{run['run']['id']}"))["totals"]["acknowledged"] == 2 and r,
    )
    assert report["totals"]["response_rate"] == 1.0
    assert {c["via"] for c in report["checks"]} == {"inbox"}


def test_relay_is_transparent(tmp_path: Path) -> None:
    """The relay itself forwards faithfully (so the test above measures the nodes, not the relay)."""
    target = Node("t", None, "sqlite://", tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", target.port), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    relay = Relay(target)
    try:
        r = httpx.post(f"{relay.url}/x", content=b"abc", headers={"Content-Type": "text/plain"})
        assert r.status_code == 200 and r.content == b"POST /x abc"
    finally:
        relay.close()
        server.shutdown()
        server.server_close()


class _Echo(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        out = f"POST {self.path} ".encode() + body
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
