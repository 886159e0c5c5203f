#!/usr/bin/env bash
# Redis CPU per issued session: a Redis of its own (port 16396), idbroker BIN on it (throttling
# off), AssumeRole replayed by wrk for 5 s; prints the rate, INFO commandstats (SET, EVALSHA) and
# the CPU Redis used.  Usage: scripts/bench-redis-cost.sh BIN
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/idbroker}; PORT=16396; IDB=18640; pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; redis-cli -p $PORT shutdown nosave >/dev/null 2>&1 || true; }
trap cleanup EXIT
redis-server --port $PORT --bind 127.0.0.1 --save "" --appendonly no --daemonize yes >/dev/null
sleep 0.5
IDBROKER_STORE_URL=redis://127.0.0.1:$PORT/0 IDBROKER_METRICS_LISTEN="" IDBROKER_LOG=warn IDBROKER_THROTTLE=off \
  $BIN serve --config config/demo/idbroker.toml --listen 127.0.0.1:$IDB >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$IDB) 2>/dev/null && break; sleep 0.1; done
lua=$(mktemp); python3 scripts/bench/sts_request.py "http://127.0.0.1:$IDB" AssumeRole > "$lua"
redis-cli -p $PORT config resetstat >/dev/null
wrk -t2 -c16 -d5s -s "$lua" "http://127.0.0.1:$IDB/" | grep -E "Requests/sec"
redis-cli -p $PORT info commandstats | grep -E "evalsha|cmdstat_set:|cmdstat_eval:" 
redis-cli -p $PORT info cpu | grep used_cpu_user:
rm -f "$lua"
