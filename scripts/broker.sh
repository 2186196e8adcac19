#!/usr/bin/env bash
# Makes sure a RabbitMQ broker with the management API answers on this
# machine: installs it when missing, starts it when stopped, enables the
# management plugin and waits for the API. Safe to run again and again.
set -euo pipefail

HTTP_URL=${WARREN_HTTP_URL:-http://127.0.0.1:15672}
# A cluster's list (scripts/cluster.sh env): its first node.
HTTP_URL=${HTTP_URL%%,*}
AMQP_PORT=${WARREN_AMQP_PORT:-5672}

log() { printf 'broker: %s\n' "$*" >&2; }

# shellcheck source=lib/rabbitmq.sh
. "$(dirname "$0")/lib/rabbitmq.sh"

if ! command -v rabbitmq-server >/dev/null 2>&1; then
  log "installing rabbitmq-server"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server curl >/dev/null
fi

if ! as_root rabbitmqctl -q status >/dev/null 2>&1; then
  log "starting rabbitmq-server"
  start_rabbitmq
fi
for _ in $(seq 1 60); do
  as_root rabbitmqctl -q await_startup >/dev/null 2>&1 && break
  sleep 1
done
as_root rabbitmqctl -q await_startup >/dev/null

if ! as_root rabbitmq-plugins list -e -m 2>/dev/null | grep -qx rabbitmq_management; then
  log "enabling rabbitmq_management"
  as_root rabbitmq-plugins enable rabbitmq_management >/dev/null
fi

log "waiting for the management API at $HTTP_URL"
for i in $(seq 1 90); do
  if curl -fsS -u guest:guest "$HTTP_URL/api/overview" >/dev/null 2>&1; then
    break
  fi
  if [ "$i" -eq 90 ]; then
    log "the management API did not answer in 90 s"
    exit 1
  fi
  sleep 1
done

# Test vhosts (and the few test users) are deleted by the tests themselves;
# remove any that a killed run left behind. $1 is "vhosts" or "users".
delete_leftovers() {
  curl -fsS -u guest:guest "$HTTP_URL/api/$1" |
    python3 -c 'import json,sys; [print(o["name"]) for o in json.load(sys.stdin) if o["name"].startswith("warren-test.")]' |
    while read -r name; do
      encoded=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$name")
      curl -fsS -u guest:guest -X DELETE "$HTTP_URL/api/$1/$encoded" >/dev/null || true
    done
}
delete_leftovers vhosts
delete_leftovers users

if ! (exec 3<>"/dev/tcp/127.0.0.1/$AMQP_PORT") 2>/dev/null; then
  log "AMQP port $AMQP_PORT does not answer"
  exit 1
fi
log "ready: AMQP on $AMQP_PORT, management API on $HTTP_URL"
