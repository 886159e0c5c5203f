#!/usr/bin/env bash
# Load benchmark of AssumeRoleWithWebIdentity (RS256 token of the demo OIDC provider, pinned
# JWKS, Redis session store, release build) side by side with ../shared/bench/ceiling's /mint,
# interleaved in the same run with the same wrk script: ROUNDS rounds of (ceiling, idbroker) at
# each connection count. Prints each run and the medians with the ratio. Bounded: every wrk run
# lasts DURATION seconds; the servers are stopped at the end.
#
#   scripts/bench-web-identity.sh                  # ROUNDS=3 DURATION=15s CONNECTIONS="16 64"
#
# Needs wrk and redis-server (a Redis on 127.0.0.1:6379 is started when none answers).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-16 64}"
CEILING_DIR="$(cd ../shared/bench/ceiling && pwd)"
CEILING_TARGET="${CEILING_TARGET:-$(cd .. && pwd)/target-ceiling}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(pwd)/target}"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

command -v wrk >/dev/null || { echo "bench: wrk is missing (apt-get install -y wrk)" >&2; exit 1; }
if ! redis-cli -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  sleep 0.5
fi

echo "bench: building ceiling and idbroker (release)"
cargo build --release --locked -q --manifest-path "$CEILING_DIR/Cargo.toml" --target-dir "$CEILING_TARGET"
cargo build --release --locked -q --bin idbroker
IDB="$CARGO_TARGET_DIR/release/idbroker"

(cd "$work" && PORT=18080 WORKERS=2 REDIS_PER_WORKER=1 TOKEN_OUT="$work/ceiling-token.txt" \
  exec "$CEILING_TARGET/release/ceiling" >"$work/ceiling.log" 2>&1) &
pids+=($!)
IDBROKER_STORE_KIND=redis IDBROKER_STORE_URL=redis://127.0.0.1:6379/0 IDBROKER_STORE_PREFIX="bench:" \
  "$IDB" serve --config config/demo/idbroker.toml --listen 127.0.0.1:18090 >"$work/idbroker.log" 2>&1 &
pids+=($!)
"$IDB" dev web-identity-token --sub demo-bench --lifetime 3600 > "$work/idbroker-token.txt"
for _ in $(seq 100); do
  [ -s "$work/ceiling-token.txt" ] && curl -s -o /dev/null http://127.0.0.1:18090/healthz && break
  sleep 0.1
done

# One check that idbroker answers 200 with credentials before measuring.
tok="$(cat "$work/idbroker-token.txt")"
role="arn:aws:iam::123456789012:role/demo/WebDeployer"
curl -sf -o /dev/null --data-urlencode "RoleArn=$role" -d Action=AssumeRoleWithWebIdentity \
  -d Version=2011-06-15 -d RoleSessionName=bench-session --data-urlencode "WebIdentityToken=$tok" \
  http://127.0.0.1:18090/ || { echo "bench: idbroker refused the token" >&2; cat "$work/idbroker.log" >&2; exit 1; }

run() { # name conns url token-file role
  local out
  out="$(TOKEN_FILE="$4" ROLE_ARN="$5" timeout 120 wrk -t2 -c"$2" -d"$DURATION" --latency \
          -s "$CEILING_DIR/post.lua" "$3")"
  local rps p99 errs
  rps="$(awk '/^Requests\/sec/{print $2}' <<<"$out")"
  p99="$(sed -n 's/.*p99=\([0-9.]*\)ms.*/\1/p' <<<"$out")"
  errs="$(awk '/Non-2xx/{print $4}' <<<"$out")"
  echo "$1 c=$2 rps=$rps p99_ms=$p99 non2xx=${errs:-0}" | tee -a "$work/results"
}

for c in $CONNECTIONS; do
  for r in $(seq "$ROUNDS"); do
    run ceiling "$c" http://127.0.0.1:18080/mint "$work/ceiling-token.txt" "$role"
    run idbroker "$c" http://127.0.0.1:18090/ "$work/idbroker-token.txt" "$role"
  done
done

echo "bench: medians over $ROUNDS rounds of $DURATION"
python3 - "$work/results" <<'PY'
import statistics, sys
rows = [dict(kv.split("=") for kv in l.split()[1:]) | {"name": l.split()[0]} for l in open(sys.argv[1])]
for c in sorted({r["c"] for r in rows}, key=int):
    m = {}
    for n in ("ceiling", "idbroker"):
        rs = [r for r in rows if r["name"] == n and r["c"] == c]
        m[n] = (statistics.median(float(r["rps"]) for r in rs), statistics.median(float(r["p99_ms"]) for r in rs))
    (cr, cp), (ir, ip) = m["ceiling"], m["idbroker"]
    print(f"c={c}: ceiling {cr:,.0f} req/s p99 {cp:.2f} ms | idbroker {ir:,.0f} req/s p99 {ip:.2f} ms | "
          f"throughput ratio {ir/cr:.2f} (target >= 0.85), p99 ratio {ip/cp:.2f} (target <= 1.5)")
PY
