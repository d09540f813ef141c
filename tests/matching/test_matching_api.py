"""``POST /api/v1/match``: observations sent over HTTP are matched against the node's active indicators and
recorded as sightings; the answer names only indicators the caller may see; bad input is problem+json."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from accord.db import make_sessionmaker, unit_of_work
from accord.matching import jobs
from accord.matching.models import Sighting
from accord.matching.warninglists import WarningLists
from accord.web import matching_api

from ..sharing.conftest import indicator, make_hub
from .test_node_matching import observed


def _hub_with_indicator(app: Any, engine: Any, unique: str, pattern: str) -> tuple[Any, dict[str, Any]]:
    hub = make_hub(app, engine, unique)
    ind = indicator(7, pattern=pattern, name=f"Relay {unique}")
    assert hub.post("producer", [ind]).status_code == 202
    jobs.run_pending(make_sessionmaker(engine), worker="t", warning_lists=WarningLists("none"))
    return hub, ind


def _count(engine: Any, indicator_id: str) -> int | None:
    with unit_of_work(make_sessionmaker(engine)) as s:
        row = s.scalar(select(Sighting).where(Sighting.indicator_id == indicator_id))
        return None if row is None else row.count


def test_post_a_bundle(app, engine, unique, role_clients):
    hub, ind = _hub_with_indicator(app, engine, unique, "[ipv4-addr:value = '45.76.201.9']")
    producer = hub.client("producer")
    bundle = {"type": "bundle", "id": "bundle--5f0c1a7e-1b2c-4d3e-8f4a-9b8c7d6e5f40"}
    bundle["objects"] = observed("45.76.201.9", n=2)
    r = producer.post("/api/v1/match", params={"dry_run": True}, content=json.dumps(bundle))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["matches"] == 1 and body["recorded"] is False and _count(engine, ind["id"]) is None
    assert body["by_indicator"] == [{"indicator_id": ind["id"], "name": f"Relay {unique}", "matches": 1}]
    r = producer.post("/api/v1/match", content=json.dumps(bundle))
    assert r.status_code == 200 and r.json()["sightings_created"] == 1
    assert _count(engine, ind["id"]) == 2
    # an analyst outside the indicator's community matches too, but is not told which indicator
    r = role_clients["analyst"].post("/api/v1/match", params={"dry_run": True}, content=json.dumps(bundle))
    assert r.status_code == 200 and r.json()["matches"] >= 1
    assert ind["id"] not in {x["indicator_id"] for x in r.json()["by_indicator"]} and r.json()["not_shown"] >= 1


def test_post_observables_and_zeek(app, engine, unique):
    hub, ind = _hub_with_indicator(app, engine, unique, "[ipv4-addr:value = '45.76.201.10']")
    c = hub.client("producer")
    r = c.post("/api/v1/match", params={"kind": "csv"}, content="type,value,count\nip,45.76.201.10,3\nip,8.8.4.4,1\n")
    assert r.status_code == 200 and r.json()["matches"] == 1 and r.json()["observations"] == 2
    zeek = (
        "#separator \\x09\n#path\tconn\n"
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\n"
        "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\n"
        "1709287200.000000\tCx1\t192.168.1.5\t50000\t45.76.201.10\t443\ttcp\tssl\t2.5\n"
    )
    r = c.post("/api/v1/match", content=zeek)
    assert r.status_code == 200, r.text
    assert r.json()["matches"] == 1


def test_bad_input_is_problem_json_and_records_nothing(app, engine, unique, role_clients, monkeypatch):
    hub, ind = _hub_with_indicator(app, engine, unique, "[ipv4-addr:value = '45.76.201.11']")
    c = hub.client("producer")
    r = c.post("/api/v1/match", params={"kind": "jsonl"},
               content='{"type": "ip", "value": "45.76.201.11"}\n{"type": "ip", "value": "nope"}\n')  # fmt: skip
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert any(p.get("line") == 2 for p in r.json()["errors"]), r.json()
    assert _count(engine, ind["id"]) is None
    assert c.post("/api/v1/match", content="").status_code == 422
    assert c.post("/api/v1/match", params={"kind": "yaml"}, content="x").status_code == 422
    monkeypatch.setattr(matching_api, "MAX_BYTES", 10)
    assert c.post("/api/v1/match", content="x" * 11).status_code == 413
    # viewers may not match (it reveals indicators); anonymous callers are refused
    assert role_clients["viewer"].post("/api/v1/match", content="type,value\nip,1.2.3.4\n").status_code == 403
    assert TestClient(app).post("/api/v1/match", content="type,value\nip,1.2.3.4\n").status_code == 401
