#!/usr/bin/env bash
# The whole test suite, as CI runs it: prepares the broker, checks
# formatting and lints, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/broker.sh
# Redis: the idempotency store of the worker tests.
bash scripts/redis.sh
# PostgreSQL: the order-flow example's state (tests/ecommerce).
bash scripts/postgres.sh

# Graphviz: the graph tests check that `dot` accepts warren's DOT output.
if ! command -v dot >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null
  fi
fi

# Node.js: the editor check drives yaml-language-server, installed from npm.
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
fi

if ! command -v cargo-nextest >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi

# Left-over debugging and placeholders fail the build.
if git grep -n -E 'dbg!|todo!|unimplemented!|FIXME|TODO' -- src tests benches; then
  echo "remove the debugging leftovers and placeholders above" >&2
  exit 1
fi

cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
# What an editor shows for the specs, through yaml-language-server.
python3 scripts/editor-check.py
# The three-node cluster of the cluster tests (tests/cluster), beside the
# broker; stopped and removed when the tests end, whatever they did.
bash scripts/cluster.sh up
trap 'bash scripts/cluster.sh down' EXIT
export WARREN_TEST_CLUSTER=1
# A missing broker fails the broker tests here instead of skipping them.
export WARREN_REQUIRE_BROKER=1
cargo nextest run --locked --no-fail-fast
