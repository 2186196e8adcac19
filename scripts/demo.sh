#!/usr/bin/env bash
# warren's main job on the bundled topologies: build, check them, and show
# what the ecommerce services and their retry chains expand to.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --quiet
warren=target/release/warren

echo "== warren validate topologies/"
"$warren" validate topologies/
echo
echo "== warren expand topologies/ecommerce.yaml (queues, retry chains and permissions the services expand to)"
"$warren" expand topologies/ecommerce.yaml
