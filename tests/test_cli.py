"""The command line: init, import (errors one per line, non-zero exit), export, data check, refusal to serve."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from accord.cli.main import app

runner = CliRunner()


def run(args, tmp_path, **env):
    return runner.invoke(app, args, env={"ACCORD_DATA_DIR": str(tmp_path / "node"), "COLUMNS": "200", **env})


def test_init_import_export_check(tmp_path):
    r = run(["init"], tmp_path)
    assert r.exit_code == 0, r.output
    assert "193" not in r.output or "states" in r.output
    r = run(["init"], tmp_path)
    assert "already initialised" in r.output

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "slug,name,operation_type,start_date,end_date,receivers,sources,as_of\n"
        "ok-1,Fine,espionage,2020-01-01,,FR:government:,https://x.org,2026-01-01\n"
        "bad-1,Broken,espionage,2020-05-01,2020-04-01,UK:government:,https://x.org,2026-01-01\n"
    )
    r = run(["import", str(bad)], tmp_path)
    assert r.exit_code == 1
    problem_lines = [line for line in r.output.splitlines() if line.strip().startswith("line 3:")]
    assert len(problem_lines) == 2, r.output  # end_date before start_date, and UK is not ISO

    good = tmp_path / "good.csv"
    good.write_text(
        "slug,name,operation_type,start_date,receivers,actors,sources,as_of\n"
        "cli-1,CLI op,ddos,2021-02-03,EE:government:,G0007,https://x.org,2026-01-01\n"
    )
    r = run(["import", str(good)], tmp_path)
    assert r.exit_code == 0, r.output
    out = tmp_path / "export.json"
    r = run(["export", "--out", str(out)], tmp_path)
    assert r.exit_code == 0, r.output
    slugs = {i["slug"] for i in json.loads(out.read_text())["incidents"]}
    assert "cli-1" in slugs and "ok-1" not in slugs
    r = run(["export", "--format", "csv", "--out", str(tmp_path / "csv")], tmp_path)
    assert r.exit_code == 0 and (tmp_path / "csv" / "incidents.csv").is_file()
    r = run(["data", "check"], tmp_path)
    assert r.exit_code == 0, r.output


def test_serve_refuses_unmigrated_database(tmp_path):
    r = run(["serve"], tmp_path)
    assert r.exit_code == 1
    assert "accord db upgrade" in r.output
    r = run(["db", "upgrade"], tmp_path)
    assert r.exit_code == 0 and "revision" in r.output


def test_config_check(tmp_path):
    r = run(["config", "check"], tmp_path)
    assert r.exit_code == 0 and "ACCORD_DATABASE_URL" in r.output
    r = run(["config", "check"], tmp_path, ACCORD_PORT="not-a-port")
    assert r.exit_code == 1 and "ACCORD_PORT" in r.output
