#!/usr/bin/env bash
# AssumeRoleWithSAML under load on loopback, two builds side by side in the same run (A/B,
# interleaved), so a change can be compared with the build before it on a noisy machine.
#
#   scripts/bench-saml.sh BIN_A BIN_B        # e.g. a copy of the previous release binary, and this one
#
# Both servers run at once (demo configuration, log level warn, Redis store: db IDB_DB for A,
# IDB_DB+1 for B, on PORT and PORT+1), each warmed up by one unrecorded run. One file of
# single-use demo assertions (`idbroker dev saml-assertion --count`, minted by BIN_B; both builds
# accept them; valid for the demo provider's 5 minutes) serves every run: the server's Redis db is
# emptied before each run, so no assertion counts as used. Each run is wrk -t1 for DURATION with
# benches/saml-load.lua; ROUNDS rounds of CONNS connections, A then B. SERVER_ENV_B (e.g.
# "IDBROKER_X=1") is added to B's environment, and CONFIG_B (default CONFIG) is B's configuration. Prints every run and the medians. Bounded (about
# minting + (ROUNDS x |CONNS| + 1) x 2 x DURATION); loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
A=${1:?BIN_A}; B=${2:?BIN_B}
DURATION=${DURATION:-2s}; ROUNDS=${ROUNDS:-3}; CONNS=${CONNS:-"16 64"}
PORT=${PORT:-18090}; IDB_DB=${IDB_DB:-11}; COUNT=${COUNT:-16000}; CONFIG=${CONFIG:-config/demo/idbroker.toml}; CONFIG_B=${CONFIG_B:-$CONFIG}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
redis-cli -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
out=$(mktemp -d); pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; redis-cli -n "$IDB_DB" flushdb >/dev/null || true
  redis-cli -n $((IDB_DB + 1)) flushdb >/dev/null || true; rm -rf "$out"; }
trap cleanup EXIT
wait_port() { for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
"$B" dev saml-assertion --role arn:aws:iam::123456789012:role/demo/SamlDeveloper \
  --user bench@example.com --count "$COUNT" > "$out/assertions.txt"
# Throttling off for both: one client at thousands of calls per second from one address is
# what the limits stop (scripts/bench-abusive.sh measures that).
IDBROKER_STORE_URL=redis://127.0.0.1:6379/$IDB_DB IDBROKER_LOG=warn IDBROKER_METRICS_LISTEN="" IDBROKER_THROTTLE=off \
  "$A" serve --config "$CONFIG" --listen 127.0.0.1:$PORT >/dev/null 2>"$out/err-A" & pids+=($!)
env IDBROKER_STORE_URL=redis://127.0.0.1:6379/$((IDB_DB + 1)) IDBROKER_LOG=warn IDBROKER_METRICS_LISTEN="" IDBROKER_THROTTLE=off \
  ${SERVER_ENV_B:-} "$B" serve --config "$CONFIG_B" --listen 127.0.0.1:$((PORT + 1)) >/dev/null 2>"$out/err-B" & pids+=($!)
wait_port "$PORT"; wait_port $((PORT + 1))
run() { # name conns -> "req/s p50 p99 non2xx"
  local port=$PORT db=$IDB_DB
  [[ $1 == B ]] && { port=$((PORT + 1)); db=$((IDB_DB + 1)); }
  redis-cli -n "$db" flushdb >/dev/null
  ASSERTIONS_FILE="$out/assertions.txt" wrk -t1 -c"$2" -d"$DURATION" --latency -s benches/saml-load.lua \
    "http://127.0.0.1:$port/" > "$out/wrk" 2>&1
  echo "$(awk '/Requests\/sec/ {print $2}' "$out/wrk") $(awk '$1=="50%" {print $2}' "$out/wrk") $(awk '$1=="99%" {print $2}' "$out/wrk") $(awk '/^ERRS/ {print $2}' "$out/wrk" | cut -d= -f2)"
}
echo "warm-up: A $(run A 16); B $(run B 16)"
echo "round build conns req/s p50 p99 non2xx" | tee "$out/runs"
for r in $(seq "$ROUNDS"); do
  for c in $CONNS; do
    for name in A B; do
      echo "$r $name $c $(run "$name" "$c")" | tee -a "$out/runs"
    done
  done
done
echo "medians (req/s):"
for c in $CONNS; do
  for name in A B; do
    awk -v c="$c" -v n="$name" '$2==n && $3==c {print $4}' "$out/runs" | sort -n |
      awk -v c="$c" -v n="$name" '{v[NR]=$1} END {printf "  %s c=%s: %s\n", n, c, v[int((NR+1)/2)]}'
  done
done
