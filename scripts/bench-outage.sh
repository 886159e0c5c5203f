#!/usr/bin/env bash
# Redis killed under load: its own redis-server (port 16397, AOF with fsync always, so what it
# acknowledged survives), idbroker serving the demo configuration on it (throttling off), signed
# AssumeRole calls at RATE per second (scripts/bench/steady_load.py) for 12 s; Redis is killed
# (SIGKILL) at 4 s and started again at 8 s. Prints the answers, how soon the outage showed
# (503 within the store timeout) and how soon service came back, and checks that every session
# answered with 200 is in Redis afterwards. Loopback only; about 20 s.
#
#   scripts/bench-outage.sh [IDBROKER_BIN]      # default: target/release/idbroker
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/idbroker}; PORT=${PORT:-16397}; IDB=${IDB_PORT:-18620}; RATE=${RATE:-200}
python3 -c "import botocore" 2>/dev/null || pip install -q botocore
out=$(mktemp -d); pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$out"; }
trap cleanup EXIT
start_redis() {
  redis-server --port "$PORT" --bind 127.0.0.1 --dir "$out" --save "" --appendonly yes \
    --appendfsync always --daemonize yes --logfile "$out/redis.log" --pidfile "$out/redis.pid"
  for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
}
start_redis
IDBROKER_STORE_URL=redis://127.0.0.1:$PORT/0 IDBROKER_METRICS_LISTEN="" IDBROKER_LOG=warn IDBROKER_THROTTLE=off \
  "$BIN" serve --config config/demo/idbroker.toml --listen 127.0.0.1:$IDB > "$out/idb.log" 2>&1 &
pid=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$IDB) 2>/dev/null && break; sleep 0.1; done
python3 scripts/bench/steady_load.py "http://127.0.0.1:$IDB" 12 "$RATE" "$out/load.jsonl" &
load=$!
sleep 4; down=$(date +%s.%N); kill -9 "$(cat "$out/redis.pid")"
sleep 4; up=$(date +%s.%N); start_redis
wait "$load"
python3 scripts/bench/outage_report.py "$out/load.jsonl" "$down" "$up" "$out/keys"
missing=0
while read -r k; do
  [[ $(redis-cli -p "$PORT" exists "idbroker:{$k}:session") == 1 ]] || missing=$((missing + 1))
done < "$out/keys"
echo "sessions answered with 200: $(wc -l < "$out/keys"), not in Redis afterwards: $missing"
echo "store warnings in the log: $(grep -c 'session store' "$out/idb.log" || true) lines"
