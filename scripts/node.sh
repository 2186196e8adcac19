#!/usr/bin/env bash
# A RabbitMQ node beside the shared one, with its own node name, ports, data
# directory and config file: for tests and benchmarks that stop, restart or
# overload a broker, which the shared one must never be.
#
# usage: scripts/node.sh start DIR NAME AMQP_PORT HTTP_PORT DIST_PORT
#        scripts/node.sh ctl DIR ARGS...      (rabbitmqctl for that node)
#        scripts/node.sh stop DIR             (stops it and removes DIR)
# Needs rabbitmq-server installed (scripts/broker.sh installs it).
set -euo pipefail

# shellcheck source=lib/rabbitmq.sh
. "$(dirname "$0")/lib/rabbitmq.sh"

command=$1
dir=$2
shift 2
case "$command" in
  start)
    name=$1 amqp=$2 http=$3 dist=$4
    mkdir -p "$dir"
    cat > "$dir/rabbitmq.conf" <<CONF
listeners.tcp.default = $amqp
management.tcp.port = $http
management.tcp.ip = 127.0.0.1
CONF
    echo "[rabbitmq_management]." > "$dir/enabled_plugins"
    cat > "$dir/env" <<ENV
export RABBITMQ_NODENAME=$name@localhost
export RABBITMQ_NODE_PORT=$amqp
export RABBITMQ_DIST_PORT=$dist
export RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf
export RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
export RABBITMQ_MNESIA_BASE=$dir/mnesia
export RABBITMQ_LOG_BASE=$dir/log
export RABBITMQ_PID_FILE=$dir/pid
ENV
    # The packaged scripts run the node as the rabbitmq user.
    chmod 755 "$dir"
    as_root chown -R rabbitmq:rabbitmq "$dir"
    # shellcheck disable=SC1091
    . "$dir/env"
    start_rabbitmq
    for _ in $(seq 1 120); do
      if as_root rabbitmqctl -n "$RABBITMQ_NODENAME" -q await_startup --timeout 5 >/dev/null 2>&1 &&
        curl -fsS -u guest:guest "http://127.0.0.1:$http/api/overview" >/dev/null 2>&1; then
        exit 0
      fi
      sleep 1
    done
    echo "node $name did not start; its logs are in $dir/log" >&2
    exit 1
    ;;
  ctl)
    # shellcheck disable=SC1091
    . "$dir/env"
    exec rabbitmqctl -n "$RABBITMQ_NODENAME" "$@"
    ;;
  stop)
    # shellcheck disable=SC1091
    . "$dir/env"
    # A node busy with thousands of quorum queues can take minutes to stop
    # cleanly: give it one, then kill it (it is this script's own node).
    if ! timeout 60 rabbitmqctl -n "$RABBITMQ_NODENAME" -q stop >/dev/null 2>&1; then
      if [ -s "$dir/pid" ]; then
        as_root kill -9 "$(cat "$dir/pid")" 2>/dev/null || true
      fi
    fi
    as_root rm -rf "$dir"
    ;;
  *)
    echo "usage: scripts/node.sh start|ctl|stop DIR ..." >&2
    exit 64
    ;;
esac
