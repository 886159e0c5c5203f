#!/usr/bin/env bash
# Downstream verification figures (issue 17), in one run on loopback:
#  1. warm verify+authorize in-process (criterion: crates/verify/benches/verify.rs, a cached grant);
#  2. the remote verifier's cold path, one grant asked of idbroker per lookup (p50/p90/p99), and
#     its warm rate (crates/verify/benches/remote.rs), against a release idbroker serving the
#     demo configuration on the Redis store (db 11 of the local Redis), throttling off (one key
#     asking thousands of grants a second is what the limits stop).
# POST /verify's throughput is scripts/bench-server.sh's `Verify` action.
#
#   scripts/bench-verify.sh          # PORT=18091 DB=11 BENCH_COLD=3000; IDBROKER_BIN to skip the build
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-18091}; DB=${DB:-11}
python3 -c "import botocore" 2>/dev/null || pip install -q botocore
redis-cli -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
if [[ -z ${IDBROKER_BIN:-} ]]; then
  cargo build --release --locked -q --bin idbroker
  IDBROKER_BIN=${CARGO_TARGET_DIR:-target}/release/idbroker
fi
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; redis-cli -n "$DB" flushdb >/dev/null; return 0; }
trap cleanup EXIT
env IDBROKER_STORE_URL=redis://127.0.0.1:6379/$DB IDBROKER_THROTTLE=off IDBROKER_METRICS_LISTEN= \
  "$IDBROKER_BIN" serve --config config/demo/idbroker.toml --listen 127.0.0.1:$PORT >/dev/null 2>&1 & pid=$!
for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

# A ReportsReader session (the caller) and the demo's things-service key (the verifier).
read -r key secret token < <(python3 - "$PORT" <<'PY'
import sys, botocore.session
sts = botocore.session.get_session().create_client(
    "sts", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
    aws_access_key_id="AKIAIDBROKERDEMO0001",
    aws_secret_access_key="idbrokerDemoSecretKeyDoNotUseAnywhere000")
c = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/demo/ReportsReader",
                    RoleSessionName="bench", DurationSeconds=3600)["Credentials"]
print(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
PY
)

echo "== remote verifier: cold path (one grant per lookup) and warm, against idbroker on 127.0.0.1:$PORT"
env IDBROKER_URL=http://127.0.0.1:$PORT IDBROKER_ACCESS_KEY_ID=AKIAIDBROKERTHINGS01 \
  IDBROKER_SECRET_ACCESS_KEY=idbrokerDemoThingsSecretDoNotUseIt000000 BENCH_SERVICE=example \
  BENCH_KEY="$key" BENCH_SECRET="$secret" BENCH_TOKEN="$token" BENCH_COLD=${BENCH_COLD:-3000} \
  cargo bench --locked -q -p idbroker-verify --bench remote
kill "$pid"; pid=

echo "== in-process warm verify+authorize (criterion)"
cargo bench --locked -q -p idbroker-verify --bench verify --features store -- --noplot 2>&1 \
  | grep -E '^verify|time:|thrpt:'
