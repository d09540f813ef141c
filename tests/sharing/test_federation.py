"""Federation between nodes: checkpoints, the TLP filter on what travels, revocations, deletions, back-off.

In-process tests (SQLite and PostgreSQL via ``engine``): "node A" is a hub whose collection is served by
an app on ``http://testserver``; "node B" is a second collection in the same database that pulls from or
pushes to it over HTTP (a TestClient stands in for the network). The last test runs three real nodes as
separate processes on loopback, one of them killed and restarted mid-sync.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from accord.audit.service import Actor
from accord.auth import service as accounts
from accord.db import make_engine, make_sessionmaker, unit_of_work
from accord.sharing import federation, service, tlp
from accord.sharing.federation_api import router
from accord.sharing.federation_models import FederationLink, FederationSent
from accord.sharing.models import StixDeletion, StixObject

from .conftest import TAXII, indicator, make_hub

MARK = {level: tlp.TLP2_BY_LEVEL[level] for level in tlp.LEVELS}
FAST = federation.SyncOptions(page_size=2, retry=federation.Retry(tries=1), backoff=federation.Backoff(base=60))


@pytest.fixture(scope="module")
def fed_app(engine: Any) -> Any:
    from accord.config import Settings
    from accord.web.app import create_app

    app = create_app(Settings(), engine=engine)
    app.include_router(router)
    return app


@pytest.fixture(scope="module")
def hubs(fed_app: Any, engine: Any) -> tuple[Any, Any]:
    return make_hub(fed_app, engine, uuid.uuid4().hex[:8]), make_hub(fed_app, engine, uuid.uuid4().hex[:8])


@pytest.fixture
def nodes(hubs: tuple[Any, Any], engine: Any) -> tuple[Any, Any]:
    """Hub A (served over HTTP) and hub B (the local side): their parties, and a fresh collection each."""
    fresh = []
    with unit_of_work(make_sessionmaker(engine)) as s:
        for hub in hubs:
            community = service.get_collection(s, hub.collection).community_id
            coll = service.create_collection(s, community_id=community, title=f"Federated {uuid.uuid4().hex[:6]}")
            fresh.append(dataclasses.replace(hub, collection=coll.id))
    return fresh[0], fresh[1]


def _token(engine: Any, username: str) -> str:
    with unit_of_work(make_sessionmaker(engine)) as s:
        return accounts.create_token(s, username, name="federation", scopes=["read", "write"])[1]


def _link(engine: Any, a: Any, b: Any, direction: str, who: str = "member") -> tuple[str, int]:
    """Register A as a peer of B (B's node presents a token of A's ``who``) and link the collections."""
    name = f"node-{uuid.uuid4().hex[:8]}"
    token = _token(engine, a.users[who])
    with unit_of_work(make_sessionmaker(engine)) as s:
        federation.add_peer(s, name=name, base_url="http://testserver", token=token)
        link = federation.add_link(
            s, peer=name, local_collection=b.collection, remote_collection=a.collection, direction=direction
        )
        return name, link.id


def _rows(engine: Any, coll: str) -> list[StixObject]:
    with make_sessionmaker(engine)() as s:
        return list(s.scalars(select(StixObject).where(StixObject.collection_id == coll).order_by(StixObject.id)))


def _link_row(engine: Any, link_id: int) -> FederationLink:
    with make_sessionmaker(engine)() as s:
        link = s.get(FederationLink, link_id)
        assert link is not None
        return link


def _every_level() -> list[dict[str, Any]]:
    objs = [indicator(i, markings=[MARK[level]]) for i, level in enumerate(tlp.LEVELS)]
    return [*objs, indicator(9, markings=[])]  # and one unmarked: it stays home too


def _sync(engine: Any, app: Any, link_id: int, options: federation.SyncOptions = FAST) -> federation.SyncReport:
    return federation.sync_link(make_sessionmaker(engine), link_id, options=options, client=TestClient(app))


def _level(obj: dict[str, Any]) -> str:
    return tlp.object_level(obj, "red")


# ---------------------------------------------------------------- pull


def test_pull_takes_only_clear_and_green_with_provenance(nodes, engine, fed_app):
    a, b = nodes
    objs = _every_level()
    assert a.post("producer", objs).json()["success_count"] == len(objs)
    name, link_id = _link(engine, a, b, "pull")
    rep = _sync(engine, fed_app, link_id)
    assert rep.error is None and rep.objects == 2
    assert rep.held_back == 2  # member of A's community sees the AMBER share (default recipients); held back
    rows = _rows(engine, b.collection)
    assert sorted(r.tlp for r in rows) == ["clear", "green"]
    assert {r.provenance for r in rows} == {f"peer:{name}"}
    assert {r.stix_id for r in rows} == {o["id"] for o in objs if _level(o) in ("clear", "green")}
    again = _sync(engine, fed_app, link_id)  # from the checkpoint: nothing new, nothing stored twice
    assert again.objects == 0 and len(_rows(engine, b.collection)) == 2
    status = next(s for s in federation.status(make_sessionmaker(engine)()) if s.link_id == link_id)
    assert status.last_error is None and status.failures == 0 and status.lag_seconds is not None


class FlakyClient(TestClient):
    """The network fails after ``good`` successful object pages."""

    def __init__(self, app: Any, good: int) -> None:
        super().__init__(app)
        self.good = good

    def request(self, method: str, url: Any, **kw: Any) -> Any:  # type: ignore[override]
        if "/objects/" in str(url):
            if self.good <= 0:
                raise httpx.ConnectError("peer went away")
            self.good -= 1
        return super().request(method, url, **kw)


def test_pull_resumes_from_checkpoint_after_network_failure(nodes, engine, fed_app):
    a, b = nodes
    objs = [indicator(i) for i in range(7)]
    a.post("producer", objs)
    _name, link_id = _link(engine, a, b, "pull")
    rep = federation.sync_link(make_sessionmaker(engine), link_id, options=FAST, client=FlakyClient(fed_app, 2))
    assert rep.error and "peer went away" in rep.error
    assert len(_rows(engine, b.collection)) == 4  # two committed pages of two
    fourth = sorted(r.date_added for r in _rows(engine, a.collection))[3]
    link = _link_row(engine, link_id)
    assert link.objects_after == fourth  # the checkpoint covers exactly what was stored
    assert link.failures == 1 and "peer went away" in (link.last_error or "")
    # not due yet: a scheduled round skips it; a forced one resumes from the checkpoint
    sessions = make_sessionmaker(engine)
    skipped = federation.sync(sessions, peer=_name, options=FAST, client=TestClient(fed_app))
    assert [r.skipped for r in skipped] == [True]
    rep = _sync(engine, fed_app, link_id)
    assert rep.error is None and rep.objects == 3 and rep.duplicates == 0
    assert Counter(r.stix_id for r in _rows(engine, b.collection)) == {o["id"]: 1 for o in objs}
    assert _link_row(engine, link_id).failures == 0


def test_crash_inside_a_page_stores_nothing_of_it(nodes, engine, fed_app, monkeypatch):
    a, b = nodes
    objs = [indicator(i) for i in range(6)]
    a.post("producer", objs)
    _name, link_id = _link(engine, a, b, "pull")
    real, calls = federation._ingest, []

    def crashing(*args: Any) -> None:
        real(*args)
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("killed between ingest and commit")

    monkeypatch.setattr(federation, "_ingest", crashing)
    with pytest.raises(RuntimeError):
        _sync(engine, fed_app, link_id)
    assert len(_rows(engine, b.collection)) == 2  # page 2 rolled back with its checkpoint
    monkeypatch.setattr(federation, "_ingest", real)
    assert _sync(engine, fed_app, link_id).objects == 4
    assert Counter(r.stix_id for r in _rows(engine, b.collection)) == {o["id"]: 1 for o in objs}


def test_revocations_and_deletions_propagate(nodes, engine, fed_app):
    a, b = nodes
    kept, gone, mine = indicator(1), indicator(2), indicator(3)
    a.post("producer", [kept, gone, mine])
    b.post("producer", [mine])  # B had this version first, from its own user: A's deletion must not touch it
    name, link_id = _link(engine, a, b, "pull")
    _sync(engine, fed_app, link_id)
    revoked = dict(kept, modified="2024-02-01T00:00:00.000Z", revoked=True)
    a.post("producer", [revoked])
    for oid in (gone["id"], mine["id"]):
        assert a.client("producer").delete(a.url(f"objects/{oid}/")).status_code == 200
    rep = _sync(engine, fed_app, link_id)
    assert rep.error is None and rep.deleted == 1
    rows = _rows(engine, b.collection)
    versions = Counter(r.stix_id for r in rows)
    assert versions == {kept["id"]: 2, mine["id"]: 1}
    latest = next(r for r in rows if r.stix_id == kept["id"] and r.is_latest)
    assert latest.revoked and json.loads(latest.body)["revoked"] is True
    with make_sessionmaker(engine)() as s:
        tomb = s.scalar(select(StixDeletion).where(StixDeletion.collection_id == b.collection))
        assert tomb is not None and tomb.stix_id == gone["id"] and tomb.deleted_by == f"peer:{name}"
    # deleted and then re-added on A: present again on B (deletions are applied before objects)
    a.post("producer", [gone])
    _sync(engine, fed_app, link_id)
    assert gone["id"] in {r.stix_id for r in _rows(engine, b.collection)}


def test_deletions_feed_authentication_and_paging(nodes, engine, fed_app):
    a, _b = nodes
    obj = indicator(1)
    a.post("producer", [obj, dict(obj, modified="2024-03-01T00:00:00.000Z"), indicator(2)])
    assert (
        a.client("producer").delete(a.url(f"objects/{obj['id']}/"), params={"match[version]": "all"}).status_code == 200
    )
    path = f"/federation/v1/collections/{a.collection}/deletions"
    anon = TestClient(fed_app).get(path, headers={"Accept": "application/json"})
    assert anon.status_code == 401
    bad = TestClient(fed_app).get(path, headers={"Accept": "application/json", "Authorization": "Bearer acc_nope"})
    assert bad.status_code == 401
    c = TestClient(fed_app, headers={"Authorization": f"Bearer {_token(engine, a.users['member'])}"})
    page = c.get(path, params={"limit": 1}).json()
    assert len(page["deletions"]) == 2 and page["more"] is False  # one moment is never split across pages
    assert {d["id"] for d in page["deletions"]} == {obj["id"]}
    assert c.get(path, params={"after": page["last"]}).json() == {"deletions": [], "more": False, "last": page["last"]}
    assert c.get(path, params={"after": -1}).status_code == 422


# ---------------------------------------------------------------- push


def test_push_sends_only_what_may_leave_and_never_echoes(nodes, engine, fed_app):
    a, b = nodes
    local = _every_level()
    granular = indicator(
        20,
        markings=[MARK["green"]],
        granular_markings=[{"marking_ref": MARK["amber"], "selectors": ["description"]}],
    )
    b.post("producer", [*local, granular])
    # the push target is A; the echo candidate came to B from that same peer
    name, link_id = _link(engine, a, b, "push", who="producer")
    echo = indicator(30, markings=[MARK["clear"]])
    with unit_of_work(make_sessionmaker(engine)) as s:
        service.ingest(
            s,
            service.get_collection(s, b.collection),
            [echo],
            actor=Actor(f"peer:{name}"),
            producer_party_id=None,
            provenance=f"peer:{name}",
            unmarked="red",
        )
    rep = _sync(engine, fed_app, link_id)
    assert rep.error is None and rep.objects == 3 and rep.held_back == 4
    on_a = {r.stix_id: json.loads(r.body) for r in _rows(engine, a.collection)}
    expected = {o["id"] for o in local if _level(o) in ("clear", "green")} | {granular["id"]}
    assert set(on_a) == expected  # no AMBER, AMBER+STRICT, RED, unmarked; no echo
    assert "description" not in on_a[granular["id"]]  # the AMBER field stayed home
    assert "granular_markings" not in on_a[granular["id"]]
    assert {r.provenance for r in _rows(engine, a.collection)} == {f"user:{a.users['producer']}"}
    # a local deletion of a version that was sent is propagated; of one never sent, nothing is said
    green = next(o for o in local if _level(o) == "green")
    amber = next(o for o in local if _level(o) == "amber")
    for oid in (green["id"], amber["id"]):
        assert b.client("producer").delete(b.url(f"objects/{oid}/")).status_code == 200
    rep = _sync(engine, fed_app, link_id)
    assert rep.error is None and rep.deleted == 1 and rep.objects == 0
    assert green["id"] not in {r.stix_id for r in _rows(engine, a.collection)}
    with make_sessionmaker(engine)() as s:
        sent = set(s.scalars(select(FederationSent.stix_id).where(FederationSent.link_id == link_id)))
    assert sent == expected - {green["id"]}


def test_travelling_filter_uses_the_objects_own_markings():
    assert {"clear", "green"} == federation.TRAVELS
    for level in tlp.LEVELS:
        obj = indicator(1, markings=[MARK[level]])
        assert (federation.travelling(obj) is not None) == (level in ("clear", "green"))
    assert federation.travelling(indicator(1, markings=[])) is None  # unmarked never travels
    tlp1_red = next(mid for mid, level in tlp.TLP1_IDS.items() if level == "red")
    mixed = indicator(1, markings=[MARK["green"], tlp1_red])
    assert federation.travelling(mixed) is None  # GREEN + TLP 1.0 RED: the most restrictive wins


# ---------------------------------------------------------------- failures, back-off, registry


def test_unreachable_peer_backs_off_and_records_status(nodes, engine, fed_app):
    _a, b = nodes
    name = f"down-{uuid.uuid4().hex[:8]}"
    secret = "acc_never-shown-" + uuid.uuid4().hex
    with unit_of_work(make_sessionmaker(engine)) as s:
        with socket.socket() as sock:  # a port nobody listens on
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        federation.add_peer(s, name=name, base_url=f"http://127.0.0.1:{port}", token=secret)
        link_id = federation.add_link(
            s, peer=name, local_collection=b.collection, remote_collection=str(uuid.uuid4()), direction="pull"
        ).id
        assert secret not in repr(federation.get_peer(s, name))
    options = federation.SyncOptions(retry=federation.Retry(tries=2, base=0.01), backoff=federation.Backoff(base=10))
    sessions = make_sessionmaker(engine)
    delays = []
    for expected_failures in (1, 2, 3):
        started = dt.datetime.now(dt.UTC)
        rep = federation.sync_link(sessions, link_id, options=options)
        assert rep.error and "ConnectError" in rep.error
        link = _link_row(engine, link_id)
        assert link.failures == expected_failures and link.last_success is None
        delays.append((federation._aware(link.next_attempt) - started).total_seconds())
    assert 9 < delays[0] < 12 and 19 < delays[1] < 22 and 39 < delays[2] < 42  # 10 s, doubling
    assert federation.Backoff(base=30, cap=3600).delay(20) == dt.timedelta(hours=1)  # bounded
    admin = _admin_token(engine)
    page = TestClient(fed_app, headers={"Authorization": f"Bearer {admin}"}).get("/federation/v1/peers")
    assert page.status_code == 200 and secret not in page.text
    mine = next(x for x in page.json()["links"] if x["link_id"] == link_id)
    assert mine["failures"] == 3 and mine["lag_seconds"] is None and "ConnectError" in mine["last_error"]
    viewer = TestClient(fed_app, headers={"Authorization": f"Bearer {_token(engine, b.users['member'])}"})
    assert viewer.get("/federation/v1/peers").status_code == 403
    with make_sessionmaker(engine)() as s:  # the audit log never holds the token
        from accord.audit.models import AuditEntry

        logged = " ".join(json.dumps([e.before, e.after]) for e in s.scalars(select(AuditEntry)))
        assert secret not in logged


def _admin_token(engine: Any) -> str:
    from ..conftest_helpers import PASSWORD

    username = f"fed-admin-{uuid.uuid4().hex[:8]}"
    with unit_of_work(make_sessionmaker(engine)) as s:
        accounts.create_user(s, username=username, password=PASSWORD, role="admin")
    return _token(engine, username)


def test_registry_refuses_bad_input(engine, nodes):
    from accord.core.errors import Invalid, NotFound

    _a, b = nodes
    with make_sessionmaker(engine)() as s:
        for kwargs in (
            {"name": "Bad Name", "base_url": "http://x.org", "token": "t"},
            {"name": "ok", "base_url": "ftp://x.org", "token": "t"},
            {"name": "ok", "base_url": "http://x.org", "token": " "},
        ):
            with pytest.raises(Invalid):
                federation.add_peer(s, **kwargs)
        with pytest.raises(NotFound):
            federation.add_link(
                s, peer="nobody", local_collection=b.collection, remote_collection="x", direction="pull"
            )
        s.rollback()


# ---------------------------------------------------------------- three nodes, separate processes

# ``accord serve``, with the federation router included if the app factory does not include it yet.
SERVE = """
import sys
import accord.web.app as web
from accord.sharing.federation_api import router
_create = web.create_app
def create_app(*args, **kwargs):
    app = _create(*args, **kwargs)
    if not any(str(getattr(r, "path", "")).startswith("/federation/v1") for r in app.routes):
        app.include_router(router)
    return app
web.create_app = create_app
from accord.cli.main import app
app(["serve", "--port", sys.argv[1]])
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Node:
    """One Accord node: a data directory (SQLite), a port, an ``accord serve`` process; set up by the CLI."""

    def __init__(self, name: str, root: Path) -> None:
        self.name, self.dir, self.port = name, root / name, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.collection = str(uuid.uuid4())
        self.proc: subprocess.Popen[bytes] | None = None
        self.token = ""

    def env(self) -> dict[str, str]:
        return {"ACCORD_DATA_DIR": str(self.dir), "COLUMNS": "250"}

    def cli(self, *args: str, peer: bool = False) -> str:
        from accord.cli.federation import peer_app
        from accord.cli.main import app

        r = CliRunner().invoke(peer_app if peer else app, list(args), env=self.env())
        assert r.exit_code == 0, (args, r.output)
        return r.output

    def setup(self) -> None:
        self.cli("db", "upgrade")
        self.cli("party", "add", f"cert-{self.name}", "--name", f"CERT {self.name}")
        self.cli("user", "add", "alice", "--role", "analyst")
        self.cli("party", "assign", "alice", f"cert-{self.name}")
        self.cli("community", "add", "Federation")
        self.cli("community", "member", "Federation", f"cert-{self.name}", "--write")
        self.cli("collection", "add", "Indicators", "--community", "Federation", "--id", self.collection)
        self.token = self.new_token("alice", "--scope", "read", "--scope", "write")

    def new_token(self, user: str, *scopes: str) -> str:
        return self.cli("token", "create", user, *scopes).splitlines()[0].split(": ", 1)[1].strip()

    def account_for(self, peer: str) -> str:
        """An account for a peer node on this node: its party reads the community. Returns its token."""
        self.cli("party", "add", f"node-{peer}", "--name", f"Node {peer}")
        self.cli("user", "add", f"node-{peer}", "--role", "viewer")
        self.cli("party", "assign", f"node-{peer}", f"node-{peer}")
        self.cli("community", "member", "Federation", f"node-{peer}")
        return self.new_token(f"node-{peer}", "--scope", "read")

    def pulls_from(self, other: Node) -> None:
        token = other.account_for(self.name)
        self.cli("add", other.name, "--url", other.url, "--token", token, peer=True)
        self.cli(
            "link",
            other.name,
            "--local-collection",
            self.collection,
            "--remote-collection",
            other.collection,
            peer=True,
        )

    def start(self) -> None:
        log = (self.dir / "serve.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(self.port)],
            env={**os.environ, **self.env()},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"node {self.name} did not start: {(self.dir / 'serve.log').read_text()[-2000:]}")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def sync(self, *args: str) -> Any:
        from accord.cli.federation import peer_app

        return CliRunner().invoke(peer_app, ["sync", "--retries", "2", "--page-size", "50", *args], env=self.env())

    def taxii(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": TAXII, "Content-Type": TAXII}
        return httpx.Client(base_url=f"{self.url}/taxii2/accord/collections/{self.collection}/", headers=headers)

    def rows(self) -> list[tuple[str, str, str, str, bool]]:
        """(id, version, tlp, provenance, revoked) of every stored version, straight from the database."""
        eng = make_engine(f"sqlite:///{self.dir / 'accord.db'}")
        try:
            with eng.connect() as conn:
                cols = (
                    StixObject.stix_id,
                    StixObject.version,
                    StixObject.tlp,
                    StixObject.provenance,
                    StixObject.revoked,
                )
                stmt = select(*cols).where(StixObject.collection_id == self.collection)
                return [tuple(r) for r in conn.execute(stmt)]  # type: ignore[misc]
        finally:
            eng.dispose()

    def link_state(self) -> tuple[int, str | None]:
        eng = make_engine(f"sqlite:///{self.dir / 'accord.db'}")
        try:
            with eng.connect() as conn:
                return tuple(conn.execute(select(FederationLink.failures, FederationLink.last_error)).one())  # type: ignore[return-value]
        finally:
            eng.dispose()


def _expected(a: Node) -> Counter[tuple[str, str]]:
    return Counter((i, v) for i, v, level, _p, _r in a.rows() if level in ("clear", "green"))


def _assert_mirror(a: Node, node: Node, source: str) -> None:
    rows = node.rows()
    assert Counter((i, v) for i, v, *_ in rows) == _expected(a)  # same versions, each exactly once
    assert {level for _i, _v, level, _p, _r in rows} <= {"clear", "green"}
    assert {p for *_, p, _r in rows} == {f"peer:{source}"}


@pytest.mark.slow
def test_three_nodes_pull_chain_with_deletion_revocation_and_restart(tmp_path):
    a, b, c = (Node(n, tmp_path) for n in "abc")
    try:
        for node in (a, b, c):
            node.setup()
        b.pulls_from(a)
        c.pulls_from(b)
        for node in (a, b, c):
            node.start()
        posted = {level: [indicator(i, markings=[MARK[level]]) for i in range(2)] for level in tlp.LEVELS}
        with a.taxii() as t:
            body = {"objects": [o for objs in posted.values() for o in objs]}
            assert t.post("objects/", json=body).json()["success_count"] == 10
        for node in (b, c):
            r = node.sync()
            assert r.exit_code == 0, r.output
        _assert_mirror(a, b, "a")
        _assert_mirror(a, c, "b")
        assert len(c.rows()) == 4  # 2 CLEAR + 2 GREEN; no AMBER, AMBER+STRICT or RED on B or C

        # a revocation (a new version) and a deletion on A reach C through B
        revoked, deleted = posted["green"][0], posted["clear"][1]
        with a.taxii() as t:
            t.post("objects/", json={"objects": [dict(revoked, modified="2024-06-01T00:00:00.000Z", revoked=True)]})
            assert t.delete(f"objects/{deleted['id']}/", params={"match[version]": "all"}).status_code == 200
        for node in (b, c):
            assert node.sync().exit_code == 0
        for node, source in ((b, "a"), (c, "b")):
            _assert_mirror(a, node, source)
            ids = Counter(i for i, *_ in node.rows())
            assert deleted["id"] not in ids and ids[revoked["id"]] == 2
            assert any(r and i == revoked["id"] for i, _v, _l, _p, r in node.rows())

        # many more objects; node B is killed (server and sync worker) in the middle of pulling them
        with a.taxii() as t:
            assert t.post("objects/", json={"objects": [indicator(i) for i in range(150)]}).status_code == 202
        before = len(b.rows())
        worker = subprocess.Popen(
            [sys.executable, "-m", "accord.cli.federation", "sync", "--page-size", "2"],
            env={**os.environ, **b.env()},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while len(b.rows()) - before < 10 and time.monotonic() < deadline:
                time.sleep(0.01)
            worker.send_signal(signal.SIGKILL)
        finally:
            worker.wait()
        b.kill()
        partial = len(b.rows()) - before
        assert 10 <= partial < 150, partial  # killed mid-sync
        down = c.sync("--backoff", "60")
        assert down.exit_code == 1 and "ConnectError" in down.output
        failures, error = c.link_state()
        assert failures == 1 and error and "ConnectError" in error
        b.start()
        for node in (b, c):
            r = node.sync()
            assert r.exit_code == 0, r.output
        _assert_mirror(a, b, "a")
        _assert_mirror(a, c, "b")
        assert len(c.rows()) == 4 - 1 + 1 + 150  # nothing lost, nothing twice
        assert c.link_state() == (0, None)
        listing = c.cli("list", peer=True)
        assert b.url in listing and "pull" in listing and "acc_" not in listing  # status, never the token
    finally:
        for node in (a, b, c):
            node.kill()
