"""Dyads, trends and tension benchmark: page latency on the bundled data, computation time at 100k incidents.

1. Bundled data: a fresh SQLite database with the bundled dataset; every analytics page (and the dashboard, and
   the REST endpoints) requested through the ASGI app in process (Starlette's TestClient, so no network), a
   warm-up request first, then the median and maximum of ``--requests`` requests. Target: median <= 300 ms.
2. 100k incidents: the synthetic incidents of ``bench/bench_api.py`` (``synthetic()``: 100,000 incidents, each
   with 3 attributions and 1-2 receivers among every state of the bundled list — the 193 UN members and 4
   more) plus one response in five incidents (against the attributed state), written with bulk inserts into
   a SQLite file holding the bundled dataset (and, with ``--backend both`` or ``postgresql``, a fresh PostgreSQL
   database on the local server, dropped afterwards). Times (median of ``--repeat`` runs, each loading from the
   database, the memo cleared first): the dyad network, the most tense pairs, one state's pairs, one pair's
   series, trends; then the same answered from the memo (record unchanged: only the fingerprint queries run).
   Target: dyad and tension computations <= 2 s.

Writes ``bench/RESULTS-analytics.md``. Usage:
    python bench/bench_analytics.py [--incidents N] [--requests N] [--repeat N] [--backend B] [--keep] [--reuse]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "RESULTS-analytics.md"
sys.path.insert(0, str(ROOT / "bench"))

from bench_api import synthetic  # noqa: E402  (the same synthetic incidents as the API benchmark)

from accord.analytics import columns as cl  # noqa: E402
from accord.analytics import dyads as dy  # noqa: E402
from accord.analytics import tension as tn  # noqa: E402
from accord.db import make_engine, make_sessionmaker, unit_of_work  # noqa: E402
from accord.incidents.models import Attribution, Incident, IncidentReceiver, Response  # noqa: E402

PAGE_TARGET_MS = 300.0
COMPUTE_TARGET_S = 2.0
PAGES = [
    ("/analytics/dyads", "dyad network"),
    ("/analytics/dyads?type=espionage&type=data_theft&year_from=2015&attributed_by=government", "dyads, filtered"),
    ("/analytics/trends", "trends"),
    ("/analytics/trends?sector=energy&year_from=2014&year_to=2022", "trends, filtered"),
    ("/analytics/tension", "most tense pairs"),
    ("/analytics/tension?state=RU&at=2021-01-01", "one state's pairs at a date"),
    ("/analytics/tension/CN-US", "one pair over time"),
    ("/", "dashboard (with the tension panel)"),
    ("/api/v1/analytics/dyads", "API dyads (JSON)"),
    ("/api/v1/analytics/dyads?format=csv", "API dyads (CSV)"),
    ("/api/v1/analytics/trends", "API trends (JSON)"),
    ("/api/v1/analytics/tension", "API tension (JSON)"),
    ("/api/v1/analytics/tension/RU/US", "API one pair (JSON)"),
]
RESPONSE_TYPES = ["statement", "demarche", "expulsion", "sanctions", "indictment", "countermeasure"]
WHERE_THE_TIME_GOES = """The dyad network and the tension index read one copy of the record as columns (numpy arrays
of codes, day numbers and ids: `accord.analytics.columns.record_of`), remembered while the record is unchanged, and
group by sorting arrays. A cold "dyad network + most tense pairs" therefore reads the database once. Repeated
requests while the record is unchanged are answered from the memo (five aggregate queries for the fingerprint,
then a lookup). Trends have no target here and still read rows; most of their time is `coalitions.timing` over
300,000 attributions (reused unchanged)."""


def load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


LOAD_AT_START = load()


def bundled_database(where: Path | str) -> Any:
    """A database holding the bundled dataset: a new SQLite file at a path, or the (empty) database of a URL."""
    from accord.dataset.files import bundled_dataset
    from accord.dataset.importer import import_bundle
    from accord.migrate import upgrade

    if isinstance(where, Path):
        where.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{where}" if isinstance(where, Path) else where)
    upgrade(engine)
    with unit_of_work(make_sessionmaker(engine)) as session:
        import_bundle(session, bundled_dataset())
    return engine


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the local PostgreSQL server (the tests' admin URL), dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(
        os.environ.get("ACCORD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    )
    name = f"accord_bench_analytics_{uuid.uuid4().hex[:8]}"

    def run(sql: str) -> None:
        with psycopg.connect(
            host=admin.host, port=admin.port or 5432, user=admin.username, dbname=admin.database, autocommit=True
        ) as conn:
            conn.execute(sql)

    run(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """(median, max) seconds of ``repeat`` calls after one warm-up call, and the last result."""
    result = fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), max(samples), result


# ---------------------------------------------------------------- 1. pages on the bundled data


def bench_pages(engine: Any, requests: int) -> list[dict[str, Any]]:
    from fastapi.testclient import TestClient

    from accord.config import Settings
    from accord.web.app import create_app

    client = TestClient(create_app(Settings(), engine=engine))
    rows = []
    for url, what in PAGES:

        def get(url: str = url) -> int:
            cl.clear_memo()  # cold: every request computes (a repeated request would be answered from the memo)
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code, response.text[:300])
            return len(response.content)

        med, worst, size = timed(get, requests)
        rows.append({"url": url, "what": what, "median_ms": med * 1000, "max_ms": worst * 1000, "bytes": size})
        ok = "OK" if med * 1000 <= PAGE_TARGET_MS else "MISSED"
        print(f"  {url:90} {med * 1000:7.1f} ms median {worst * 1000:7.1f} ms max  {ok}")
    return rows


# ---------------------------------------------------------------- 2. the synthetic database


def _chunks(rows: list[dict[str, Any]], size: int = 20_000) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _rows(data: Path, first_id: int, first_attribution: int) -> dict[str, list[dict[str, Any]]]:
    """The JSONL of ``synthetic()`` as table rows with explicit ids, plus a response in one incident in five."""
    rnd = random.Random(11)
    now = dt.datetime.now(dt.UTC)
    common = {"sources": ["https://example.org/synthetic"], "as_of": dt.date(2026, 11, 27)}
    tracked = {"created_at": now, "updated_at": now, "version": 1}
    out: dict[str, list[dict[str, Any]]] = {"incidents": [], "receivers": [], "attributions": [], "responses": []}
    attribution_id = first_attribution
    with data.open() as f:
        for n, line in enumerate(f):
            raw = json.loads(line)
            iid = first_id + n
            start = dt.date.fromisoformat(raw["start_date"])
            out["incidents"].append(
                {
                    "id": iid,
                    "slug": raw["slug"],
                    "name": raw["name"],
                    "aliases": [],
                    "description": raw["description"],
                    "start_date": start,
                    "disclosure_date": None,
                    "date_precision": "day",
                    "operation_type": raw["operation_type"],
                    "intensity": raw["intensity"],
                    **common,
                    **tracked,
                }
            )
            for r in raw["receivers"]:
                out["receivers"].append(
                    {"incident_id": iid, "state_code": r["state"], "category": r["category"], "sector": r["sector"]}
                )
            for a in raw["attributions"]:
                attribution_id += 1
                out["attributions"].append(
                    {
                        "id": attribution_id,
                        "incident_id": iid,
                        "by_state": a["by_state"],
                        "attributed_state": a["attributed_state"],
                        "date": dt.date.fromisoformat(a["date"]),
                        "basis": a["basis"],
                        "form": a["form"],
                        "joint_group": a["joint_group"],
                        **common,
                        **tracked,
                    }
                )
            if n % 5 == 0:
                target = raw["receivers"][0]["state"]
                out["responses"].append(
                    {
                        "incident_id": iid,
                        "by_state": target,
                        "against_state": raw["attributions"][0]["attributed_state"],
                        "date": start + dt.timedelta(days=rnd.randint(30, 700)),
                        "type": rnd.choice(RESPONSE_TYPES),
                        **common,
                        **tracked,
                    }
                )
    return out


def synthetic_database(where: Path | str, incidents: int) -> tuple[Any, dict[str, float]]:
    """A database (SQLite file or URL) with the bundled dataset and ``incidents`` synthetic incidents (bulk
    inserts)."""
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    engine = bundled_database(where)
    times["schema and bundled dataset"] = time.perf_counter() - t0
    OUT.mkdir(parents=True, exist_ok=True)
    data = OUT / f"synthetic-{incidents}.jsonl"
    t0 = time.perf_counter()
    if not data.exists():
        synthetic(data, incidents)
    times["synthetic JSONL (bench_api.synthetic)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with make_sessionmaker(engine)() as session:
        first = (session.scalar(select(func.max(Incident.id))) or 0) + 1
        first_attribution = session.scalar(select(func.max(Attribution.id))) or 0
    rows = _rows(data, first, first_attribution)
    with engine.begin() as conn:
        for table, model in (
            ("incidents", Incident),
            ("receivers", IncidentReceiver),
            ("attributions", Attribution),
            ("responses", Response),
        ):
            for chunk in _chunks(rows[table]):
                conn.execute(insert(model.__table__), chunk)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    times["bulk insert"] = time.perf_counter() - t0
    counts = {k: len(v) for k, v in rows.items()}
    print(f"  synthetic rows: {counts}")
    times.update({f"rows: {k}": float(v) for k, v in counts.items()})
    return engine, times


def bench_compute(engine: Any, repeat: int) -> list[dict[str, Any]]:
    sessions = make_sessionmaker(engine)
    at = dt.date(2026, 1, 1)

    def run(fn: Callable[[Any], Any], cold: bool) -> Callable[[], Any]:
        def call() -> Any:
            if cold:
                cl.clear_memo()
            with sessions() as session:
                return fn(session)

        return call

    cases: list[tuple[str, bool, Callable[[Any], Any]]] = [
        ("the record as columns (record_of; shared by the two)", True, lambda s: cl.record_of(s)),
        ("dyad network, no filter (dyads_of)", True, lambda s: dy.dyads_of(s)),
        (
            "dyad network, espionage + data theft from 2015",
            True,
            lambda s: dy.dyads_of(s, dy.DyadFilter(year_from=2015, types=("espionage", "data_theft"))),
        ),
        ("most tense pairs (top_tense_dyads, 10)", True, lambda s: tn.top_tense_dyads(s, at=at, limit=10)),
        ("one state's pairs (state_tension RU, 5)", True, lambda s: tn.state_tension(s, "RU", at=at)),
        ("one pair over time (dyad_series RU-US)", True, lambda s: tn.dyad_series(s, "RU", "US", at=at)),
        (
            "dyad network + most tense pairs",
            True,
            lambda s: (dy.dyads_of(s), tn.top_tense_dyads(s, at=at, limit=10)),
        ),
        ("trends, no filter (trends_of; no target)", True, lambda s: dy.trends_of(s)),
        (
            "dyad network + most tense pairs, record unchanged (memo)",
            False,
            lambda s: (dy.dyads_of(s), tn.top_tense_dyads(s, at=at, limit=10)),
        ),
        ("one pair over time, record unchanged (memo)", False, lambda s: tn.dyad_series(s, "RU", "US", at=at)),
    ]
    rows = []
    for what, cold, fn in cases:
        med, worst, result = timed(run(fn, cold), repeat)
        verdict = "" if "no target" in what else ("OK" if med <= COMPUTE_TARGET_S else "MISSED")
        detail = ""
        if isinstance(result, dy.DyadReport):
            detail = f"{result.summary.dyads} dyads, {result.summary.states} states"
        elif isinstance(result, list) and result and isinstance(result[0], tn.DyadTension):
            detail = f"top {result[0].a}-{result[0].b} {result[0].index:.1f}"
        elif isinstance(result, tn.DyadSeries):
            detail = f"{len(result.points)} points, {len(result.contributions)} events"
        elif isinstance(result, cl.Record):
            detail = f"{len(result.incident_id):,} incidents, {len(result.att_id):,} attributions"
        rows.append({"what": what, "median_s": med, "max_s": worst, "verdict": verdict, "detail": detail})
        print(f"  {what:62} {med:6.2f} s median {worst:6.2f} s max  {verdict:6} {detail}")
    return rows


def fresh_fingerprint(session: Any) -> Any:
    session.rollback()  # the fingerprint is kept per transaction: measure the queries
    return cl.fingerprint(session)


def bench_phases(engine: Any, repeat: int) -> list[dict[str, Any]]:
    """Where a cold dyad + tension computation spends its time: each step apart, on the same database."""
    sessions = make_sessionmaker(engine)
    at = dt.date(2026, 1, 1)
    with sessions() as session:
        data = cl.read(session)
        record = cl.Record(data)
        agreements = tn.agreements_of(session)
        pairs, _ = tn.events(record, agreements)
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("reading the rows (columns.read: 4 SELECTs)", lambda: cl.read(session)),
            ("rows to columns (columns.Record)", lambda: cl.Record(data)),
            ("dyad network from the columns (dyads.dyads)", lambda: dy.dyads(record)),
            ("tension events from the columns (tension.events)", lambda: tn.events(record, agreements)),
            ("ranking every pair at a date, top 10 with drivers (tension.ranked)", lambda: tn.ranked(pairs, at, 10)),
            ("the memo's fingerprint (5 aggregate queries, new transaction)", lambda: fresh_fingerprint(session)),
        ]
        rows = []
        for what, fn in steps:
            with cl.quiet_gc():
                med, worst, _ = timed(fn, repeat)
            rows.append({"what": what, "median_s": med, "max_s": worst})
            print(f"  {what:70} {med:6.3f} s median {worst:6.3f} s max")
    return rows


# ---------------------------------------------------------------- report


def write_results(args: Any, pages: list[dict[str, Any]], runs: list[dict[str, Any]]) -> None:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Dyads, trends and tension — benchmark results",
        "",
        f"Measured {now} on {platform.machine()}, {platform.system()} {platform.release()}, Python "
        f"{platform.python_version()}; command: `.venv/bin/python bench/bench_analytics.py"
        f"{'' if args.incidents == 100_000 else f' --incidents {args.incidents}'}"
        f"{'' if args.backend == 'both' else f' --backend {args.backend}'}` "
        f"({args.requests} requests per page, {args.repeat} runs per computation, medians after a warm-up); "
        f"{os.cpu_count()} CPUs, load average {LOAD_AT_START} at the start and {load()} at the end (other work shared "
        "the machine: figures vary by ±30 % between runs).",
        "",
        f"## Pages on the bundled data (target: median ≤ {PAGE_TARGET_MS:.0f} ms)",
        "",
        "In-process ASGI requests (Starlette TestClient) against a fresh SQLite database holding the bundled dataset",
        "(66 incidents, 180 attributions, 88 responses); each time is the whole request: routing, the database,",
        "the computation and the template.",
        "",
        "| page | what | median ms | max ms | target |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for r in pages:
        ok = "OK" if r["median_ms"] <= PAGE_TARGET_MS else f"MISSED by {r['median_ms'] - PAGE_TARGET_MS:.0f} ms"
        lines.append(f"| `{r['url']}` | {r['what']} | {r['median_ms']:.1f} | {r['max_ms']:.1f} | {ok} |")
    build = runs[0]["build"] if runs else {}
    rows = {k.removeprefix("rows: "): int(v) for k, v in build.items() if k.startswith("rows: ")}
    rows = rows or {"incidents": args.incidents, "attributions": 3 * args.incidents}
    lines += [
        "",
        f"## Computations at {args.incidents:,} incidents (target: dyad and tension ≤ {COMPUTE_TARGET_S:.0f} s)",
        "",
        f"The bundled dataset plus {rows.get('incidents', 0):,} synthetic incidents of `bench_api.synthetic()` "
        f"with {rows.get('attributions', 0):,} attributions, {rows.get('receivers', 0):,} receivers (every state "
        f"of the bundled list: 193 UN members and 4 more) and {rows.get('responses', 0):,} responses, written with "
        "bulk inserts. Each run opens a session and reads everything it needs from the database (the memo of "
        "`accord.analytics.columns.memo` cleared before every cold run: the record's columns are read anew too).",
    ]
    for run in runs:
        lines += [
            "",
            f"### {run['backend']}",
            "",
            "| building the database | seconds |",
            "| --- | ---: |",
        ]
        lines += [f"| {k} | {v:.1f} |" for k, v in run["build"].items() if not k.startswith("rows: ")]
        lines += ["", "| computation | median s | max s | target | result |", "| --- | ---: | ---: | --- | --- |"]
        for r in run["compute"]:
            verdict = r["verdict"]
            if verdict == "MISSED":
                verdict = f"MISSED by {r['median_s'] - COMPUTE_TARGET_S:.2f} s"
            lines.append(f"| {r['what']} | {r['median_s']:.2f} | {r['max_s']:.2f} | {verdict} | {r['detail']} |")
        lines += [
            "",
            "Where a cold computation spends its time (each step apart, same database, median of the runs):",
            "",
            "| step | median s | max s |",
            "| --- | ---: | ---: |",
        ]
        lines += [f"| {r['what']} | {r['median_s']:.3f} | {r['max_s']:.3f} |" for r in run["phases"]]
    lines += ["", WHERE_THE_TIME_GOES]
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")


def measure(engine: Any, build: dict[str, float], backend: str, repeat: int) -> dict[str, Any]:
    for k, v in build.items():
        if not k.startswith("rows: "):
            print(f"  {k}: {v:.1f} s")
    compute = bench_compute(engine, repeat)
    print("  -- where the time goes --")
    phases = bench_phases(engine, repeat)
    engine.dispose()
    return {"backend": backend, "build": build, "compute": compute, "phases": phases}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--incidents", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=15, help="requests per page (median)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per computation (median)")
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--keep", action="store_true", help="keep the SQLite files in bench/out")
    ap.add_argument("--reuse", action="store_true", help="reuse a SQLite database kept by an earlier --keep run")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    small, big = OUT / "analytics-bundled.db", OUT / f"analytics-{args.incidents}.db"

    print(f"== pages on the bundled data (median of {args.requests}) ==")
    engine = bundled_database(small)
    pages = bench_pages(engine, args.requests)
    engine.dispose()

    runs = []
    if args.backend in ("sqlite", "both"):
        print(f"\n== {args.incidents:,} synthetic incidents on SQLite ==")
        if args.reuse and big.exists():
            engine, build = make_engine(f"sqlite:///{big}"), {"reused from an earlier run": 0.0}
        else:
            engine, build = synthetic_database(big, args.incidents)
        runs.append(measure(engine, build, "SQLite", args.repeat))
    if args.backend in ("postgresql", "both"):
        print(f"\n== {args.incidents:,} synthetic incidents on PostgreSQL ==")
        with postgres_database() as url:
            engine, build = synthetic_database(url, args.incidents)
            runs.append(measure(engine, build, "PostgreSQL", args.repeat))

    write_results(args, pages, runs)
    if not args.keep:
        for path in (small, big):
            for p in path.parent.glob(path.name + "*"):
                p.unlink()
    computed = [r for run in runs for r in run["compute"]]
    ok = all(r["median_ms"] <= PAGE_TARGET_MS for r in pages) and all(r["verdict"] != "MISSED" for r in computed)
    print("all targets met" if ok else "some targets missed")


if __name__ == "__main__":
    main()
