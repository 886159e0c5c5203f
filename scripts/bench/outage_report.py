#!/usr/bin/env python3
"""Summarize a steady_load.py record around an outage.

    outage_report.py RECORDS DOWN_AT UP_AT KEYS_OUT     (DOWN_AT, UP_AT: wall-clock seconds)

Prints the answers by code, how long after DOWN_AT the first failure came, how long after UP_AT
the first success came (and whether any failure followed it), the longest call, and writes the
AccessKeyIds answered with 200 to KEYS_OUT (one per line) for the caller to look up in the store.
"""
import collections
import json
import sys

path, down_at, up_at, keys_out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
lines = open(path).read().splitlines()
start = json.loads(lines[0])["start_wall"]
recs = [json.loads(l) for l in lines[1:]]
down, up = down_at - start, up_at - start
codes = collections.Counter(r["code"] for r in recs)
print(f"calls: {len(recs)} {dict(codes)}")
first_fail = next((r for r in recs if r["t"] >= down and r["code"] != "ok"), None)
if first_fail:
    # A call started before the outage may fail too: count from the outage or the call's end.
    print(f"first failure {max(0.0, first_fail['t'] + first_fail['took'] - down):.3f} s after the store went down "
          f"(answered {first_fail['code']} after {first_fail['took']:.3f} s)")
during = [r for r in recs if down <= r["t"] < up]
if during:
    print(f"while down: {len(during)} calls, {dict(collections.Counter(r['code'] for r in during))}, "
          f"longest {max(r['took'] for r in during):.3f} s")
first_ok = next((r for r in recs if r["t"] >= up and r["code"] == "ok"), None)
if first_ok:
    later_fail = [r for r in recs if r["t"] > first_ok["t"] and r["code"] != "ok"]
    print(f"first success {first_ok['t'] + first_ok['took'] - up:.3f} s after the store came back; "
          f"failures after it: {len(later_fail)}")
print(f"longest call: {max(r['took'] for r in recs):.3f} s")
with open(keys_out, "w") as f:
    for r in recs:
        if r["code"] == "ok":
            f.write(r["key"] + "\n")
