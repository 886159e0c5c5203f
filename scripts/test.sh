#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, then formatting and lint checks, then every
# doctest, then every test of the workspace (unit, integration, corpus, property, CLI) with
# cargo-nextest.
# Test data is read from ../shared/testdata (override with IDBROKER_TESTDATA).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh
# shellcheck disable=SC1091
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

export IDBROKER_TESTDATA="${IDBROKER_TESTDATA:-$(cd .. && pwd)/shared/testdata}"
if [ ! -d "$IDBROKER_TESTDATA" ]; then
  echo "test: test data not found at $IDBROKER_TESTDATA (set IDBROKER_TESTDATA)" >&2
  exit 1
fi

echo "test: cargo fmt --check"
cargo fmt --all -- --check
echo "test: cargo clippy"
cargo clippy --workspace --all-targets --locked -q -- -D warnings

echo "test: doctests"
cargo test --workspace --locked --doc -q
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  echo "test: cargo-nextest not installed; using cargo test"
  cargo test --workspace --locked --no-fail-fast --lib --bins --tests
fi
