#!/bin/sh
# Notification handler for topologies/ecommerce.yaml (stdio kind): one
# long-lived process; warren writes one JSON request per line, and this
# answers each with a line naming the request's id (here: nothing to emit).
# This one only logs what it would send.
set -eu
while IFS= read -r request; do
  id=$(printf '%s' "$request" | sed -n 's/^{"id":\([0-9]*\).*/\1/p')
  echo "notify: $request" >&2
  printf '{"id": %s}\n' "${id:-0}"
done
