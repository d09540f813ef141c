"""Matching at a node: objects arriving in the sharing hub become matching jobs, the worker runs them and records
sightings (new observations against the active indicators, stored observations against new indicators),
warning lists suppress benign values; and the ``accord match`` command (files, and the benchmark protocol)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from accord.cli.main import app as cli
from accord.db import make_sessionmaker, unit_of_work
from accord.matching import jobs, service
from accord.matching.models import Sighting
from accord.matching.warninglists import WarningLists
from accord.sharing import tlp

from ..conftest import new_database_url
from ..sharing.conftest import TAXII, Hub, indicator, make_hub

GREEN = {level: mid for mid, level in tlp.TLP2_IDS.items()}["green"]
DATA = Path(__file__).parent / "data"


def observed(value: str, n: int = 1, when: str = "2024-03-01T10:00:00Z") -> list[dict[str, Any]]:
    sco = {"type": "ipv4-addr", "spec_version": "2.1", "id": f"ipv4-addr--{uuid.uuid5(uuid.NAMESPACE_URL, value)}",
           "value": value}  # fmt: skip
    od = {
        "type": "observed-data", "spec_version": "2.1", "id": f"observed-data--{uuid.uuid4()}",
        "created": "2024-03-01T10:05:00.000Z", "modified": "2024-03-01T10:05:00.000Z",
        "first_observed": when, "last_observed": when, "number_observed": n, "object_refs": [sco["id"]],
        "object_marking_refs": [GREEN],
    }  # fmt: skip
    return [od, sco]


def sightings(engine: Any) -> dict[str, Sighting]:
    with unit_of_work(make_sessionmaker(engine)) as s:
        rows = list(s.scalars(select(Sighting)))
        for r in rows:
            s.expunge(r)
    return {r.indicator_id: r for r in rows}


def work(hub: Hub, lists: Any = None) -> int:
    """Run the pending jobs; how many of this hub's collection were completed (the test database is shared:
    other tests leave jobs of their own)."""

    def done() -> int:
        with unit_of_work(make_sessionmaker(hub.engine)) as s:
            q = select(jobs.MatchJob.id).where(
                jobs.MatchJob.collection_id == hub.collection, jobs.MatchJob.done_at.is_not(None)
            )
            return len(list(s.scalars(q)))

    before = done()
    jobs.run_pending(make_sessionmaker(hub.engine), worker="test", warning_lists=lists or WarningLists("none"))
    return done() - before


def post(hub: Hub, objects: list[dict[str, Any]]) -> None:
    r = hub.post("producer", objects)
    assert r.status_code == 202 and r.json()["failure_count"] == 0, r.text


def test_arrivals_become_jobs_and_sightings(app, engine, unique):
    hub = make_hub(app, engine, unique)
    first = indicator(1, pattern="[ipv4-addr:value = '45.76.12.34']")
    post(hub, [first])
    assert work(hub) == 1  # the indicators job: nothing stored to match yet
    assert first["id"] not in sightings(engine)

    seen = observed("45.76.12.34", n=3)
    post(hub, seen)
    assert work(hub) == 1
    got = sightings(engine)[first["id"]]
    assert got.count == 3 and not got.suppressed
    assert work(hub) == 0  # nothing left: each job runs once

    # an indicator arriving later is matched against what is stored
    later = indicator(2, pattern="[ipv4-addr:value ISSUBSET '45.76.12.0/24']")
    post(hub, [later])
    assert work(hub) == 1
    assert sightings(engine)[later["id"]].count == 3

    # the same observed-data posted again is a duplicate: no job, nothing counted twice
    post(hub, seen)
    assert work(hub) == 0
    assert sightings(engine)[first["id"]].count == 3


def test_the_node_matcher_follows_new_indicator_versions(app, engine, unique):
    hub = make_hub(app, engine, unique)
    first = indicator(4, pattern="[ipv4-addr:value = '45.76.1.1']")
    post(hub, [first])
    with unit_of_work(make_sessionmaker(engine)) as s:
        m = service.node_matcher(s)
        assert first["id"] in m.patterns
    changed = dict(first, modified="2024-02-01T00:00:00.000Z", pattern="[ipv4-addr:value = '45.76.2.2']")
    post(hub, [changed])
    with unit_of_work(make_sessionmaker(engine)) as s:
        assert service.node_matcher(s) is m  # compiled into the same matcher, not rebuilt
        assert m.patterns[first["id"]].parsed.text == changed["pattern"]
    post(hub, [dict(first, modified="2024-03-01T00:00:00.000Z", revoked=True)])
    with unit_of_work(make_sessionmaker(engine)) as s:
        assert first["id"] not in service.node_matcher(s).patterns


def test_warning_lists_suppress_benign_values(app, engine, unique):
    hub = make_hub(app, engine, unique)
    private = indicator(3, pattern="[ipv4-addr:value = '10.20.30.40']")
    post(hub, [private, *observed("10.20.30.40")])
    assert work(hub, WarningLists.default()) == 2
    got = sightings(engine)[private["id"]]
    assert got.suppressed and got.suppressed_count == 1 and got.count == 0
    assert [hit["list_id"] for hit in got.suppressed_by] == ["accord:private-addresses"]


def test_a_failing_job_stays_pending_and_is_not_claimed_twice_in_one_pass(app, engine, unique, monkeypatch):
    hub = make_hub(app, engine, unique)
    post(hub, observed("45.76.99.1"))

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("store unreachable")

    monkeypatch.setattr(jobs, "_observations_job", broken)
    assert work(hub) == 0  # the error is logged and kept, the loop ends
    with unit_of_work(make_sessionmaker(engine)) as s:
        job = s.scalars(select(jobs.MatchJob).where(jobs.MatchJob.collection_id == hub.collection)).one()
        assert job.done_at is None and job.attempts == 1 and "store unreachable" in (job.result or "")
        job.done_at = job.claimed_at  # leave nothing for later tests' workers to retry


def test_an_indicators_job_commits_batch_by_batch_and_resumes(app, engine, unique, monkeypatch):
    """A re-match of the store commits each batch (here one observed-data per transaction) with the job's
    progress; when a batch fails, what was committed stays, and the retry resumes after the last good batch."""
    hub = make_hub(app, engine, unique)
    ours = [observed(f"45.78.9.{k}") for k in range(1, 6)]
    for objects in ours:  # one by one: stored in this order
        post(hub, objects)
    work(hub)
    found = indicator(9, pattern="[ipv4-addr:value ISSUBSET '45.78.9.0/24']")
    post(hub, [found])
    ids = [objects[0]["id"] for objects in ours]
    real = service.match_and_record

    def failing(session: Any, batches: Any, **kw: Any) -> Any:
        batches = list(batches)
        if any(o.id == ids[2] for b in batches for o in b):
            raise RuntimeError("worker lost its database connection")
        return real(session, batches, **kw)

    factory = make_sessionmaker(engine)
    monkeypatch.setattr(service, "match_and_record", failing)
    jobs.run_pending(factory, worker="test", warning_lists=WarningLists("none"), batch=1)
    with unit_of_work(factory) as s:
        mine = (jobs.MatchJob.collection_id == hub.collection, jobs.MatchJob.kind == "indicators")
        job = s.scalars(select(jobs.MatchJob).where(*mine)).one()
        assert job.done_at is None and "lost its database connection" in (job.result or "")
        assert job.progress is not None
        job_id, claimed_at = job.id, job.claimed_at
    assert sightings(engine)[found["id"]].count == 2  # the two batches before the failure were committed

    seen: list[str] = []

    def watching(session: Any, batches: Any, **kw: Any) -> Any:
        batches = list(batches)
        seen.extend(o.id for b in batches for o in b)
        return real(session, batches, **kw)

    monkeypatch.setattr(service, "match_and_record", watching)
    later = claimed_at + jobs.LEASE + dt.timedelta(seconds=1)  # the failed claim's lease has run out
    jobs.run_pending(factory, worker="test", now=later, warning_lists=WarningLists("none"), batch=1)
    with unit_of_work(factory) as s:
        job = s.get(jobs.MatchJob, job_id)
        assert job is not None and job.done_at is not None and job.attempts == 2
        assert json.loads(job.result or "{}")["observations"] == len(seen)
    assert ids[2] in seen and ids[0] not in seen and ids[1] not in seen  # resumed after the last good batch
    assert sightings(engine)[found["id"]].count == 5  # nothing counted twice


# ---------------------------------------------------------------- accord match

runner = CliRunner()


def run(args: list[str], env: dict[str, str]) -> Any:
    return runner.invoke(cli, args, env={"COLUMNS": "200", **env})


def _bundle(path: Path, patterns: dict[str, str]) -> Path:
    objs = [{"type": "indicator", "spec_version": "2.1", "id": iid, "name": f"name of {iid[-4:]}", "pattern": p,
             "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z", "created": "2024-01-01T00:00:00Z",
             "modified": "2024-01-01T00:00:00Z"} for iid, p in patterns.items()]  # fmt: skip
    path.write_text(json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objs}))
    return path


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_cli_match_files_records_sightings(tmp_path, tmp_path_factory, request, backend):
    url = new_database_url(request, backend, tmp_path_factory)
    _cli_round(tmp_path / backend, {"ACCORD_DATA_DIR": str(tmp_path / "node"), "ACCORD_DATABASE_URL": url})


def _cli_round(tmp: Path, env: dict[str, str]) -> None:
    tmp.mkdir()
    assert run(["db", "upgrade"], env).exit_code == 0
    ind = _bundle(tmp / "ind.json", {
        "indicator--00000000-0000-4000-8000-000000000001": "[ipv4-addr:value = '45.76.12.34']",
        "indicator--00000000-0000-4000-8000-000000000002": "[domain-name:value LIKE '%.evilops.xyz']",
        "indicator--00000000-0000-4000-8000-000000000003": "[ipv4-addr:value = '10.1.1.1']",
    })  # fmt: skip
    obs = tmp / "obs.jsonl"
    obs.write_text(
        '{"type": "ip", "value": "45.76.12.34", "count": 4}\n'
        '{"type": "domain", "value": "c2.evilops.xyz"}\n'
        '{"type": "ip", "value": "10.1.1.1"}\n'
        '{"type": "url", "value": "https://harmless.example.org/"}\n'
    )
    r = run(["match", str(obs), "--indicators", str(ind), "--json", "--dry-run"], env)
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout[r.stdout.index("{") :])
    assert summary["observations"] == 4 and summary["matches"] == 3 and summary["recorded"] is False
    assert summary["suppressed_by"] and sum(summary["suppressed_by"].values()) == 1  # 10.1.1.1 is private
    r = run(["match", str(obs), "--indicators", str(ind)], env)
    assert r.exit_code == 0, r.output
    assert "sightings: 3 new" in r.output and "suppressed by warning list" in r.output
    r = run(["match", str(obs), "--indicators", str(ind), "--json"], env)  # the same file again: idempotent
    again = json.loads(r.stdout[r.stdout.index("{") :])
    assert again["sightings_created"] == 0 and again["matches"] == 3
    # bad input: one line, non-zero exit, nothing recorded
    bad = tmp / "bad.jsonl"
    bad.write_text('{"type": "ip", "value": "45.76.12.34"}\n{"type": "ip", "value": "not-an-ip"}\n')
    r = run(["match", str(bad), "--indicators", str(ind)], env)
    assert r.exit_code == 1 and "line 2" in r.output
    r = run(["match", str(tmp / "missing.jsonl")], env)
    assert r.exit_code == 1 and "no such file" in r.output


def test_cli_benchmark_protocol(tmp_path):
    folder = DATA / "s1_100x100"
    out = tmp_path / "pairs.json"
    r = run(["match", "--indicators", str(folder / "indicators.json"), "--observations",
             str(folder / "observations.json"), "--per-unit", "--out", str(out)], {})  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text()) == json.loads((folder / "ground_truth.json").read_text())
    r = run(["match", "--observations", str(folder / "observations.json"), "--out", str(out)], {})
    assert r.exit_code == 1 and "benchmark protocol" in r.output
    assert TAXII  # the hub helpers above speak TAXII
