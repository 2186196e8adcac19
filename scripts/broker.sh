#!/usr/bin/env bash
# A RabbitMQ broker of a chosen release on this machine, with the
# management API: installed when missing, started when stopped. Safe to run
# again and again.
#
# usage: scripts/broker.sh [RELEASE]       make sure it runs; print its URLs
#        scripts/broker.sh env [RELEASE]   print its URLs only
#        scripts/broker.sh ctl ARGS...     rabbitmqctl for it
#        scripts/broker.sh stop [RELEASE]  stop it (4.0 and 4.3 only)
#
# RELEASE is 3.10, 4.0 or 4.3; WARREN_BROKER_RELEASE when not given, else
# 4.3. The URLs come on standard output as shell exports, so that
#   eval "$(bash scripts/broker.sh 4.0)"
# points warren (and the tests) at that broker; everything else goes to
# standard error.
#
#   release  from                       node            AMQP  management
#   3.10     the machine's package      rabbit          5672  15672
#   4.0      Debian trixie, in a chroot warren-40       5740  15740
#   4.3      Debian forky, in a chroot  warren-43       5743  15743
#
# 4.0 and 4.3 keep their data in /var/lib/warren/broker inside their chroot
# (scripts/lib/rabbitmq.sh says where the chroots live and how they are
# pinned).
set -euo pipefail

RMQ_LOG_TAG=broker
# shellcheck source=lib/rabbitmq.sh
. "$(dirname "$0")/lib/rabbitmq.sh"

data=/var/lib/warren/broker

command=up
case "${1:-}" in
  env | ctl | stop) command=$1 && shift ;;
esac
if [ "$command" = ctl ]; then
  r=$(release)
else
  r=$(release "${1:-}")
fi
read -r node amqp http dist <<<"$(release_node "$r")"

exports() {
  echo "export WARREN_BROKER_RELEASE=$r"
  echo "export WARREN_AMQP_URL=amqp://127.0.0.1:$amqp"
  echo "export WARREN_HTTP_URL=http://127.0.0.1:$http"
}

ctl() {
  if [ "$r" = 3.10 ]; then
    as_root rabbitmqctl "$@"
  else
    node_ctl "$r" "$data" "$@"
  fi
}

running() {
  if [ "$r" = 3.10 ]; then
    as_root rabbitmqctl -q status >/dev/null 2>&1
  else
    [ -f "$(release_root "$r")$data/env" ] && ctl -q await_startup --timeout 2 >/dev/null 2>&1
  fi
}

case "$command" in
  env)
    exports
    exit 0
    ;;
  ctl)
    ctl "$@"
    exit
    ;;
  stop)
    if [ "$r" = 3.10 ]; then
      rmq_log "3.10 is the machine's own service; stop it with rabbitmqctl stop"
      exit 64
    fi
    if running; then ctl -q stop >/dev/null; fi
    exit 0
    ;;
esac

ensure_release "$r"
if ! running; then
  rmq_log "starting RabbitMQ $r"
  if [ "$r" = 3.10 ]; then
    start_rabbitmq 3.10 ""
  else
    [ -f "$(release_root "$r")$data/env" ] || write_node_files "$r" "$data" "$node" "$amqp" "$http" "$dist"
    start_rabbitmq "$r" "$data/env"
  fi
fi
for _ in $(seq 1 60); do
  ctl -q await_startup >/dev/null 2>&1 && break
  sleep 1
done
ctl -q await_startup >/dev/null

if [ "$r" = 3.10 ] && ! as_root rabbitmq-plugins list -e -m 2>/dev/null | grep -qx rabbitmq_management; then
  rmq_log "enabling rabbitmq_management"
  as_root rabbitmq-plugins enable rabbitmq_management >/dev/null
fi

api=http://127.0.0.1:$http
rmq_log "waiting for the management API at $api"
for i in $(seq 1 90); do
  if curl -fsS -u guest:guest "$api/api/overview" >/dev/null 2>&1; then
    break
  fi
  if [ "$i" -eq 90 ]; then
    rmq_log "the management API did not answer in 90 s"
    exit 1
  fi
  sleep 1
done

# Test vhosts (and the few test users) are deleted by the tests themselves;
# remove any that a killed run left behind. $1 is "vhosts" or "users".
delete_leftovers() {
  curl -fsS -u guest:guest "$api/api/$1" |
    python3 -c 'import json,sys; [print(o["name"]) for o in json.load(sys.stdin) if o["name"].startswith("warren-test.")]' |
    while read -r name; do
      encoded=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$name")
      curl -fsS -u guest:guest -X DELETE "$api/api/$1/$encoded" >/dev/null || true
    done
}
delete_leftovers vhosts
delete_leftovers users

if ! (exec 3<>"/dev/tcp/127.0.0.1/$amqp") 2>/dev/null; then
  rmq_log "AMQP port $amqp does not answer"
  exit 1
fi
version=$(curl -fsS -u guest:guest "$api/api/overview" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rabbitmq_version"])')
rmq_log "ready: RabbitMQ $version, AMQP on $amqp, management API on $api"
exports
