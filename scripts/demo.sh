#!/usr/bin/env bash
# warren's main job on the bundled topologies: build, check them, show what
# the ecommerce services and their retry chains expand to, and plan the order
# flow against the local broker (vhost warren-demo; nothing is changed).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/broker.sh
cargo build --release --locked --quiet
warren=target/release/warren

echo "== warren validate topologies/"
"$warren" validate topologies/
echo
echo "== warren expand topologies/ecommerce.yaml (queues, retry chains and permissions the services expand to)"
"$warren" expand topologies/ecommerce.yaml
echo
echo "== warren plan topologies/ecommerce.yaml --vhost warren-demo"
"$warren" plan topologies/ecommerce.yaml --vhost warren-demo
