#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, then formatting and lint checks, then every
# doctest, then every test of the workspace (unit, integration, corpus, property, CLI) with
# cargo-nextest, then the README's commands (scripts/readme-run.py).
# The test corpora are in the repository: tests/data (its README says where each comes from).
# Every peer a test needs (Redis, a Redis Cluster, node and the npm packages, the python modules,
# the AWS CLI, chromium, xmlsec1) is installed or started here: a test missing one is skipped on a
# developer's machine but FAILS under CI (CI=true; tests/common/skip.rs), so none is left out.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh
# shellcheck disable=SC1091
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

# The session-store tests talk to a real Redis (REDIS_URL, default redis://127.0.0.1:6379):
# start one on loopback when none answers, installing it when missing.
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }
# The outage tests also start and kill redis-servers of their own (tests/common/redis_server.rs),
# so the binary must be here; redis-cli starts the cluster below. `kill` (procps) sends the
# signals of tests/server_process.rs.
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1 \
    || { [ ! -x /bin/kill ] && [ ! -x /usr/bin/kill ]; }; then
  echo "test: installing redis-server, redis-tools, procps"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends redis-server redis-tools procps
fi
if [ "$REDIS_URL" = "redis://127.0.0.1:6379" ] && ! redis_up; then
  echo "test: starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 50); do redis_up && break; sleep 0.1; done
  redis_up || { echo "test: redis-server did not start" >&2; exit 1; }
fi
# put_fails_closed_when_replicas_do_not_acknowledge (crates/session/tests/stores.rs) needs a
# standalone Redis without replicas: the one started above has none; a given one must not either.
if ! redis-cli -u "$REDIS_URL" info replication 2>/dev/null | grep -q '^connected_slaves:0'; then
  echo "test: the Redis at $REDIS_URL does not answer or has replicas (the tests need one without)" >&2
  exit 1
fi

# A 3-master Redis Cluster on loopback ports 7101-7103 for the cluster tests (started fresh,
# stopped when the tests end), unless the caller gives REDIS_CLUSTER_NODES.
if [ -z "${REDIS_CLUSTER_NODES:-}" ]; then
  cluster_dir="$(mktemp -d)"
  for port in 7101 7102 7103; do
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file "$cluster_dir/nodes-$port.conf" --dir "$cluster_dir" \
      --save "" --appendonly no --daemonize yes >/dev/null
  done
  for port in 7101 7102 7103; do
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  done
  if redis-cli --cluster create 127.0.0.1:7101 127.0.0.1:7102 127.0.0.1:7103 \
      --cluster-replicas 0 --cluster-yes >/dev/null 2>&1; then
    for _ in $(seq 100); do
      redis-cli -p 7101 cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break; sleep 0.1
    done
    export REDIS_CLUSTER_NODES="redis://127.0.0.1:7101,redis://127.0.0.1:7102,redis://127.0.0.1:7103"
    echo "test: Redis Cluster on 127.0.0.1:7101-7103"
    trap 'for p in 7101 7102 7103; do redis-cli -p $p shutdown nosave >/dev/null 2>&1 || true; done; rm -rf "$cluster_dir"' EXIT
  else
    echo "test: could not create the Redis Cluster" >&2
    exit 1
  fi
fi

# The directory's PostgreSQL tests (tests/iam_api.rs, tests/directory_cli.rs) create databases of
# their own on the PostgreSQL at IDBROKER_TEST_POSTGRES (default the local one, as user postgres).
# When none answers on 127.0.0.1:5432, Debian's postgresql is installed and started here, with a
# password for that user (its default TCP authentication asks for one).
pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if [ -z "${IDBROKER_TEST_POSTGRES:-}" ] && ! pg_up; then
  echo "test: installing and starting postgresql"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  command -v pg_ctlcluster >/dev/null 2>&1 || {
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql
  }
  for cluster in /etc/postgresql/*/main; do
    $SUDO pg_ctlcluster "$(basename "$(dirname "$cluster")")" main start || true
  done
  for _ in $(seq 50); do pg_up && break; sleep 0.2; done
  pg_up || { echo "test: postgresql did not start" >&2; exit 1; }
  if [ "$(id -u)" -eq 0 ]; then
    su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'idbroker-test'\""
  else
    sudo -u postgres psql -q -c "ALTER USER postgres PASSWORD 'idbroker-test'"
  fi
  export IDBROKER_TEST_POSTGRES="postgres://postgres:idbroker-test@127.0.0.1:5432/postgres"
fi

# The OIDC tests run a real OpenID Provider (panva's oidc-provider) on Node: install Node when
# missing and the pinned npm packages of tests/oidc/op. Under CI a missing Node fails the test.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "test: installing nodejs and npm"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
echo "test: npm ci in tests/oidc/op (oidc-provider)"
npm ci --prefix tests/oidc/op --no-audit --no-fund --loglevel=error
# samlify as an IdP (tests/saml_samlify.rs: its IdP-initiated responses carry InResponseTo="").
echo "test: npm ci in tests/samlify (samlify)"
npm ci --prefix tests/samlify --no-audit --no-fund --loglevel=error
# The SAML tests mint responses with signxml (tests/saml/mint.py); in CI a missing module fails them.
# The AWS CLI drives the workload-credentials endpoint in tests/oidc_provider.rs. The console's
# browser tests (tests/console_e2e.rs) use a pysaml2 IdP (freezegun makes its expired responses).
# botocore (with awscli) presigns k8s-aws-v1 tokens in crates/verify/tests/k8s.rs.
# boto3 drives an IAM life cycle in tests/iam_api.rs.
python_modules='import signxml, lxml, cryptography, awscli, botocore, boto3, saml2, freezegun'
if ! python3 -c "$python_modules" >/dev/null 2>&1; then
  echo "test: installing signxml, lxml, pysaml2, freezegun, awscli, boto3 (pip)"
  python3 -m pip install -q signxml lxml pysaml2 freezegun awscli boto3 || python3 -m pip install -q --break-system-packages signxml lxml pysaml2 freezegun awscli boto3
fi
# pip puts the `aws` script in ~/.local/bin when not root.
command -v aws >/dev/null 2>&1 || export PATH="$HOME/.local/bin:$PATH"
python3 -c "$python_modules" || { echo "test: python modules still missing" >&2; exit 1; }
aws --version >/dev/null || { echo "test: the AWS CLI is not on PATH" >&2; exit 1; }
# tests/mfa.rs and the README's MFA block take their codes from an independent TOTP
# implementation: Debian's oathtool.
if ! command -v oathtool >/dev/null 2>&1; then
  echo "test: installing oathtool"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends oathtool
fi
# The browser tests: Debian's Chromium (driven by playwright-core from tests/browser) and xmlsec1
# (pysaml2 signs with it).
if [ ! -x /usr/bin/chromium ] || ! command -v xmlsec1 >/dev/null 2>&1; then
  echo "test: installing chromium, xmlsec1"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium xmlsec1 fonts-dejavu-core
fi
echo "test: npm ci in tests/browser (playwright-core)"
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

echo "test: cargo fmt --check"
cargo fmt --all -- --check
echo "test: cargo clippy"
cargo clippy --workspace --all-targets --all-features --locked -q -- -D warnings

echo "test: doctests"
cargo test --workspace --locked --doc -q
# tests/verify_e2e.rs runs the example service as a process of its own.
echo "test: examples"
cargo build --workspace --all-features --locked --examples -q
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-features --locked --no-fail-fast
else
  echo "test: cargo-nextest not installed; using cargo test"
  cargo test --workspace --locked --no-fail-fast --lib --bins --tests
fi

# The README is executed: its command blocks run, as a reader would run them, against the demo
# server (the AWS CLI, curl, Python), with the binary the tests built (scripts/readme-run.py).
echo "test: the README's commands"
cargo build --locked -q --bin idbroker
# The README starts the example service with `cargo run -q --example things`: built here, with the
# features that command uses, so that the runner's wait for its port is not spent compiling.
cargo build --locked -q --example things
python3 scripts/readme-run.py --bin "${CARGO_TARGET_DIR:-target}/debug/idbroker"
