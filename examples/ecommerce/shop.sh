#!/bin/sh
# How topologies/ecommerce.yaml starts the shop's process handlers: runs
# the built `shop` example (SHOP_BIN, or the release build) with the
# arguments given, e.g. `shop.sh payment`.
set -eu
bin=${SHOP_BIN:-$(dirname "$0")/../../target/release/examples/shop}
if [ ! -x "$bin" ]; then
  echo "shop.sh: $bin is not built; run: cargo build --release --example shop" >&2
  exit 75
fi
exec "$bin" "$@"
