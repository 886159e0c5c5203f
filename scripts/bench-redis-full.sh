#!/usr/bin/env bash
# A full Redis under load: its own redis-server (maxmemory 2 MB, noeviction, port 16399),
# idbroker serving the demo configuration on it, wrk replaying a signed AssumeRole for 10 s
# (scripts/bench/sts_request.py). Prints what the server answered, what Redis holds, and what
# the log holds: every 200 must be a stored session, every other answer a 503, and the store's
# warnings bounded. Loopback only; about 15 s.
#
#   scripts/bench-redis-full.sh [IDBROKER_BIN]      # default: target/release/idbroker
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/idbroker}; PORT=${PORT:-16399}; IDB=${IDB_PORT:-18600}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
python3 -c "import botocore" 2>/dev/null || pip install -q botocore
out=$(mktemp -d); pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$out"; }
trap cleanup EXIT
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --maxmemory 2mb \
  --maxmemory-policy noeviction --daemonize yes --logfile "$out/redis.log"
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
# Throttling off: one key filling the store is what throttling prevents (scripts/bench-abusive.sh);
# this measures what a full store does.
IDBROKER_STORE_URL=redis://127.0.0.1:$PORT/0 IDBROKER_METRICS_LISTEN="" IDBROKER_LOG=info IDBROKER_THROTTLE=off \
  "$BIN" serve --config config/demo/idbroker.toml --listen 127.0.0.1:$IDB > "$out/idb.log" 2>&1 &
pid=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$IDB) 2>/dev/null && break; sleep 0.1; done
python3 scripts/bench/sts_request.py "http://127.0.0.1:$IDB" AssumeRole > "$out/assume.lua"
wrk -t2 -c16 -d10s -s "$out/assume.lua" "http://127.0.0.1:$IDB/" > "$out/wrk.txt" 2>&1
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
grep -E "requests in|Non-2xx" "$out/wrk.txt"
echo "sessions in Redis: $(redis-cli -p "$PORT" dbsize); $(redis-cli -p "$PORT" info memory | grep -E '^used_memory_human' | tr -d '\r')"
audit() { grep '^{"eventVersion":' "$out/idb.log"; }
echo "answers: ok $(audit | grep -vc '"errorCode"' || true), $(audit | grep -o '"errorCode":"[A-Za-z]*"' | sort | uniq -c | tr '\n' ' ')"
echo "log lines: $(wc -l < "$out/idb.log"), of which audit: $(audit | wc -l), store warnings: $(grep -c 'session store error\|session store timeout' "$out/idb.log" || true)"
