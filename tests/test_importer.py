"""Bulk import: all or nothing, problems located by line, and export -> import round trip."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from accord.core.errors import Invalid
from accord.dataset.exporter import export_bundle
from accord.dataset.files import read_file
from accord.dataset.importer import Record, import_bundle
from accord.db import make_engine, make_sessionmaker, unit_of_work
from accord.incidents.models import Attribution, Incident
from accord.migrate import upgrade

SRC = {"sources": ["https://example.org/s"], "as_of": "2026-11-01"}


def incident(slug, **extra):
    return {
        "slug": slug,
        "name": slug,
        "operation_type": "espionage",
        "start_date": "2022-01-01",
        "receivers": [{"state": "FR", "category": "government"}],
        "actors": ["G0007"],
        "attributions": [
            {
                "by_state": "FR",
                "attributed_state": "RU",
                "attributed_actor": "APT28",
                "basis": "receiver_government",
                "form": "political_statement",
                **SRC,
            }
        ],
        "norm_findings": [{"provision": "UNGGE-2015/f", "claimed_by_state": "FR", **SRC}],
        **SRC,
        **extra,
    }


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_one_bad_row_writes_nothing(engine, tmp_path, unique):
    path = tmp_path / "batch.jsonl"
    rows = [incident(f"ok-{unique}-{i}") for i in range(5)]
    rows[3]["receivers"][0]["state"] = "XX"
    rows[4]["attributions"][0]["attributed_actor"] = "No Such Group"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    factory = make_sessionmaker(engine)
    with factory() as s:
        before = (count(s, Incident), count(s, Attribution))
    with pytest.raises(Invalid) as info, unit_of_work(factory) as s:
        import_bundle(s, read_file(path))
    lines = {p.line for p in info.value.problems}
    assert lines == {4, 5}
    assert any(p.field.endswith("receivers.0.state_code") for p in info.value.problems)
    with factory() as s:
        assert (count(s, Incident), count(s, Attribution)) == before


def test_jsonl_import_writes_children(engine, tmp_path, unique):
    path = tmp_path / "good.jsonl"
    path.write_text("\n".join(json.dumps(incident(f"good-{unique}-{i}")) for i in range(3)))
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as s:
        report = import_bundle(s, read_file(path))
    assert report.counts["incidents"] == 3 and report.counts["attributions"] == 3
    with factory() as s:
        inc = s.scalar(select(Incident).where(Incident.slug == f"good-{unique}-1"))
        assert [r.state_code for r in inc.receivers] == ["FR"] and len(inc.actor_ids) == 1
        att = s.scalar(select(Attribution).where(Attribution.incident_id == inc.id))
        assert att.attributed_actor_id == inc.actor_ids[0]


def test_csv_problems_carry_line_numbers(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(
        "slug,name,operation_type,start_date,end_date,receivers,sources,as_of\n"
        "a-1,A,espionage,2020-01-01,,FR:government:,https://x.org,2026-01-01\n"
        "a-2,B,teleportation,2020-01-01,2019-01-01,FR:government:,https://x.org,2026-01-01\n"
    )
    bundle = read_file(path)
    assert [r.line for r in bundle["incidents"]] == [2, 3]
    assert bundle["incidents"][0].data["receivers"] == [{"state": "FR", "category": "government", "sector": None}]


def test_malformed_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"incidents": [1, 2')
    with pytest.raises(Invalid) as info:
        read_file(bad)
    assert info.value.problems[0].line == 1
    badl = tmp_path / "bad.jsonl"
    badl.write_text('{"slug": "x"}\n{oops\n')
    with pytest.raises(Invalid) as info:
        read_file(badl)
    assert info.value.problems[0].line == 2
    csvf = tmp_path / "bad.csv"
    csvf.write_text("slug,name\nx,y\n")
    with pytest.raises(Invalid):
        read_file(csvf)


def test_export_then_import_round_trip(engine, tmp_path):
    with make_sessionmaker(engine)() as s:
        exported = export_bundle(s)
    fresh = make_engine(f"sqlite:///{tmp_path / 'copy.db'}")
    upgrade(fresh)
    bundle = {k: [Record(x, f"{k}[{i}]") for i, x in enumerate(v)] for k, v in exported.items() if isinstance(v, list)}
    with unit_of_work(make_sessionmaker(fresh)) as s:
        import_bundle(s, bundle)
    with make_sessionmaker(fresh)() as s:
        again = export_bundle(s)
    for section in ("states", "organisations", "instruments", "actors", "incidents"):
        assert again[section] == exported[section], section
