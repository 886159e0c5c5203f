#!/usr/bin/env bash
# A Redis Cluster primary killed under load: a cluster of its own (3 primaries, 3 replicas,
# ports 7301-7306, cluster-node-timeout 2 s), idbroker serving the demo configuration on it
# (store.min_replicas = MIN_REPLICAS, default 1; throttling off), signed AssumeRole calls at RATE
# per second (scripts/bench/steady_load.py) for 20 s; the primary of the first slots is killed
# (SIGKILL) at 4 s and its replica takes over. Prints the answers, the error window, whether every
# session answered with 200 is in the cluster afterwards, and how many log lines the failover
# wrote. Loopback only; about 35 s.
#
#   scripts/bench-failover.sh [IDBROKER_BIN]      # default: target/release/idbroker
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/idbroker}; IDB=${IDB_PORT:-18630}; RATE=${RATE:-200}
MIN_REPLICAS=${MIN_REPLICAS:-1}; PORTS=(7301 7302 7303 7304 7305 7306)
python3 -c "import botocore" 2>/dev/null || pip install -q botocore
out=$(mktemp -d); pid=
config=config/demo/.bench-failover-$$.toml
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null
  for p in "${PORTS[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
  rm -rf "$out" "$config"
}
trap cleanup EXIT
for p in "${PORTS[@]}"; do
  redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes --cluster-node-timeout 2000 \
    --cluster-config-file "$out/nodes-$p.conf" --dir "$out" --save "" --appendonly no \
    --daemonize yes --logfile "$out/redis-$p.log" --pidfile "$out/redis-$p.pid"
done
for p in "${PORTS[@]}"; do for _ in $(seq 50); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done; done
redis-cli --cluster create $(printf '127.0.0.1:%s ' "${PORTS[@]}") --cluster-replicas 1 --cluster-yes >/dev/null
for _ in $(seq 100); do
  [[ $(redis-cli -p 7301 cluster info | grep -c 'cluster_state:ok') == 1 ]] \
    && [[ $(redis-cli -p 7301 cluster nodes | grep -c slave) == 3 ]] && break
  sleep 0.2
done
sleep 2 # replicas finish their first sync
nodes=$(printf '"redis://127.0.0.1:%s", ' "${PORTS[@]:0:3}")
sed "s|^kind = \"memory\"$|kind = \"redis\"\nnodes = [${nodes%, }]\nmin_replicas = $MIN_REPLICAS|" \
  config/demo/idbroker.toml > "$config"
IDBROKER_METRICS_LISTEN="" IDBROKER_LOG=info IDBROKER_THROTTLE=off \
  "$BIN" serve --config "$config" --listen 127.0.0.1:$IDB > "$out/idb.log" 2>&1 &
pid=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$IDB) 2>/dev/null && break; sleep 0.1; done
# The primary serving slot 0, as node PORT sees it.
owner() { redis-cli -p "$1" cluster nodes 2>/dev/null | awk '$3 ~ /master/ && $3 !~ /fail/ && $9 ~ /^0-/ {split($2, a, "[:@]"); print a[2]}'; }
victim=$(owner 7301)
python3 scripts/bench/steady_load.py "http://127.0.0.1:$IDB" 20 "$RATE" "$out/load.jsonl" &
load=$!
sleep 4; down=$(date +%s.%N); kill -9 "$(cat "$out/redis-$victim.pid")"
# The failover: a replica is promoted once the others agree the primary is gone.
alive=7302; [[ $victim == 7302 ]] && alive=7303
for _ in $(seq 400); do
  o=$(owner "$alive")
  [[ -n $o && $o != "$victim" ]] && redis-cli -p "$alive" cluster info | grep -q 'cluster_state:ok' && break
  sleep 0.05
done
up=$(date +%s.%N)
echo "primary on port $victim killed; cluster ok again after $(python3 -c "print(f'{$up - $down:.2f}')") s"
wait "$load"
python3 scripts/bench/outage_report.py "$out/load.jsonl" "$down" "$up" "$out/keys"
missing=0
while read -r k; do
  [[ $(redis-cli -c -p "$alive" exists "idbroker:{$k}:session") == 1 ]] || missing=$((missing + 1))
done < "$out/keys"
echo "min_replicas = $MIN_REPLICAS: sessions answered with 200: $(wc -l < "$out/keys"), not in the cluster afterwards: $missing"
echo "log lines: $(wc -l < "$out/idb.log") in all; 'Failed to connect': $(grep -c 'Failed to connect' "$out/idb.log" || true); left-out reports: $(grep -c 'more log lines from libraries' "$out/idb.log" || true) ($(grep -o '"left_out":[0-9]*' "$out/idb.log" | cut -d: -f2 | paste -sd+ | bc 2>/dev/null || echo 0) lines left out); store warnings: $(grep -c 'session store' "$out/idb.log" || true)"
