#!/usr/bin/env python3
"""Signed AssumeRole calls at a steady rate, each recorded: for the outage measurements
(scripts/bench-outage.sh, scripts/bench-failover.sh).

    steady_load.py URL SECONDS RATE OUT      (RATE calls per second over 4 threads)

Writes OUT as JSON lines: first {"start_wall": the wall-clock start}, then {"t": seconds since start, "took": seconds, "code": "ok" or the error
code (or the exception's name), "key": the AccessKeyId answered}. The demo user's key signs
(botocore, one attempt per call, 2 s timeouts), so the server must run with throttling off or
raised for rates over its limits.
"""
import json
import sys
import threading
import time

import botocore.session
from botocore.config import Config

url, seconds, rate, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
THREADS = 4
records, lock = [], threading.Lock()
start = time.monotonic()
start_wall = time.time()


def worker(n):
    sts = botocore.session.get_session().create_client(
        "sts", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="AKIAIDBROKERDEMO0001",
        aws_secret_access_key="idbrokerDemoSecretKeyDoNotUseAnywhere000",
        config=Config(retries={"max_attempts": 1, "mode": "standard"},
                      connect_timeout=2, read_timeout=2))
    interval = THREADS / rate
    due = start + n * interval / THREADS
    while True:
        now = time.monotonic()
        if now - start >= seconds:
            return
        if now < due:
            time.sleep(due - now)
        due += interval
        t = time.monotonic()
        rec = {"t": round(t - start, 4)}
        try:
            c = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/demo/ReportsReader",
                                RoleSessionName=f"load-{n}")["Credentials"]
            rec.update(code="ok", key=c["AccessKeyId"])
        except Exception as e:  # botocore's ClientError carries the STS code
            rec["code"] = getattr(e, "response", {}).get("Error", {}).get("Code") or type(e).__name__
        rec["took"] = round(time.monotonic() - t, 4)
        with lock:
            records.append(rec)


threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
for th in threads:
    th.start()
for th in threads:
    th.join()
records.sort(key=lambda r: r["t"])
with open(out, "w") as f:
    f.write(json.dumps({"start_wall": start_wall}) + "\n")
    for r in records:
        f.write(json.dumps(r) + "\n")
