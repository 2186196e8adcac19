#!/usr/bin/env bash
# The whole test suite, as CI runs it: prepares the broker, checks
# formatting and lints, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/broker.sh

if ! command -v cargo-nextest >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi

cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo nextest run --locked --no-fail-fast
