#!/usr/bin/env bash
# The order flow of topologies/ecommerce.yaml, end to end, on this machine.
#
# usage: scripts/shop.sh up [ORDERS]   prepares the broker and PostgreSQL,
#                                      plans, applies and re-plans the
#                                      topology, migrates the
#                                      database, starts the services and
#                                      places ORDERS orders (default 200)
#        scripts/shop.sh load [ORDERS] places another batch
#        scripts/shop.sh down [--clean] stops everything; --clean also
#                                      deletes the vhost and the schema
#
# The broker is the one WARREN_HTTP_URL and WARREN_AMQP_URL name; when
# they are unset, scripts/broker.sh starts RabbitMQ 4.3 (or the release
# WARREN_BROKER_RELEASE names) and shop.sh uses that.
#
# State (passwords, broker URLs, logs, process ids) lives in $SHOP_STATE, by
# default .shop/ in the checkout. Ports: API 8080, inventory 8081, metrics
# 9090.
set -euo pipefail
cd "$(dirname "$0")/.."
state=${SHOP_STATE:-$PWD/.shop}
warren=target/release/warren
shop=target/release/examples/shop
services=(inventory api audit run)

log() { printf 'shop: %s\n' "$*" >&2; }

running() { [ -f "$state/$1.pid" ] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; }

wait_for() { # URL SECONDS: until it answers at all (a 404 is an answer)
  for _ in $(seq 1 $(($2 * 10))); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" != 000 ] && return 0
    sleep 0.1
  done
  log "$1 did not answer in $2 s; see $state/*.log"
  return 1
}

start() { # NAME COMMAND...
  local name=$1
  shift
  if running "$name"; then return; fi
  "$@" >"$state/$name.log" 2>&1 &
  echo $! >"$state/$name.pid"
}

load() {
  # shellcheck disable=SC1091
  . "$state/broker"
  # shellcheck disable=SC1091
  . "$state/env"
  "$shop" load --orders "${1:-200}" --metrics http://127.0.0.1:9090/metrics
}

up() {
  mkdir -p "$state"
  # The broker this shop runs on, kept for `load` and `down`.
  if [ -n "${WARREN_HTTP_URL:-}" ]; then
    printf 'export WARREN_HTTP_URL=%q\nexport WARREN_AMQP_URL=%q\n' "$WARREN_HTTP_URL" "${WARREN_AMQP_URL:-}" >"$state/broker"
  else
    bash scripts/broker.sh >"$state/broker"
  fi
  # shellcheck disable=SC1091
  . "$state/broker"
  bash scripts/postgres.sh
  log "building (release)"
  cargo build --release --locked --quiet --bin warren --example shop
  if [ ! -f "$state/env" ]; then
    # One password per password_env the spec names, made here and kept
    # for `down`/`load`.
    {
      for var in $(sed -n 's/^ *password_env: *\([A-Za-z_][A-Za-z0-9_]*\).*/\1/p' topologies/ecommerce.yaml); do
        echo "export $var=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
      done
      echo "export SHOP_SCHEMA=shop"
    } >"$state/env"
    chmod 600 "$state/env"
  fi
  # shellcheck disable=SC1091
  . "$state/env"
  # apply shows the plan before it changes anything; the second plan
  # proves that nothing is left to do.
  "$warren" apply topologies/ecommerce.yaml --yes
  "$warren" plan topologies/ecommerce.yaml
  "$shop" migrate
  start inventory "$shop" inventory
  start api "$shop" api
  start audit "$shop" audit
  start run "$warren" run topologies/ecommerce.yaml --metrics-addr 127.0.0.1:9090
  wait_for http://127.0.0.1:9090/healthz 30
  wait_for http://127.0.0.1:8080/orders/none-yet 30
  log "services up; placing orders"
  load "${1:-200}"
  log "still running; stop with: scripts/shop.sh down"
}

down() {
  for name in "${services[@]}"; do
    if running "$name"; then
      kill -TERM "$(cat "$state/$name.pid")" 2>/dev/null || true
    fi
  done
  for name in "${services[@]}"; do
    for _ in $(seq 1 300); do
      running "$name" || break
      sleep 0.1
    done
    if running "$name"; then kill -KILL "$(cat "$state/$name.pid")" 2>/dev/null || true; fi
    rm -f "$state/$name.pid"
  done
  log "stopped"
  if [ "${1:-}" = --clean ]; then
    # The broker the shop ran on: the first of WARREN_HTTP_URL (a cluster's
    # list).
    # shellcheck disable=SC1091
    if [ -f "$state/broker" ]; then . "$state/broker"; fi
    [ -n "${WARREN_HTTP_URL:-}" ] || eval "$(bash scripts/broker.sh env)"
    local api=$WARREN_HTTP_URL
    api="${api%%,*}"
    api="${api%/}/api"
    curl -fsS -u guest:guest -X DELETE "$api/vhosts/shop" >/dev/null 2>&1 || true
    # The service users too: a new `up` makes new passwords, and apply
    # cannot tell that a user's password changed.
    for user in order_api orders inventory payment cod india_desk notification shipping audit; do
      curl -fsS -u guest:guest -X DELETE "$api/users/$user" >/dev/null 2>&1 || true
    done
    [ -x "$shop" ] && "$shop" drop || true
    rm -rf "$state"
    log "vhost shop, its users and schema shop deleted"
  fi
}

case "${1:-}" in
  up) up "${2:-200}" ;;
  load) load "${2:-200}" ;;
  down) down "${2:-}" ;;
  *)
    sed -n '4,14p' "$0" >&2
    exit 2
    ;;
esac
