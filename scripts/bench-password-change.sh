#!/usr/bin/env bash
# Password work against everyone else: idbroker serving the demo configuration (throttling off,
# its directory in SQLite in memory) with an account password policy that remembers 24
# passwords; WRITERS processes (default 4) each change their own IAM user's password through
# the IAM API (ChangePassword: the old password checked, the new one compared with the 24
# remembered, then hashed: up to 26 argon2id derivations) as fast as they can for DURATION
# seconds, while one client asks GetCallerIdentity every 20 ms. Prints that client's latency
# with no password load first, then under it, and how many passwords were changed. Compare two
# binaries in one run (the password work on the request workers, or off them).
# Loopback only; about 2 x DURATION + 10 s.
#
#   scripts/bench-password-change.sh [IDBROKER_BIN]      # default: target/release/idbroker
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/idbroker}; IDB=${IDB_PORT:-18620}
DURATION=${DURATION:-15}; WRITERS=${WRITERS:-4}
python3 -c "import boto3" 2>/dev/null || pip install -q boto3
out=$(mktemp -d); pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; rm -rf "$out"; }
trap cleanup EXIT
IDBROKER_THROTTLE=off IDBROKER_METRICS_LISTEN="" IDBROKER_LOG=warn \
  "$BIN" serve --config config/demo/idbroker.toml --listen 127.0.0.1:$IDB > "$out/idb.log" 2>&1 &
pid=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$IDB) 2>/dev/null && break; sleep 0.1; done
python3 - "http://127.0.0.1:$IDB" "$DURATION" "$WRITERS" <<'PY'
import multiprocessing as mp, statistics, sys, time
import boto3, botocore.config

url, duration, writers = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
once = botocore.config.Config(retries={"max_attempts": 1})
def client(service, key, secret):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret, config=once)

admin = client("iam", "AKIAIDBROKERIAMADM01", "idbrokerIamAdminSecretDoNotUseAnywhere00")
admin.update_account_password_policy(MinimumPasswordLength=8, PasswordReusePrevention=24,
                                     AllowUsersToChangePassword=True)
keys = []
for i in range(writers):
    name = f"bench{i}"
    admin.create_user(UserName=name)
    admin.create_login_profile(UserName=name, Password="Bench-Pass-0")
    k = admin.create_access_key(UserName=name)["AccessKey"]
    keys.append((k["AccessKeyId"], k["SecretAccessKey"]))

def writer(key, until, done):
    iam = client("iam", *key)
    n = 0
    while time.time() < until:
        iam.change_password(OldPassword=f"Bench-Pass-{n}", NewPassword=f"Bench-Pass-{n + 1}")
        n += 1
    done.put(n)

def probe(seconds):
    sts = client("sts", "AKIAIDBROKERDEMO0001", "idbrokerDemoSecretKeyDoNotUseAnywhere000")
    took, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.monotonic()
        sts.get_caller_identity()
        took.append((time.monotonic() - t) * 1000)
        time.sleep(0.02)
    took.sort()
    q = lambda p: took[min(len(took) - 1, int(p * len(took)))]
    return (f"n={len(took)} median={statistics.median(took):.1f}ms p90={q(0.9):.1f}ms "
            f"p99={q(0.99):.1f}ms max={took[-1]:.1f}ms")

print("GetCallerIdentity alone:           ", probe(duration))
done = mp.Queue()
until = time.time() + duration
procs = [mp.Process(target=writer, args=(k, until, done)) for k in keys]
for p in procs:
    p.start()
time.sleep(1)  # the writers are under way
print("GetCallerIdentity under the writers:", probe(duration - 1))
for p in procs:
    p.join()
changed = sum(done.get() for _ in procs)
print(f"ChangePassword: {changed} in {duration:.0f} s ({changed / duration:.1f}/s, {writers} writers)")
PY
