#!/bin/sh
# Payment handler for topologies/ecommerce.yaml (exec kind).
#
# warren runs this once per message: the body arrives on stdin, metadata in
# WARREN_* variables. Each stdout line is an event to emit. Exit 0 acks;
# exit 65 is a permanent failure (straight to the dead-letter queue); any
# other code is transient and goes to the next retry delay.
set -eu
body=$(cat)
case "$body" in
  *'"amount": 0'* | *'"amount":0'*)
    echo "order ${WARREN_MESSAGE_ID:-?}: refusing to charge nothing" >&2
    exit 65
    ;;
esac
printf '{"key": "order.payment_success", "body": %s}\n' "$body"
