#!/usr/bin/env bash
# TAXII 2.1 load benchmark: Accord (SQLite, PostgreSQL) and medallion (the OASIS
# reference server) measured with the shared harness bench_taxii.py, in ONE run.
#
#   bench/bench_taxii_accord.sh all        [SHARED_DIR] [PEERS_PYTHON]
#       medallion (sizes $MEDALLION_SIZES, --max-seconds $MEDALLION_MAX_SECONDS),
#       then Accord on SQLite, then Accord on PostgreSQL (sizes $ACCORD_SIZES);
#       prints each result table.
#   bench/bench_taxii_accord.sh sqlite     [SIZES] [SHARED_DIR] [PEERS_PYTHON]
#   bench/bench_taxii_accord.sh postgresql [SIZES] [SHARED_DIR] [PEERS_PYTHON]
#   bench/bench_taxii_accord.sh medallion  [SIZES] [SHARED_DIR] [PEERS_PYTHON]
#
# Defaults: SHARED_DIR=/work/shared/bench (read-only: copied to a temp dir),
# PEERS_PYTHON=/tmp/PEERS/bin/python (venv with medallion, taxii2-client, stix2,
# waitress, requests -- see SHARED_DIR/README.md), ACCORD_SIZES=10000,50000,100000,
# MEDALLION_SIZES=1000,5000,10000.  Every run: --envelope 1000 --seed 1.
#
# Accord is set up from scratch for each backend, outside the repository:
#   SQLite:     ACCORD_DATA_DIR=/tmp/accord-bench-sqlite (wiped first)
#   PostgreSQL: database accord_bench_taxii on $PG_HOST (created, dropped afterwards)
# and served by `accord serve` (one uvicorn process).  After the harness, the
# script also times an UNFILTERED paginated read of the whole collection
# (GET objects/?limit=1000 following `next`), which is the issue's
# "paginated read of all objects" target; the harness itself scans match[type].
# Results (harness --out JSON, full-scan JSON, server RSS, logs) go to
# $OUT_DIR (default bench/results-taxii/ next to this script).
#
# Environment knobs: ACCORD (accord executable), ACCORD_PORT_SQLITE (8911),
# ACCORD_PORT_PG (8912), MEDALLION_PORT (5055), PG_HOST (127.0.0.1), PG_USER
# (postgres), PG_DB (accord_bench_taxii), ACCORD_MAX_SECONDS (1500),
# MEDALLION_MAX_SECONDS (900), REQUEST_TIMEOUT (300), ID_READS (100 for Accord;
# medallion always 20, the harness default, to keep it within its budget),
# PROFILE=1 (run py-spy record on the Accord server during the harness; the
# figures of a profiled run are perturbed), KEEP=1 (leave the data behind).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODE="${1:-}"; shift || true
if [[ "$MODE" == "all" ]]; then
  SIZES=""
else
  SIZES="${1:-}"; shift || true
fi
SHARED="${1:-/work/shared/bench}"
PY="${2:-/tmp/PEERS/bin/python}"
ACCORD="${ACCORD:-$HERE/../.venv/bin/accord}"
ACCORD="$(cd "$(dirname "$ACCORD")" && pwd)/$(basename "$ACCORD")"
OUT_DIR="${OUT_DIR:-$HERE/results-taxii}"
ACCORD_SIZES="${ACCORD_SIZES:-10000,50000,100000}"
MEDALLION_SIZES="${MEDALLION_SIZES:-1000,5000,10000}"
ACCORD_PORT_SQLITE="${ACCORD_PORT_SQLITE:-8911}"
ACCORD_PORT_PG="${ACCORD_PORT_PG:-8912}"
MEDALLION_PORT="${MEDALLION_PORT:-5055}"
PG_HOST="${PG_HOST:-127.0.0.1}"; PG_USER="${PG_USER:-postgres}"; PG_DB="${PG_DB:-accord_bench_taxii}"
ACCORD_MAX_SECONDS="${ACCORD_MAX_SECONDS:-1500}"
MEDALLION_MAX_SECONDS="${MEDALLION_MAX_SECONDS:-900}"
REQUEST_TIMEOUT="${REQUEST_TIMEOUT:-300}"
ID_READS="${ID_READS:-100}"
ENVELOPE=1000
SEED=1
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"

mkdir -p "$OUT_DIR"
WORK="$(mktemp -d /tmp/bench-taxii-XXXXXX)"
cp -r "$SHARED/." "$WORK/"          # writable copy: run_medallion.sh, gen_stix.py, medallion/ config
chmod -R u+w "$WORK"
SERVER_PID=""

cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

machine_notes() {
  echo "date: $(date -u +%FT%TZ)  host: $(uname -srm)  nproc: $(nproc)  cpu:$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
  echo "memory: $(free -m | awk '/Mem:/{print $2" MiB total, "$7" MiB available"}')  load: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$PY" - <<'EOF'
import platform
from importlib.metadata import version
pk = ("medallion", "taxii2-client", "stix2", "waitress", "requests")
print("peers python", platform.python_version(), {p: version(p) for p in pk})
EOF
  "$(dirname "$ACCORD")/python" - <<'EOF2' || true
import platform
from importlib.metadata import version, PackageNotFoundError
def v(p):
    try:
        return version(p)
    except PackageNotFoundError:
        return None
print("accord python", platform.python_version(), {p: v(p) for p in ("accord", "uvicorn", "sqlalchemy", "psycopg", "fastapi", "starlette")})
EOF2
}

wait_http() {  # url user pass
  for _ in $(seq 1 120); do
    if "$PY" - "$1" "$2" "$3" <<'EOF'
import sys, requests
try:
    r = requests.get(sys.argv[1], auth=(sys.argv[2], sys.argv[3]), timeout=2,
                     headers={"Accept": "application/taxii+json;version=2.1"})
    sys.exit(0 if r.status_code == 200 else 1)
except Exception:
    sys.exit(1)
EOF
    then return 0; fi
    if [[ -n "$SERVER_PID" ]] && ! kill -0 "$SERVER_PID" 2>/dev/null; then return 1; fi
    sleep 0.5
  done
  return 1
}

full_scan() {  # api_root collection user pass out.json : unfiltered pagination of the whole collection
  "$PY" - "$@" <<'EOF'
import json, sys, time, requests
root, coll, user, pw, out = sys.argv[1:6]
url = "%scollections/%s/objects/" % (root, coll)
s = requests.Session(); s.auth = (user, pw)
s.headers["Accept"] = "application/taxii+json;version=2.1"
res = {"what": "GET objects/?limit=1000 (no filter) following next until more=false", "runs": []}
for rep in range(3):
    lat, n, pages, ids = [], 0, 0, set()
    p = {"limit": "1000"}
    t0 = time.perf_counter()
    while True:
        t1 = time.perf_counter()
        r = s.get(url, params=p, timeout=300)
        lat.append(time.perf_counter() - t1)
        r.raise_for_status()
        env = r.json()
        objs = env.get("objects", [])
        n += len(objs); pages += 1
        ids.update((o["id"], o.get("modified", o.get("created", ""))) for o in objs)
        if not env.get("more"):
            break
        p = {"limit": "1000", "next": env["next"]}
    wall = time.perf_counter() - t0
    lat.sort()
    res["runs"].append({"objects": n, "distinct_id_version": len(ids), "pages": pages, "wall_s": round(wall, 3),
                        "objects_per_s": round(n / wall, 1),
                        "page_ms_p50": round(lat[len(lat) // 2] * 1000, 2),
                        "page_ms_p95": round(lat[min(len(lat) - 1, int(0.95 * len(lat) + 0.5) - 1)] * 1000, 2),
                        "page_ms_max": round(lat[-1] * 1000, 2)})
runs = sorted(res["runs"], key=lambda r: r["objects_per_s"])
res["median_objects_per_s"] = runs[len(runs) // 2]["objects_per_s"]
json.dump(res, open(out, "w"), indent=1)
print("full scan (unfiltered, limit=1000), 3 runs: " + "; ".join(
    "%d obj (%d distinct id+version) in %d pages, %.2f s = %.0f obj/s, page p50 %.1f / p95 %.1f ms" % (
        r["objects"], r["distinct_id_version"], r["pages"], r["wall_s"], r["objects_per_s"],
        r["page_ms_p50"], r["page_ms_p95"]) for r in res["runs"]))
EOF
}

run_harness() {  # label api_root discovery collection user pass sizes max_seconds id_reads server_label
  local label="$1" root="$2" disc="$3" coll="$4" user="$5" pw="$6" sizes="$7" maxs="$8" idr="$9" slabel="${10}"
  local out="$OUT_DIR/taxii_${label}_${STAMP}.json"
  echo "+ $PY bench_taxii.py --api-root $root --collection $coll --user $user --password *** --discovery $disc" \
       "--sizes $sizes --envelope $ENVELOPE --seed $SEED --id-reads $idr --max-seconds $maxs" \
       "--request-timeout $REQUEST_TIMEOUT --server-label '$slabel' --out $out"
  ( cd "$WORK" && "$PY" bench_taxii.py --api-root "$root" --collection "$coll" --user "$user" "--password=$pw" \
      --discovery "$disc" --sizes "$sizes" --envelope "$ENVELOPE" --seed "$SEED" --id-reads "$idr" \
      --max-seconds "$maxs" --request-timeout "$REQUEST_TIMEOUT" --server-label "$slabel" --out "$out" ) \
    || { echo "bench_taxii.py exited $?"; return 1; }
  if [[ -f "$out" ]]; then
    "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("taxii2-client verification:", json.dumps(d.get("taxii2client_verify"))); print("timeouts:", d.get("timeouts"))' "$out"
  fi
}

run_medallion() {
  local sizes="${1:-$MEDALLION_SIZES}"
  local coll=8f0a4a2c-6a3b-4b8e-9d1e-2b5f7c9e0a11
  echo "=== medallion (memory backend, waitress, 1 process, 4 threads) sizes=$sizes max-seconds=$MEDALLION_MAX_SECONDS"
  export PYTHON="$PY" STATE_DIR="$WORK/medallion-state"
  "$WORK/run_medallion.sh" start "$MEDALLION_PORT" || { echo "medallion did not start"; return 1; }
  local ver; ver="$("$PY" -c 'from importlib.metadata import version as v; print(v("medallion"), v("waitress"))')"
  run_harness medallion "http://127.0.0.1:$MEDALLION_PORT/bench/" "http://127.0.0.1:$MEDALLION_PORT/taxii2/" \
    "$coll" bench bench-pass "$sizes" "$MEDALLION_MAX_SECONDS" 20 \
    "medallion ${ver% *} memory backend, waitress ${ver#* }, 1 process, 4 threads"
  echo "medallion server RSS: $(ps -o rss= -p "$(cat "$STATE_DIR/server.pid")" | tr -d ' ') KiB" \
    | tee "$OUT_DIR/taxii_medallion_${STAMP}.rss"
  "$WORK/run_medallion.sh" stop "$MEDALLION_PORT"
}

run_accord() {  # backend sizes
  local backend="$1" sizes="${2:-$ACCORD_SIZES}" port
  local A="$ACCORD" pw coll
  if [[ "$backend" == sqlite ]]; then
    port="$ACCORD_PORT_SQLITE"
    export ACCORD_DATA_DIR=/tmp/accord-bench-sqlite
    unset ACCORD_DATABASE_URL
    rm -rf "$ACCORD_DATA_DIR"
  elif [[ "$backend" == postgresql ]]; then
    port="$ACCORD_PORT_PG"
    export ACCORD_DATA_DIR=/tmp/accord-bench-pg
    rm -rf "$ACCORD_DATA_DIR"
    psql -h "$PG_HOST" -U "$PG_USER" -qc "DROP DATABASE IF EXISTS $PG_DB" >/dev/null
    psql -h "$PG_HOST" -U "$PG_USER" -qc "CREATE DATABASE $PG_DB" >/dev/null || { echo "cannot create $PG_DB"; return 1; }
    export ACCORD_DATABASE_URL="postgresql+psycopg://$PG_USER@$PG_HOST:5432/$PG_DB"
  else
    echo "unknown backend $backend"; return 2
  fi
  echo "=== Accord ($backend) sizes=$sizes"
  mkdir -p "$ACCORD_DATA_DIR"
  "$A" init >"$WORK/init.log" 2>&1 || { cat "$WORK/init.log"; return 1; }   # (prints the admin one-time password: kept out of OUT_DIR)
  "$A" party add bench --name "Benchmark CERT" --state EE
  pw="$("$A" user add bench --role analyst --state EE | sed -n 's/.*one-time password: *//p' | tr -d '[:space:]')"
  "$A" party assign bench bench
  "$A" community add Bench
  "$A" community member Bench bench --write
  coll="$("$A" collection add "Bench" --community Bench --alias bench | tail -1 | tr -d '[:space:]')"
  echo "collection $coll; user bench; password from 'accord user add' (one-time, used as Basic password)"
  [[ -n "$pw" && -n "$coll" ]] || { echo "setup failed (pw='$pw' coll='$coll')"; return 1; }
  local slog="$OUT_DIR/accord_${backend}_${STAMP}.server.log"
  "$A" serve --port "$port" >"$slog" 2>&1 &
  SERVER_PID=$!
  if ! wait_http "http://127.0.0.1:$port/taxii2/" bench "$pw"; then
    echo "Accord did not answer; log:"; tail -30 "$slog"; kill "$SERVER_PID" 2>/dev/null; SERVER_PID=""; return 1
  fi
  local upid="$SERVER_PID"   # accord serve runs uvicorn in its own process (one process)
  local spy=""
  if [[ "${PROFILE:-0}" == 1 ]]; then
    "$(dirname "$PY")/py-spy" record -r 50 -o "$OUT_DIR/profile_${backend}_${STAMP}.svg" --pid "$upid" \
      >"$WORK/pyspy.log" 2>&1 & spy=$!
  fi
  local aver; aver="$("$(dirname "$A")/python" -c 'from importlib.metadata import version as v; print(v("accord"))' 2>/dev/null || echo '?')"
  run_harness "accord_$backend" "http://127.0.0.1:$port/taxii2/accord/" "http://127.0.0.1:$port/taxii2/" \
    "$coll" bench "$pw" "$sizes" "$ACCORD_MAX_SECONDS" "$ID_READS" \
    "Accord $aver, $backend, accord serve (uvicorn, 1 process)" &&
  full_scan "http://127.0.0.1:$port/taxii2/accord/" "$coll" bench "$pw" \
    "$OUT_DIR/taxii_accord_${backend}_${STAMP}.fullscan.json" || echo "full scan failed"
  if [[ -n "$spy" ]]; then kill -INT "$spy" 2>/dev/null; wait "$spy" 2>/dev/null; fi
  echo "Accord server RSS: $(ps -o rss= -p "$upid" | tr -d ' ') KiB; database size: $(
    if [[ $backend == sqlite ]]; then du -sh "$ACCORD_DATA_DIR" | cut -f1; else
      psql -h "$PG_HOST" -U "$PG_USER" -tAc "select pg_size_pretty(pg_database_size('$PG_DB'))"; fi)" \
    | tee "$OUT_DIR/taxii_accord_${backend}_${STAMP}.rss"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""
  if [[ "$backend" == postgresql && "${KEEP:-0}" != 1 ]]; then
    psql -h "$PG_HOST" -U "$PG_USER" -qc "DROP DATABASE IF EXISTS $PG_DB" >/dev/null && echo "dropped $PG_DB"
  fi
  if [[ "${KEEP:-0}" != 1 ]]; then rm -rf "$ACCORD_DATA_DIR"; fi
  unset ACCORD_DATABASE_URL
}

machine_notes | tee "$OUT_DIR/machine_${STAMP}.txt"
case "$MODE" in
  all)        run_medallion; run_accord sqlite; run_accord postgresql ;;
  sqlite)     run_accord sqlite "$SIZES" ;;
  postgresql) run_accord postgresql "$SIZES" ;;
  medallion)  run_medallion "$SIZES" ;;
  *) echo "usage: $0 all [SHARED_DIR] [PEERS_PYTHON] | sqlite|postgresql|medallion [SIZES] [SHARED_DIR] [PEERS_PYTHON]" >&2; exit 2 ;;
esac
echo "done: $(date -u +%FT%TZ); results in $OUT_DIR (stamp $STAMP)"
