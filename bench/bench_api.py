"""Knowledge-base benchmark: bulk import and filtered API queries at 100k incidents / 300k attributions.

For each backend (SQLite file; PostgreSQL if reachable) it
1. creates a fresh database and runs `accord init` (schema + bundled dataset),
2. times `accord import` of a synthetic JSONL file of 100k incidents, each with 3 attributions
   (300k attributions), receivers and actors — the real CLI, in a subprocess, wall-clock,
3. starts `accord serve` and times filtered list queries over HTTP on loopback (sequential requests,
   a warm-up pass first), printing p50 / p95 / max per query and the verdict against the targets
   (import <= 30 s, p95 <= 50 ms).

Usage: python bench/bench_api.py [--incidents N] [--requests N] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
ACCORD = [sys.executable, "-m", "accord.cli.main"]
PG_ADMIN = os.environ.get("ACCORD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TYPES = [
    "espionage",
    "data_theft",
    "disruption",
    "destruction",
    "ransomware",
    "hijacking",
    "influence_operation",
    "ddos",
    "defacement",
]
CATEGORIES = ["government", "military", "critical_infrastructure", "private", "civil_society"]
SECTORS = ["energy", "finance", "health", "telecom", "transport", "water", "elections", "media"]
BASES = ["receiver_government", "third_party_government", "it_security_company", "media"]
FORMS = ["political_statement", "technical_advisory", "indictment", "sanctions_listing"]


def synthetic(path: Path, n: int, seed: int = 7) -> None:
    from accord.dataset.files import _load_json, attack_actors

    rnd = random.Random(seed)
    states = [s["code"] for s in _load_json("states.json")]
    accused = ["RU", "CN", "KP", "IR", "BY", "PK", "IN", "VN", "TR", "SY"]
    actors = [a["attack_id"] for a in attack_actors()]
    src = {"sources": ["https://example.org/synthetic"], "as_of": "2026-11-27"}
    with path.open("w") as f:
        for i in range(n):
            year = rnd.randint(2007, 2025)
            start = f"{year}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
            attributed = rnd.choice(accused)
            group = f"joint-{i // 3}" if rnd.random() < 0.3 else None
            inc = {
                "slug": f"synthetic-{i}",
                "name": f"Synthetic operation {i} {rnd.choice(['Storm', 'Bear', 'Panda', 'Kitten'])}",
                "description": f"Generated record {i} for benchmarking.",
                "start_date": start,
                "operation_type": rnd.choice(TYPES),
                "intensity": rnd.randint(1, 5),
                "receivers": [
                    {"state": rnd.choice(states), "category": rnd.choice(CATEGORIES), "sector": rnd.choice(SECTORS)}
                    for _ in range(rnd.randint(1, 2))
                ],
                "actors": [rnd.choice(actors)],
                "attributions": [
                    {
                        "by_state": rnd.choice(states),
                        "attributed_state": attributed,
                        "date": f"{min(year + 1, 2025)}-06-01",
                        "basis": rnd.choice(BASES),
                        "form": rnd.choice(FORMS),
                        "joint_group": group,
                        **src,
                    }
                    for _ in range(3)
                ],
                **src,
            }
            f.write(json.dumps(inc) + "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(args: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(ACCORD + args, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


QUERIES = {
    "incidents?attributed_state=CN": "/api/v1/incidents?attributed_state=CN",
    "incidents?receiver=EE": "/api/v1/incidents?receiver=EE",
    "incidents?type=ddos&year_from=2015&year_to=2018": "/api/v1/incidents?type=ddos&year_from=2015&year_to=2018",
    "incidents?sector=energy&attributed_state=RU": "/api/v1/incidents?sector=energy&attributed_state=RU",
    "incidents?actor=<id>": None,  # filled in with a real actor id
    "incidents?sort=-start_date (page 50)": None,  # 50th page via cursors
    "attributions?by_state=GB": "/api/v1/attributions?by_state=GB",
    "attributions?joint_group=<group>": None,  # filled in with a real joint group
    "commitments?instrument=BUDAPEST&status=ratified": "/api/v1/commitments?instrument=BUDAPEST&status=ratified",
    "incidents?q=kitten (text search, frequent)": "/api/v1/incidents?q=kitten",
    "incidents?q=operation 42424 (text search, rare)": "/api/v1/incidents?q=operation%2042424",
}


def measure(base: str, requests: int) -> dict[str, list[float]]:
    client = httpx.Client(base_url=base, timeout=30)
    actor = client.get("/api/v1/actors?attack_id=G0007").json()["items"][0]["id"]
    urls = dict(QUERIES)
    urls["incidents?actor=<id>"] = f"/api/v1/incidents?actor={actor}"
    group = client.get("/api/v1/attributions", params={"joint": "true", "sort": "-id", "limit": 1}).json()["items"][0][
        "joint_group"
    ]
    urls["attributions?joint_group=<group>"] = f"/api/v1/attributions?joint_group={group}"
    cursor = None
    for _ in range(49):
        cursor = client.get(
            "/api/v1/incidents", params={"sort": "-start_date"} | ({"cursor": cursor} if cursor else {})
        ).json()["next_cursor"]
    urls["incidents?sort=-start_date (page 50)"] = f"/api/v1/incidents?sort=-start_date&cursor={cursor}"
    timings: dict[str, list[float]] = {}
    for name, url in urls.items():
        assert url is not None
        r = client.get(url)
        r.raise_for_status()
        assert r.json()["items"], name
        samples = []
        for _ in range(requests):
            t0 = time.perf_counter()
            client.get(url).raise_for_status()
            samples.append((time.perf_counter() - t0) * 1000)
        timings[name] = samples
    return timings


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def bench_backend(backend: str, data: Path, requests: int) -> dict[str, object]:
    env = dict(os.environ)
    pg_name = None
    if backend == "sqlite":
        node = OUT / f"node-{uuid.uuid4().hex[:6]}"
        env["ACCORD_DATA_DIR"] = str(node)
        env.pop("ACCORD_DATABASE_URL", None)
    else:
        import psycopg
        from sqlalchemy.engine import make_url

        url = make_url(PG_ADMIN)
        pg_name = f"accord_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(
            host=url.host, port=url.port or 5432, user=url.username, dbname=url.database, autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        env["ACCORD_DATABASE_URL"] = url.set(database=pg_name).render_as_string(hide_password=False)
    try:
        t_init = run(["init"], env)
        t_import = run(["import", str(data)], env)
        port = free_port()
        server = subprocess.Popen(
            ACCORD + ["serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    httpx.get(base + "/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            timings = measure(base, requests)
        finally:
            server.terminate()
            server.wait()
    finally:
        if pg_name:
            import psycopg
            from sqlalchemy.engine import make_url

            url = make_url(PG_ADMIN)
            with psycopg.connect(
                host=url.host, port=url.port or 5432, user=url.username, dbname=url.database, autocommit=True
            ) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    return {"init_s": t_init, "import_s": t_import, "timings": timings}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--incidents", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    data = OUT / f"synthetic-{args.incidents}.jsonl"
    if not data.exists():
        print(f"generating {args.incidents} synthetic incidents with {3 * args.incidents} attributions ...")
        synthetic(data, args.incidents)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    ok = True
    for backend in backends:
        print(f"\n== {backend}: {args.incidents} incidents / {3 * args.incidents} attributions ==")
        res = bench_backend(backend, data, args.requests)
        verdict = "OK" if res["import_s"] <= 30 else "MISSED"
        ok &= verdict == "OK"
        print(f"accord init (schema + bundled dataset): {res['init_s']:.1f} s")
        print(f"accord import {data.name}: {res['import_s']:.1f} s  (target <= 30 s: {verdict})")
        print(f"{'query':52} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  target p95 <= 50 ms")
        for name, samples in res["timings"].items():  # type: ignore[union-attr]
            p95 = pct(samples, 0.95)
            v = "OK" if p95 <= 50 else "MISSED"
            ok &= v == "OK"
            print(f"{name:52} {statistics.median(samples):8.1f} {p95:8.1f} {max(samples):8.1f}  {v}")
    print("\nall targets met" if ok else "\nsome targets missed")


if __name__ == "__main__":
    main()
