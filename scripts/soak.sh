#!/usr/bin/env bash
# The order flow's fault tests at full size, outside CI: each breaks one
# thing mid-run (SIGKILL, cut connections, a broker restart, hanging and
# crashing handlers, a poison event with a deleted DLQ, a cluster node
# stopped) on a batch of ORDERS orders. CI runs the same tests on 800.
#
# usage: scripts/soak.sh [ORDERS] [RELEASE]   (default: 2000 orders, 4.3)
set -euo pipefail
cd "$(dirname "$0")/.."

orders=${1:-2000}
release=${2:-4.3}

bash scripts/broker.sh "$release" >/dev/null
bash scripts/redis.sh
bash scripts/postgres.sh
eval "$(bash scripts/broker.sh env "$release")"
trap 'WARREN_BROKER_RELEASE=$release bash scripts/cluster.sh down' EXIT
WARREN_BROKER_RELEASE=$release bash scripts/cluster.sh up

export WARREN_REQUIRE_BROKER=1 WARREN_TEST_CLUSTER=1 WARREN_SHOP_ORDERS=$orders
cargo nextest run --locked --no-fail-fast \
  -E 'test(/^ecommerce::faults::/) | test(/^cluster::order_flow::/)'
