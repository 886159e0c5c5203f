#!/usr/bin/env bash
# One abusive key against everyone else: its own redis-server (maxmemory MAXMEM, default 8 MB,
# noeviction, port 16398), idbroker serving the demo configuration plus a second developer
# ("other") on it with the default [throttle] limits; wrk replays the demo user's signed
# AssumeRole as fast as it can (16 connections) for DURATION while the other user asks for a
# session every 50 ms (botocore, one attempt per call). Prints what each was answered, the other
# user's latency, and what Redis holds. Run it with a binary without throttling to see the store
# fill up and issuance stop for everyone. Loopback only; about DURATION + 5 s.
#
#   scripts/bench-abusive.sh [IDBROKER_BIN]      # default: target/release/idbroker
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/idbroker}; PORT=${PORT:-16398}; IDB=${IDB_PORT:-18610}
DURATION=${DURATION:-10}; MAXMEM=${MAXMEM:-8mb}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
python3 -c "import botocore" 2>/dev/null || pip install -q botocore
out=$(mktemp -d); pid=
# The configuration sits beside the demo's (its paths are relative to it); removed on exit.
config=config/demo/.bench-abusive-$$.toml
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$out" "$config"; }
trap cleanup EXIT
cat config/demo/idbroker.toml - > "$config" <<'EOF'

[[users]]
name = "other"
groups = ["developers"]

[[users.access_keys]]
id = "AKIAIDBROKEROTHER001"
secret = { value = "idbrokerOtherSecretKeyDoNotUseAnywhere00" }
EOF
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --maxmemory "$MAXMEM" \
  --maxmemory-policy noeviction --daemonize yes --logfile "$out/redis.log"
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
IDBROKER_STORE_URL=redis://127.0.0.1:$PORT/0 IDBROKER_METRICS_LISTEN="" IDBROKER_LOG=warn \
  "$BIN" serve --config "$config" --listen 127.0.0.1:$IDB > "$out/idb.log" 2>&1 &
pid=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$IDB) 2>/dev/null && break; sleep 0.1; done
python3 scripts/bench/sts_request.py "http://127.0.0.1:$IDB" AssumeRole > "$out/assume.lua"
wrk -t1 -c16 -d"${DURATION}s" -s "$out/assume.lua" "http://127.0.0.1:$IDB/" > "$out/wrk.txt" 2>&1 &
wrk_pid=$!
python3 - "http://127.0.0.1:$IDB" "$DURATION" <<'PY'
import collections, statistics, sys, time
import botocore.session
from botocore.config import Config
url, duration = sys.argv[1], float(sys.argv[2])
sts = botocore.session.get_session().create_client(
    "sts", endpoint_url=url, region_name="us-east-1",
    aws_access_key_id="AKIAIDBROKEROTHER001",
    aws_secret_access_key="idbrokerOtherSecretKeyDoNotUseAnywhere00",
    config=Config(retries={"max_attempts": 1, "mode": "standard"}))
outcomes, took = collections.Counter(), []
end = time.monotonic() + duration
while time.monotonic() < end:
    t = time.monotonic()
    try:
        sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/demo/ReportsReader",
                        RoleSessionName="other")
        outcomes["ok"] += 1
    except Exception as e:  # botocore's ClientError carries the STS code
        outcomes[getattr(e, "response", {}).get("Error", {}).get("Code", type(e).__name__)] += 1
    took.append((time.monotonic() - t) * 1000)
    time.sleep(max(0.0, 0.05 - (time.monotonic() - t)))
took.sort()
p = lambda q: took[min(len(took) - 1, int(q * len(took)))]
print(f"other user: {sum(outcomes.values())} calls, {dict(outcomes)}, p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms")
PY
wait "$wrk_pid"
echo "abusive key (wrk -c16): $(grep -E 'requests in' "$out/wrk.txt" | xargs), $(grep -E 'Non-2xx' "$out/wrk.txt" | xargs)"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
echo "Redis ($MAXMEM, noeviction): $(redis-cli -p "$PORT" dbsize) keys, $(redis-cli -p "$PORT" info memory | grep -E '^used_memory_human' | tr -d '\r')"
