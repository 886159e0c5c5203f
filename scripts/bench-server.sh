#!/usr/bin/env bash
# Load benchmark of the STS server on loopback, side by side in the same run with
# benches/ceiling (the least a credential exchange can cost here). Bounded: ROUNDS
# interleaved rounds of DURATION per (target, connections); about 15 minutes with the defaults.
#
#   scripts/bench-server.sh              # DURATION=10s ROUNDS=3 CONNS="16 64" ACTIONS="WebIdentity AssumeRole GetCallerIdentity Verify"
#
# idbroker runs the demo configuration with the Redis session store (db 9 of the local Redis;
# IDB_PORT, CEIL_PORT, IDB_DB, CEIL_DB change ports and dbs, so two runs do not collide),
# two workers, its audit log (one JSON line per call) going to /dev/null. AssumeRole and
# GetCallerIdentity are signed by botocore (scripts/bench/sts_request.py); AssumeRoleWithWebIdentity
# sends an RS256 token of the demo OIDC provider (pinned JWKS) with the ceiling's own wrk script.
# Each is compared with the ceiling route doing the same kind of work: /mint for the exchanges,
# /hello (the HTTP floor) for GetCallerIdentity. Verify is POST /verify by the demo's
# reports-service about a request signed with a ReportsReader session, with a decision
# (scripts/bench/sts_request.py; the session is cached: one store read per second per worker);
# against /hello too. Prints every run, then medians, ratios and RSS.
# THROTTLE: "off" (default; one client at thousands of calls per second from one key and one
# address is what the limits stop) or "raised" (throttling on with limits no run reaches: the
# cost of taking the buckets, one store round trip per call).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}; ROUNDS=${ROUNDS:-3}; CONNS=${CONNS:-"16 64"}
ACTIONS=${ACTIONS:-"WebIdentity AssumeRole GetCallerIdentity Verify"}
CEILING=benches/ceiling
THROTTLE=${THROTTLE:-off}
IDB_PORT=${IDB_PORT:-18081}; CEIL_PORT=${CEIL_PORT:-18080}; IDB_DB=${IDB_DB:-9}; CEIL_DB=${CEIL_DB:-10}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
python3 -c "import botocore" 2>/dev/null || pip install -q botocore
redis-cli -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
# IDBROKER_BIN / CEILING_BIN: run these binaries instead of building (a shared CARGO_TARGET_DIR
# may be rebuilt by someone else mid-run: copy the binary out first).
if [[ -z ${IDBROKER_BIN:-} ]]; then
  cargo build --release --locked -q --bin idbroker
  IDBROKER_BIN=${CARGO_TARGET_DIR:-target}/release/idbroker
fi
if [[ -z ${CEILING_BIN:-} ]]; then
  cargo build --release --locked -q --manifest-path "$CEILING/Cargo.toml" --target-dir target/ceiling
  CEILING_BIN=target/ceiling/release/ceiling
fi

out=$(mktemp -d); pids=()
# The configuration: the demo's, with [throttle] limits raised for THROTTLE=raised (beside the
# demo's file: its paths are relative to it; removed on exit).
config=config/demo/idbroker.toml; throttle_env=IDBROKER_THROTTLE=off
if [[ $THROTTLE == raised ]]; then
  config=config/demo/.bench-server-$$.toml; throttle_env=IDBROKER_THROTTLE=on
  printf '%s\n' "" "[throttle]" "principal = { rate = 1000000, burst = 1000000 }" \
    "provider = { rate = 1000000, burst = 1000000 }" "source = { rate = 1000000, burst = 1000000 }" \
    | cat config/demo/idbroker.toml - > "$config"
fi
cleanup() { kill "${pids[@]}" 2>/dev/null || true; redis-cli -n "$IDB_DB" flushdb >/dev/null; redis-cli -n "$CEIL_DB" flushdb >/dev/null; rm -rf "$out"; [[ $THROTTLE == raised ]] && rm -f "$config"; return 0; }
trap cleanup EXIT
rss() { awk '/VmRSS/ {printf "%.1f MB", $2/1024}' "/proc/$1/status"; }
wait_port() { for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }

PORT=$CEIL_PORT WORKERS=2 REDIS_PER_WORKER=1 REDIS_URL=redis://127.0.0.1:6379/$CEIL_DB TOKEN_OUT="$out/ceiling-token.txt" \
  "$CEILING_BIN" >"$out/ceiling.log" 2>&1 & pids+=($!); ceil_pid=$!
env IDBROKER_STORE_URL=redis://127.0.0.1:6379/$IDB_DB "$throttle_env" \
  "$IDBROKER_BIN" serve --config "$config" --listen 127.0.0.1:$IDB_PORT >/dev/null 2>"$out/idbroker.err" & pids+=($!); idb_pid=$!
wait_port $CEIL_PORT; wait_port $IDB_PORT; sleep 1
"$IDBROKER_BIN" dev web-identity-token --sub demo-bench --lifetime 3600 > "$out/web-token.txt"
WEB_ROLE=arn:aws:iam::123456789012:role/demo/WebDeployer
echo "idle RSS: idbroker $(rss $idb_pid), ceiling $(rss $ceil_pid)"

echo "round target conns req/s p50 p99 errors" > "$out/runs"
run() { # name conns url script [env...]
  local name=$1 c=$2 url=$3 script=$4; shift 4
  env "$@" wrk -t2 -c"$c" -d"$DURATION" --latency -s "$script" "$url" >"$out/wrk" 2>&1 &
  local w=$!; sleep "$(( ${DURATION%s} / 2 ))"; local r; r=$(rss "$idb_pid"); wait $w
  local rps p50 p99 errs
  rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk")
  p50=$(sed -n 's/^LAT p50=\([0-9.]*\)ms.*/\1/p' "$out/wrk"); p99=$(sed -n 's/.*p99=\([0-9.]*\)ms.*/\1/p' "$out/wrk")
  errs=$(sed -n 's/^ERRS //p' "$out/wrk" | tr ' ' ',')
  echo "$round $name $c $rps $p50 $p99 $errs" | tee -a "$out/runs"
  [[ $name == idbroker* ]] && echo "$r" >> "$out/rss-load"
  return 0
}
for round in $(seq "$ROUNDS"); do
  python3 scripts/bench/sts_request.py "http://127.0.0.1:$IDB_PORT" GetCallerIdentity > "$out/gci.lua"
  python3 scripts/bench/sts_request.py "http://127.0.0.1:$IDB_PORT" AssumeRole > "$out/assume.lua"
  [[ " $ACTIONS " == *" Verify "* ]] && python3 scripts/bench/sts_request.py "http://127.0.0.1:$IDB_PORT" Verify > "$out/verify.lua"
  for c in $CONNS; do
    for a in $ACTIONS; do
      case $a in
        WebIdentity)
          run ceiling-mint "$c" "http://127.0.0.1:$CEIL_PORT/mint" "$CEILING/post.lua" TOKEN_FILE="$out/ceiling-token.txt"
          run idbroker-WebIdentity "$c" "http://127.0.0.1:$IDB_PORT/" "$CEILING/post.lua" TOKEN_FILE="$out/web-token.txt" ROLE_ARN=$WEB_ROLE ;;
        AssumeRole)
          run ceiling-mint "$c" "http://127.0.0.1:$CEIL_PORT/mint" "$CEILING/post.lua" TOKEN_FILE="$out/ceiling-token.txt"
          run idbroker-AssumeRole "$c" "http://127.0.0.1:$IDB_PORT/" "$out/assume.lua" ;;
        GetCallerIdentity)
          run ceiling-hello "$c" "http://127.0.0.1:$CEIL_PORT/hello" "$CEILING/post.lua" TOKEN_FILE="$out/ceiling-token.txt"
          run idbroker-GetCallerIdentity "$c" "http://127.0.0.1:$IDB_PORT/" "$out/gci.lua" ;;
        Verify)
          run ceiling-hello "$c" "http://127.0.0.1:$CEIL_PORT/hello" "$CEILING/post.lua" TOKEN_FILE="$out/ceiling-token.txt"
          run idbroker-Verify "$c" "http://127.0.0.1:$IDB_PORT/verify" "$out/verify.lua" ;;
      esac
    done
  done
done
echo; echo "medians over $ROUNDS rounds of $DURATION (wrk -t2, loopback, 2 cores shared by server, wrk and Redis):"
python3 - "$out/runs" <<'PY'
import sys, statistics, collections
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:]]
bad = [r for r in rows if any(not kv.endswith("=0") for kv in r[6].split(","))]
for r in bad:
    print("WARNING: errors in run:", " ".join(r))
by = collections.defaultdict(list)
for r in rows: by[(r[1], int(r[2]))].append(r)
med = {}
print(f"{'target':28} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
for (t, c), rs in sorted(by.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    m = [statistics.median(float(r[i]) for r in rs) for i in (3, 4, 5)]
    med[(t, c)] = m
    print(f"{t:28} {c:>5} {m[0]:>9.0f} {m[1]:>8.2f} {m[2]:>8.2f}")
for c in sorted({c for _, c in med}):
    for a, b in (("idbroker-WebIdentity", "ceiling-mint"), ("idbroker-AssumeRole", "ceiling-mint"), ("idbroker-GetCallerIdentity", "ceiling-hello"), ("idbroker-Verify", "ceiling-hello"), ("idbroker-Verify", "idbroker-GetCallerIdentity")):
        if (a, c) in med and (b, c) in med:
            print(f"{a} / {b} at {c} conns: throughput {med[(a,c)][0]/med[(b,c)][0]:.2f}x, p99 {med[(a,c)][2]/med[(b,c)][2]:.2f}x")
PY
echo "RSS under load (idbroker, sampled mid-run): $(sort -n "$out/rss-load" | tr '\n' ' ')"
echo "RSS after the runs: idbroker $(rss $idb_pid), ceiling $(rss $ceil_pid)"
