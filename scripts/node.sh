#!/usr/bin/env bash
# A RabbitMQ node beside the shared one, with its own node name, ports, data
# directory and config file: for tests and benchmarks that stop, restart or
# overload a broker, which the shared one must never be.
#
# usage: scripts/node.sh start DIR NAME AMQP_PORT HTTP_PORT DIST_PORT
#        scripts/node.sh ctl DIR ARGS...      (rabbitmqctl for that node)
#        scripts/node.sh stop DIR             (stops it and removes DIR)
#        scripts/node.sh available            (exit 0 when the release is installed)
#
# The node runs the release WARREN_BROKER_RELEASE names (3.10, 4.0 or 4.3;
# 4.3 when unset), installed by scripts/broker.sh. DIR is a path as the
# release sees it: for 4.0 and 4.3 it lies inside the release's chroot.
set -euo pipefail

RMQ_LOG_TAG=node
# shellcheck source=lib/rabbitmq.sh
. "$(dirname "$0")/lib/rabbitmq.sh"

r=$(release)
command=${1:-}
case "$command" in
  available)
    release_installed "$r"
    ;;
  start)
    dir=$2 name=$3 amqp=$4 http=$5 dist=$6
    ensure_release "$r"
    write_node_files "$r" "$dir" "$name" "$amqp" "$http" "$dist"
    start_rabbitmq "$r" "$dir/env"
    if ! await_node "$r" "$dir" "$http" 120; then
      rmq_log "node $name ($r) did not start; its logs are in $(release_root "$r")$dir/log"
      exit 1
    fi
    ;;
  ctl)
    dir=$2
    shift 2
    node_ctl "$r" "$dir" "$@"
    ;;
  stop)
    dir=$2
    host_dir=$(release_root "$r")$dir
    [ -f "$host_dir/env" ] || exit 0
    # A node busy with thousands of quorum queues can take minutes to stop
    # cleanly: give it one, then kill it (it is this script's own node).
    if ! WARREN_BROKER_RELEASE=$r timeout 60 bash "$0" ctl "$dir" -q stop >/dev/null 2>&1; then
      if [ -s "$host_dir/pid" ]; then
        as_root kill -9 "$(cat "$host_dir/pid")" 2>/dev/null || true
      fi
    fi
    as_root rm -rf "$host_dir"
    ;;
  *)
    echo "usage: scripts/node.sh start|ctl|stop|available DIR ..." >&2
    exit 64
    ;;
esac
