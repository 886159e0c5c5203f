#!/usr/bin/env bash
# Runs the policy-engine criterion benchmarks RUNS times (default 5) and prints, per benchmark,
# the median over runs of criterion's point estimate, and the rate it stands for. The machine is
# shared and noisy: one run is not a figure.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${RUNS:-5}"
out="$(mktemp)"
for i in $(seq "$runs"); do
  cargo bench -q -p idbroker-policy --bench policy -- --warm-up-time 1 --measurement-time 4 >/dev/null 2>&1
  # criterion's median estimate of each benchmark, in nanoseconds
  for f in target/criterion/*/*/new/estimates.json; do
    name="$(basename "$(dirname "$(dirname "$(dirname "$f")")")")/$(basename "$(dirname "$(dirname "$f")")")"
    python3 -c 'import json,sys; print(sys.argv[2], json.load(open(sys.argv[1]))["median"]["point_estimate"])' "$f" "$name" >> "$out"
  done
done
python3 - "$out" <<'PY'
import sys, statistics, collections
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, ns = line.split()
    runs[name].append(float(ns))
print(f"{'benchmark':<36} {'runs':>4} {'median':>10} {'min':>10} {'max':>10} {'per second':>12}")
for name, xs in sorted(runs.items()):
    m = statistics.median(xs)
    print(f"{name:<36} {len(xs):>4} {m:>8.0f}ns {min(xs):>8.0f}ns {max(xs):>8.0f}ns {1e9/m:>12,.0f}")
PY
rm -f "$out"
