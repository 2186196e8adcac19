#!/usr/bin/env bash
# warren's main job on the bundled order flow: make sure a local RabbitMQ
# with the management API runs, check the topologies, show the plan for
# topologies/ecommerce.yaml, apply it (vhost warren-demo), and plan again to
# show that nothing is left to do. Safe to run again: the second apply
# finds nothing to change.
set -euo pipefail
cd "$(dirname "$0")/.."

# RabbitMQ 4.3 unless WARREN_HTTP_URL names a broker (or
# WARREN_BROKER_RELEASE another release).
if [ -z "${WARREN_HTTP_URL:-}" ]; then
  eval "$(bash scripts/broker.sh)"
fi
cargo build --release --locked --quiet
warren=target/release/warren
vhost=${WARREN_DEMO_VHOST:-warren-demo}

# The service users' passwords, one for each password_env the spec names:
# generated once per machine unless given.
secrets=target/demo-passwords
mkdir -p target
touch "$secrets"
chmod 600 "$secrets"
for var in $(sed -n 's/^ *password_env: *\([A-Za-z_][A-Za-z0-9_]*\).*/\1/p' topologies/ecommerce.yaml); do
  if ! grep -q "^export $var=" "$secrets"; then
    echo "export $var=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')" >> "$secrets"
  fi
done
# shellcheck disable=SC1090
. "$secrets"

echo "== warren validate topologies/"
"$warren" validate topologies/
echo
echo "== warren plan topologies/ecommerce.yaml --vhost $vhost"
"$warren" plan topologies/ecommerce.yaml --vhost "$vhost"
echo
echo "== warren apply topologies/ecommerce.yaml --vhost $vhost --yes"
"$warren" apply topologies/ecommerce.yaml --vhost "$vhost" --yes
echo
echo "== warren plan topologies/ecommerce.yaml --vhost $vhost (again: nothing left to do)"
"$warren" plan topologies/ecommerce.yaml --vhost "$vhost" --detailed-exitcode
