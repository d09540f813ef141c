# ruff: noqa: E501  (report tables and long commands read best on one line)
"""Indicator matching benchmark: Accord's compiled matcher against the OASIS ``stix2-matcher``, in one run.

    .venv/bin/python bench/bench_matching.py [--shared ../shared/bench] [--quick] [--no-write]

Uses the shared harness ``bench_matcher.py`` (and its generator ``gen_stix.py``) of ``--shared``:

1. correctness — the harness runs ``accord match --per-unit`` (its benchmark protocol) on the stored oracle
   sets (``s1_100x100``, ``s1_1000x1000``; ``s1_2000x2000`` regenerated with seed 1) with ``--check``;
2. throughput — the harness times stix2-matcher on a sample (P × O pairs, one process), then the whole
   ``accord match`` command (start-up, JSON parsing, compiling and matching) on 10,000 indicators × 100,000
   observation units generated with the harness's mix; the ratio of pair throughputs;
3. scaling — cost per observation with 10,000 and with 100,000 indicators (matching only, in process);
4. peak memory of the ``accord match`` process (max RSS) and of the in-process index;
5. the cases that explode combinatorially in stix2-matcher (REPEATS over many observations, many ANDed
   observation expressions), timed in both.

Prints a Markdown report and writes it to ``bench/RESULTS-matching.md`` (unless ``--no-write``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ACCORD = REPO / ".venv" / "bin" / "accord"
PYTHON = REPO / ".venv" / "bin" / "python"


def harness(shared: Path, args: list[str], timeout: float) -> dict[str, Any]:
    """Run bench_matcher.py and return its JSON result line."""
    cmd = [str(PYTHON), str(shared / "bench_matcher.py"), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise SystemExit(f"harness failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    return json.loads(lines[-1])


def external(n_max_rss: bool = False) -> str:
    return f"{shlex.quote(str(ACCORD))} match --indicators {{indicators}} --observations {{observations}} --per-unit --out {{out}}"


def correctness(shared: Path, work: Path) -> list[dict[str, Any]]:
    rows = []
    sets = [("s1_100x100", shared / "data" / "s1_100x100"), ("s1_1000x1000", shared / "data" / "s1_1000x1000")]
    big = work / "s1_2000x2000"
    subprocess.run(
        [str(PYTHON), str(shared / "gen_stix.py"), "--seed", "1", "-n", "2000", "-m", "2000", "-o", str(big), "--validate", "0"],
        check=True, capture_output=True,
    )  # fmt: skip
    sets.append(("s1_2000x2000 (regenerated, seed 1)", big))
    truths = {big: shared / "data" / "s1_2000x2000" / "ground_truth.json"}
    for name, folder in sets:
        truth = truths.get(folder, folder / "ground_truth.json")
        res = harness(shared, ["--data-dir", str(folder), "--external-cmd", external(), "--check", str(truth)], 600)
        check = res.get("check") or {}
        rows.append({"set": name, "identical": check.get("identical"), "expected": check.get("expected"),
                     "got": check.get("got"), "wall_s": res.get("result", res).get("wall_s")})  # fmt: skip
    return rows


def _rss_of(cmd: str) -> tuple[float, float]:
    """Wall seconds and max RSS (MiB) of one shell command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run(cmd, shell=True, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(after, before) / 1024


def throughput(shared: Path, work: Path, quick: bool) -> dict[str, Any]:
    p_sample, o_sample = (150, 150) if quick else (300, 300)
    peer = harness(shared, ["--seed", "7", "-p", str(p_sample), "-o", str(o_sample), "--max-seconds", "900"], 1200)
    peer_res = peer.get("result", peer)
    n_ind, n_obs = (2000, 20000) if quick else (10000, 100000)
    data = work / f"s7_{n_ind}x{n_obs}"
    subprocess.run(
        [str(PYTHON), str(shared / "gen_stix.py"), "--seed", "7", "-n", str(n_ind), "-m", str(n_obs), "-o", str(data), "--validate", "0"],
        check=True, capture_output=True,
    )  # fmt: skip
    out = work / "pairs.json"
    cmd = (
        f"{shlex.quote(str(ACCORD))} match --indicators {shlex.quote(str(data / 'indicators.json'))} "
        f"--observations {shlex.quote(str(data / 'observations.json'))} --per-unit --out {shlex.quote(str(out))}"
    )
    runs = [_rss_of(cmd) for _ in range(1 if quick else 3)]
    walls = sorted(w for w, _ in runs)
    wall = walls[len(walls) // 2]
    rss = max(r for _, r in runs)
    pairs = len(json.loads(out.read_text()))
    peer_rate = peer_res.get("evaluations_per_s")
    ours = n_ind * n_obs / wall
    return {
        "peer": peer_res, "peer_sample": f"{p_sample} × {o_sample}", "indicators": n_ind, "observations": n_obs,
        "walls": [round(w, 2) for w in walls], "wall_s": round(wall, 2), "pairs_per_s": ours, "matches": pairs,
        "ratio": ours / peer_rate if peer_rate else None, "max_rss_mib": round(rss), "data": data,
    }  # fmt: skip


def _load(data: Path) -> tuple[list[dict[str, Any]], list[Any]]:
    sys.path.insert(0, str(REPO / "src"))
    from accord.matching.inputs import observations_from_bundle

    inds = [o for o in json.loads((data / "indicators.json").read_text())["objects"] if o["type"] == "indicator"]
    units = json.loads((data / "observations.json").read_text())
    return inds, [o for u in units for o in observations_from_bundle(u)]


def scaling(shared: Path, work: Path, quick: bool) -> dict[str, Any]:
    """Matching time per observation with N and 10 × N indicators (same observations, in process)."""
    from accord.matching.engine import Matcher

    small, large, n_obs = (1000, 10000, 5000) if quick else (10000, 100000, 20000)
    data = work / f"s11_{large}x{n_obs}"
    subprocess.run(
        [str(PYTHON), str(shared / "gen_stix.py"), "--seed", "11", "-n", str(large), "-m", str(n_obs), "-o", str(data), "--validate", "0"],
        check=True, capture_output=True,
    )  # fmt: skip
    inds, observations = _load(data)
    out: dict[str, Any] = {"observations": n_obs}
    for n in (small, large):
        tracemalloc.start()
        t0 = time.perf_counter()
        m = Matcher((i["id"], i["pattern"]) for i in inds[:n])
        compile_s = time.perf_counter() - t0
        index_mib = tracemalloc.get_traced_memory()[0] / 2**20
        tracemalloc.stop()
        best = None
        for _ in range(3):
            t0 = time.perf_counter()
            found = sum(len(m.match_unit(o)) for o in observations)
            took = time.perf_counter() - t0
            best = took if best is None else min(best, took)
        out[n] = {"compile_s": round(compile_s, 2), "index_mib": round(index_mib, 1), "match_s": round(best, 3),
                  "us_per_observation": round(best / n_obs * 1e6, 1), "matches": found}  # fmt: skip
    out["growth"] = out[large]["us_per_observation"] / out[small]["us_per_observation"]
    out["small"], out["large"] = small, large
    return out


def _units(n: int, value: str = "10.0.0.1", spacing: int = 10) -> list[dict[str, Any]]:
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    out = []
    for i in range(n):
        ts = (t0 + dt.timedelta(seconds=spacing * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        sco = {"type": "ipv4-addr", "id": f"ipv4-addr--{i}", "value": value}
        od = {"type": "observed-data", "id": f"observed-data--{i}", "first_observed": ts, "last_observed": ts,
              "number_observed": 1, "object_refs": [sco["id"]]}  # fmt: skip
        out.append({"type": "bundle", "id": f"bundle--{i}", "objects": [od, sco]})
    return out


def adversarial(quick: bool) -> list[dict[str, Any]]:
    """Cases where stix2-matcher enumerates combinations; both engines on the same list of observations."""
    from stix2matcher.matcher import match as oasis_match

    from accord.matching.engine import matches_together
    from accord.matching.inputs import observations_from_bundle

    leaf = "[ipv4-addr:value = '10.0.0.1']"
    cases = [
        ("REPEATS 10 TIMES, 20 observations (matches)", f"{leaf} REPEATS 10 TIMES", _units(20)),
        ("REPEATS 10 TIMES WITHIN 60 SECONDS, 20 observations 10 s apart (no match)",
         f"({leaf} REPEATS 10 TIMES) WITHIN 60 SECONDS", _units(20)),
        ("REPEATS 21 TIMES, 20 observations (no match)", f"{leaf} REPEATS 21 TIMES", _units(20)),
        ("6 ANDed observation expressions, 12 observations (matches)", " AND ".join([leaf] * 6), _units(12)),
        ("6 ANDed + one that never holds, 12 observations (no match)",
         " AND ".join([leaf] * 6 + ["[ipv4-addr:value = '9.9.9.9']"]), _units(12)),
        ("(5 ANDed) WITHIN 30 SECONDS, 12 observations 10 s apart (no match)",
         "(" + " AND ".join([leaf] * 5) + ") WITHIN 30 SECONDS", _units(12)),
    ]  # fmt: skip
    if quick:
        cases = cases[:2]
    rows = []
    for name, pattern, units in cases:
        observations = observations_from_bundle(units)
        t0 = time.perf_counter()
        ours = matches_together(pattern, observations) is not None
        ours_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        theirs = bool(oasis_match(pattern, units, stix_version="2.1"))
        theirs_s = time.perf_counter() - t0
        rows.append({"case": name, "accord_ms": ours_s * 1000, "stix2_matcher_ms": theirs_s * 1000,
                     "agree": ours == theirs, "matched": ours})  # fmt: skip
    return rows


def warning_lists(data: Path) -> dict[str, Any]:
    """Build the default warning lists and check every observed value of a generated set against them."""
    from accord.matching.warninglists import WarningLists

    _, observations = _load(data)
    values = [v for o in observations for sco in o.objects.values() for k, v in sco.items() if k == "value"]
    t0 = time.perf_counter()
    wl = WarningLists.default()
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    hits = sum(1 for v in values if wl.check(v))
    took = time.perf_counter() - t0
    return {"values": len(values), "build_s": round(build, 3), "check_s": round(took, 3), "hits": hits,
            "us_per_value": round(took / len(values) * 1e6, 2)}  # fmt: skip


def report(
    cor: list[dict[str, Any]], thr: dict[str, Any], sca: dict[str, Any], adv: list[dict[str, Any]], wl: dict[str, Any]
) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "?")  # fmt: skip
    peer = thr["peer"]
    lines = [
        "# Indicator matching — Accord against stix2-matcher, one run",
        "",
        f"Measured {now} on {os.cpu_count()} vCPU ({cpu}), Python {platform.python_version()}; "
        f"command: `.venv/bin/python bench/bench_matching.py`. One process each (stix2-matcher in the harness's",
        "single-worker mode; `accord match` single-threaded).",
        "",
        "## Identical results (harness `--check`, Accord through the benchmark protocol)",
        "",
        "| oracle set | pairs expected | pairs Accord | identical | Accord wall s |",
        "| --- | --- | --- | --- | --- |",
        *[
            f"| {r['set']} | {r['expected']} | {r['got']} | {'yes' if r['identical'] else '**no**'} | {r['wall_s']} |"
            for r in cor
        ],  # fmt: skip
        "",
        "## Throughput (same run)",
        "",
        "| engine | input | wall s | pattern × unit pairs per s |",
        "| --- | --- | --- | --- |",
        f"| stix2-matcher {peer.get('engine_version', '')} | {thr['peer_sample']} sample (seed 7) | {peer.get('wall_s')} | "
        f"{peer.get('evaluations_per_s'):,.0f} |",
        f"| `accord match --per-unit` (whole command: start-up, JSON, compile, match) | {thr['indicators']:,} indicators × "
        f"{thr['observations']:,} units (seed 7) | {thr['wall_s']} (runs: {', '.join(map(str, thr['walls']))}) | "
        f"{thr['pairs_per_s']:,.0f} |",
        "",
        f"Ratio: **{thr['ratio']:,.0f} ×** stix2-matcher's pair throughput. {thr['matches']:,} matching pairs. "
        f"Peak memory of the `accord match` process: {thr['max_rss_mib']} MiB (max RSS).",
        "",
        "## Cost per observation as indicators grow (matching only, in process, best of 3)",
        "",
        "| indicators | compile s | index MiB (tracemalloc) | match s | µs per observation | matches |",
        "| --- | --- | --- | --- | --- | --- |",
        *[
            f"| {n:,} | {sca[n]['compile_s']} | {sca[n]['index_mib']} | {sca[n]['match_s']} | {sca[n]['us_per_observation']} | "
            f"{sca[n]['matches']:,} |"
            for n in (sca["small"], sca["large"])
        ],  # fmt: skip
        "",
        f"{sca['observations']:,} observation units (seed 11). Growth from {sca['small']:,} to {sca['large']:,} "
        f"indicators: **{sca['growth']:.2f} ×** per observation (target < 2 ×).",
        "",
        "## Combinatorial cases (the same list of observations given to both, matched across observations)",
        "",
        "| case | Accord ms | stix2-matcher ms | same answer |",
        "| --- | --- | --- | --- |",
        *[
            f"| {r['case']} | {r['accord_ms']:.2f} | {r['stix2_matcher_ms']:,.1f} | {'yes' if r['agree'] else '**no**'} |"
            for r in adv
        ],  # fmt: skip
        "",
        "## Warning lists",
        "",
        f"`WarningLists.default()` built in {wl['build_s']} s; the {wl['values']:,} observed values of the throughput "
        f"set checked in {wl['check_s']} s ({wl['us_per_value']} µs each). {wl['hits']:,} are on a list: the "
        "generator draws every value from reserved ranges and names (198.18.0.0/15, 100.64.0.0/10, .test, "
        "example.com), which is why the benchmark protocol applies no warning list.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "bench", help="the shared bench folder")
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run, not the figures)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS-matching.md")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    with tempfile.TemporaryDirectory(prefix="accord-bench-matching-") as td:
        work = Path(td)
        cor = correctness(a.shared, work)
        print("correctness:", json.dumps(cor), flush=True)
        thr = throughput(a.shared, work, a.quick)
        print("throughput:", json.dumps({k: v for k, v in thr.items() if k != "data"}, default=str), flush=True)
        sca = scaling(a.shared, work, a.quick)
        print("scaling:", json.dumps(sca, default=str), flush=True)
        adv = adversarial(a.quick)
        print("combinatorial:", json.dumps(adv), flush=True)
        wl = warning_lists(thr["data"])
        print("warning lists:", json.dumps(wl), flush=True)
    text = report(cor, thr, sca, adv, wl)
    print(text)
    if not a.no_write and not a.quick:
        a.out.write_text(text)
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
