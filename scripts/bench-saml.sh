#!/usr/bin/env bash
# AssumeRoleWithSAML under load on loopback, two builds side by side in the same run (A/B,
# interleaved rounds), so a change can be compared with the build before it on a noisy machine.
#
#   scripts/bench-saml.sh BIN_A BIN_B        # e.g. a copy of the previous release binary, and this one
#
# Each round mints one file of single-use demo assertions (`idbroker dev saml-assertion --count`,
# by BIN_B; both builds accept them; valid for the demo provider's 5 minutes); every run of the
# round replays it against an emptied store (Redis db IDB_DB flushed, so no assertion counts as
# used), with the server (demo configuration, log level warn) started anew and wrk -t1 for
# DURATION with benches/saml-load.lua: CONNS connections, A then B. Prints every run and the
# medians. Bounded: ROUNDS x (minting + |CONNS| x 2 x DURATION); loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
A=${1:?BIN_A}; B=${2:?BIN_B}
DURATION=${DURATION:-2s}; ROUNDS=${ROUNDS:-3}; CONNS=${CONNS:-"16 64"}
PORT=${PORT:-18090}; IDB_DB=${IDB_DB:-11}; COUNT=${COUNT:-16000}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
redis-cli -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
out=$(mktemp -d); pid=""
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; redis-cli -n "$IDB_DB" flushdb >/dev/null || true; rm -rf "$out"; }
trap cleanup EXIT
wait_port() { for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
role=arn:aws:iam::123456789012:role/demo/SamlDeveloper
echo "round build conns req/s p50 p99 non2xx" > "$out/runs"
for r in $(seq "$ROUNDS"); do
  "$B" dev saml-assertion --role "$role" --user "round$r@example.com" --count "$COUNT" > "$out/assertions.txt"
  for c in $CONNS; do
    for name in A B; do
      bin=$A; [[ $name == B ]] && bin=$B
      redis-cli -n "$IDB_DB" flushdb >/dev/null
      IDBROKER_STORE_URL=redis://127.0.0.1:6379/$IDB_DB IDBROKER_LOG=warn IDBROKER_METRICS_LISTEN="" \
        "$bin" serve --config config/demo/idbroker.toml --listen 127.0.0.1:$PORT >/dev/null 2>"$out/err" & pid=$!
      wait_port "$PORT"
      ASSERTIONS_FILE="$out/assertions.txt" wrk -t1 -c"$c" -d"$DURATION" --latency -s benches/saml-load.lua \
        "http://127.0.0.1:$PORT/" > "$out/wrk" 2>&1
      kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
      rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk")
      p50=$(awk '$1=="50%" {print $2}' "$out/wrk"); p99=$(awk '$1=="99%" {print $2}' "$out/wrk")
      errs=$(awk '/^ERRS/ {print $2}' "$out/wrk" | cut -d= -f2)
      echo "$r $name $c $rps $p50 $p99 ${errs:-?}" | tee -a "$out/runs"
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
