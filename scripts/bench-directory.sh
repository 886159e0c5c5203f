#!/usr/bin/env bash
# The STS hot path with the directory in a database against the same directory read from the
# configuration file, side by side in one run, then the cost of directory changes under load.
# Bounded: ROUNDS interleaved rounds of DURATION per (target, action), then one CHURN run.
#
#   scripts/bench-directory.sh     # DURATION=10s ROUNDS=3 CONNS=16 ACTIONS="AssumeRole GetCallerIdentity"
#
# Two idbroker servers on the demo configuration with the Redis session store (dbs 11 and 12 of
# the local Redis), two workers each, audit to /dev/null: "file" (the demo's [directory] url
# removed: the file's directory) and "database" (DIRECTORY_URL, default a SQLite file in a
# temporary directory; e.g. postgres://postgres@127.0.0.1:5432/bench_directory, which must
# exist). The two are never loaded at once: each round runs one after the other, which first
# alternating. Then, while wrk
# runs AssumeRole against "database" for DURATION, scripts/bench/iam_churn.py changes its
# directory as fast as one client can (each change a new version put in force); the STS run
# must show no error (non2xx=0 ...). Prints every run, the medians and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}; ROUNDS=${ROUNDS:-3}; CONNS=${CONNS:-16}
ACTIONS=${ACTIONS:-"AssumeRole GetCallerIdentity"}
FILE_PORT=${FILE_PORT:-18091}; DB_PORT=${DB_PORT:-18092}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
python3 -c "import boto3" 2>/dev/null || pip install -q boto3
redis-cli -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
if [[ -z ${IDBROKER_BIN:-} ]]; then
  cargo build --release --locked -q --bin idbroker
  IDBROKER_BIN=${CARGO_TARGET_DIR:-target}/release/idbroker
fi
out=$(mktemp -d); pids=()
DIRECTORY_URL=${DIRECTORY_URL:-sqlite://$out/directory.db}
# Beside the demo's file (its paths are relative to it); removed on exit.
file_cfg=config/demo/.bench-directory-file-$$.toml; db_cfg=config/demo/.bench-directory-db-$$.toml
grep -v '^url = "sqlite::memory:"' config/demo/idbroker.toml > "$file_cfg"
sed "s|^url = \"sqlite::memory:\"|url = \"$DIRECTORY_URL\"|" config/demo/idbroker.toml > "$db_cfg"
cleanup() { kill "${pids[@]}" 2>/dev/null || true; redis-cli -n 11 flushdb >/dev/null; redis-cli -n 12 flushdb >/dev/null; rm -rf "$out" "$file_cfg" "$db_cfg"; return 0; }
trap cleanup EXIT
wait_port() { for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
IDBROKER_STORE_URL=redis://127.0.0.1:6379/11 IDBROKER_THROTTLE=off IDBROKER_METRICS_LISTEN=127.0.0.1:$((FILE_PORT + 1000)) \
  "$IDBROKER_BIN" serve --config "$file_cfg" --listen 127.0.0.1:$FILE_PORT >/dev/null 2>"$out/file.err" & pids+=($!)
IDBROKER_STORE_URL=redis://127.0.0.1:6379/12 IDBROKER_THROTTLE=off IDBROKER_METRICS_LISTEN=127.0.0.1:$((DB_PORT + 1000)) \
  "$IDBROKER_BIN" serve --config "$db_cfg" --listen 127.0.0.1:$DB_PORT >/dev/null 2>"$out/db.err" & pids+=($!)
wait_port $FILE_PORT; wait_port $DB_PORT; sleep 1
# (Each server has its own metrics listener: the demo names one port.)

echo "round target conns req/s p50 p99 errors" > "$out/runs"
run() { # name conns url script
  local name=$1 c=$2 url=$3 script=$4
  wrk -t2 -c"$c" -d"$DURATION" --latency -s "$script" "$url" >"$out/wrk" 2>&1
  local rps p50 p99 errs
  rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk")
  p50=$(sed -n 's/^LAT p50=\([0-9.]*\)ms.*/\1/p' "$out/wrk"); p99=$(sed -n 's/.*p99=\([0-9.]*\)ms.*/\1/p' "$out/wrk")
  errs=$(sed -n 's/^ERRS //p' "$out/wrk" | tr ' ' ',')
  echo "$round $name $c $rps $p50 $p99 $errs" | tee -a "$out/runs"
}
for round in $(seq "$ROUNDS"); do
  for a in $ACTIONS; do
    python3 scripts/bench/sts_request.py "http://127.0.0.1:$FILE_PORT" "$a" > "$out/file.lua"
    python3 scripts/bench/sts_request.py "http://127.0.0.1:$DB_PORT" "$a" > "$out/db.lua"
    for c in $CONNS; do
      # Which goes first alternates by round (each run grows its Redis db's session index).
      if (( round % 2 )); then
        run "file-$a" "$c" "http://127.0.0.1:$FILE_PORT/" "$out/file.lua"
        run "database-$a" "$c" "http://127.0.0.1:$DB_PORT/" "$out/db.lua"
      else
        run "database-$a" "$c" "http://127.0.0.1:$DB_PORT/" "$out/db.lua"
        run "file-$a" "$c" "http://127.0.0.1:$FILE_PORT/" "$out/file.lua"
      fi
    done
  done
done
round=churn
python3 scripts/bench/sts_request.py "http://127.0.0.1:$DB_PORT" AssumeRole > "$out/db.lua"
python3 scripts/bench/iam_churn.py "http://127.0.0.1:$DB_PORT" "${DURATION%s}" > "$out/churn" &
churn=$!
run "database-AssumeRole-under-churn" "${CONNS%% *}" "http://127.0.0.1:$DB_PORT/" "$out/db.lua"
wait $churn; cat "$out/churn"
echo; echo "medians over $ROUNDS rounds of $DURATION (wrk -t2, loopback, 2 cores shared by the servers, wrk and Redis):"
python3 - "$out/runs" <<'PY'
import sys, statistics, collections
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:]]
for r in rows:
    if any(not kv.endswith("=0") for kv in r[6].split(",")):
        print("ERRORS in run:", " ".join(r))
by = collections.defaultdict(list)
for r in rows: by[(r[1], int(r[2]))].append(r)
med = {k: [statistics.median(float(r[i]) for r in rs) for i in (3, 4, 5)] for k, rs in by.items()}
print(f"{'target':34} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
for (t, c), m in sorted(med.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    print(f"{t:34} {c:>5} {m[0]:>9.0f} {m[1]:>8.2f} {m[2]:>8.2f}")
for (t, c), m in sorted(med.items()):
    if t.startswith("database-") and ("file-" + t[len("database-"):], c) in med:
        f = med[("file-" + t[len("database-"):], c)]
        print(f"{t} / file at {c} conns: throughput {m[0]/f[0]:.3f}x, p99 {m[2]/f[2]:.2f}x")
    if t == "database-AssumeRole-under-churn" and ("database-AssumeRole", c) in med:
        b = med[("database-AssumeRole", c)]
        print(f"AssumeRole under churn / without at {c} conns: throughput {m[0]/b[0]:.3f}x, p99 {m[2]/b[2]:.2f}x")
PY
