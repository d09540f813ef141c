"""Deadlines are persistent and fire exactly once: two ``accord worker`` processes race over the same due
deadlines (PostgreSQL, and the embedded SQLite file), none fires twice, none is lost, and deadlines that fell
due while no worker ran fire when one starts."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from accord.config import Settings
from accord.crisis import ledger, service
from accord.crisis.models import LedgerEntry, Message, Timer
from accord.crisis.node import own_keys
from accord.db import make_engine, make_sessionmaker, unit_of_work
from accord.directory.models import PointOfContact
from accord.migrate import upgrade

ACCORD = Path(sys.executable).with_name("accord")
COUNTERPARTS = ["FI", "LV", "LT", "SE", "NO", "DK", "PL", "DE", "FR", "NL"]


def _database(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'node.db'}"
    return request.getfixturevalue("pg_databases").create()


def _seed(url: str, data_dir: Path, cases: int) -> tuple[Settings, list[str]]:
    """A node with ``cases`` open cases, each with one request whose acknowledgement deadline has passed."""
    from accord.dataset.files import bundled_dataset
    from accord.dataset.importer import import_bundle

    settings = Settings(database_url=url, data_dir=data_dir, node_state="EE")
    engine = make_engine(url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as s:
        bundle = bundled_dataset()
        import_bundle(s, {"states": bundle["states"]})
    node = service.Node.from_settings(settings)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    uids = []
    with unit_of_work(factory) as s:
        for code in COUNTERPARTS:
            for role in ("technical", "diplomatic", "political"):
                s.add(PointOfContact(state_code=code, role=role, name=f"{code} {role}", channels=[]))
        s.flush()
        for i in range(cases):
            case = service.open_case(
                s, node, title=f"case {i}", counterpart_state=COUNTERPARTS[i % len(COUNTERPARTS)], actor="t", now=past
            )
            msg = service.send_message(s, node, case, kind="request-assistance", actor="t", now=past)
            uids.append(msg.uid)
    engine.dispose()
    return settings, uids


def _worker(settings: Settings, name: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "ACCORD_DATABASE_URL": settings.database_url or "",
        "ACCORD_DATA_DIR": str(settings.data_dir),
        "ACCORD_NODE_STATE": "EE",
        "COLUMNS": "200",
    }
    return subprocess.Popen(
        [str(ACCORD), "worker", "--until-idle", "--id", name],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_two_workers_fire_each_deadline_exactly_once(request: pytest.FixtureRequest, backend: str, tmp_path: Path):
    cases = 300 if backend == "postgresql" else 120
    url = _database(request, backend, tmp_path)
    settings, uids = _seed(url, tmp_path / "data", cases)
    workers = [_worker(settings, "worker-a"), _worker(settings, "worker-b")]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    try:
        with factory() as s:
            originals = s.scalars(select(Message).where(Message.uid.in_(uids))).all()
            ids = [m.id for m in originals]
            acks = s.scalars(select(Timer).where(Timer.kind == "ack", Timer.subject_id.in_(ids))).all()
            assert len(acks) == cases
            assert all(t.fired_at is not None and t.fired_by in ("worker-a", "worker-b") for t in acks)
            by_worker = Counter(t.fired_by for t in acks)
            # both processes really raced over the same rows (on SQLite one may finish before the other starts)
            if backend == "postgresql":
                assert by_worker["worker-a"] > 0 and by_worker["worker-b"] > 0, (by_worker, outputs)
            # exactly one escalation per missed deadline: one new message, one ledger entry
            escalated = s.scalar(select(func.count()).select_from(Message).where(Message.escalated_from.in_(uids)))
            assert escalated == cases
            entries = s.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "escalated"))
            assert entries == cases
            # every case's ledger is intact and signed by this node
            keys = own_keys(settings)
            for case in service.list_cases(s):
                assert ledger.verify(s, case, keys).ok
            # the new (diplomatic-level) deadlines are pending, not fired early
            pending = s.scalar(
                select(func.count()).select_from(Timer).where(Timer.kind == "ack", Timer.fired_at.is_(None))
            )
            assert pending == cases
    finally:
        engine.dispose()
    print(f"{backend}: {dict(by_worker)}")


def test_worker_cli_once_reports_counts(tmp_path: Path, request: Any) -> None:
    settings, _ = _seed(f"sqlite:///{tmp_path / 'one.db'}", tmp_path / "data", 3)
    done = _worker(settings, "solo").communicate(timeout=120)[0]
    assert "fired 3 deadline(s)" in done
