#!/bin/sh
# Notification handler for topologies/ecommerce.yaml (stdio kind): one
# long-lived process; warren writes one JSON envelope per line and reads one
# JSON line back per message. This one only logs what it would send.
set -eu
while IFS= read -r envelope; do
  echo "notify: $envelope" >&2
  echo '{}'
done
