#!/usr/bin/env bash
# A three-node RabbitMQ cluster on this machine, beside the broker on the
# standard ports and never touching it: nodes warren-c1..3@localhost, each
# with its own data directory, config file and ports, sharing the rabbitmq
# user's Erlang cookie.
#
#   node         AMQP  management  distribution
#   warren-c1    5701  15701       25701
#   warren-c2    5702  15702       25702
#   warren-c3    5703  15703       25703
#
# usage: scripts/cluster.sh up       start the nodes, join them, wait for all three
#        scripts/cluster.sh down     stop the nodes and remove their data
#        scripts/cluster.sh status   the cluster as warren-c1 sees it
#        scripts/cluster.sh stop N   stop node N (1-3) for a failover test
#        scripts/cluster.sh start N  start node N again; it rejoins
# Each is safe to run again. The nodes run the release WARREN_BROKER_RELEASE
# names (4.3 when unset; installed when missing, as scripts/broker.sh
# does). Data lives under $WARREN_CLUSTER_DIR (default /tmp/warren-cluster),
# a path as the release sees it: inside its chroot for 4.0 and 4.3.
#
# On 4.3 the metadata store (Khepri) needs a majority of the nodes: with
# two of three stopped, the last node still answers reads (warren status
# and plan work), but a declare or delete waits and then fails, so warren
# apply refuses up front (tests/cluster/status.rs). 3.10 and 4.0 (Mnesia)
# still declare a classic queue on the last node.
#
# For warren, the cluster is three URLs of each kind:
#   WARREN_AMQP_URL=amqp://guest:guest@127.0.0.1:5701,amqp://...:5702,...
#   WARREN_HTTP_URL=http://guest:guest@127.0.0.1:15701,...
# (`scripts/cluster.sh env` prints them as shell exports).
set -euo pipefail

here=$(dirname "$0")
RMQ_LOG_TAG=cluster
# shellcheck source=lib/rabbitmq.sh
. "$here/lib/rabbitmq.sh"
r=$(release)
export WARREN_BROKER_RELEASE=$r

base=${WARREN_CLUSTER_DIR:-/tmp/warren-cluster}
nodes=(1 2 3)
first=warren-c1@localhost

dir() { echo "$base/c$1"; }
name() { echo "warren-c$1"; }
amqp_port() { echo $((5700 + $1)); }
http_port() { echo $((15700 + $1)); }
dist_port() { echo $((25700 + $1)); }
ctl() { local n=$1; shift; bash "$here/node.sh" ctl "$(dir "$n")" "$@"; }
log() { echo "cluster: $*" >&2; }

# A node's files, as this machine sees them.
host_dir() { echo "$(release_root "$r")$(dir "$1")"; }

running() {
  [ -f "$(host_dir "$1")/env" ] && ctl "$1" -q await_startup --timeout 2 >/dev/null 2>&1
}

start_node() {
  local n=$1
  if running "$n"; then
    return 0
  fi
  if [ -f "$(host_dir "$n")/env" ]; then
    # Its data is there: start it as it was, so it rejoins the cluster.
    start_rabbitmq "$r" "$(dir "$n")/env"
    for _ in $(seq 1 120); do
      running "$n" && return 0
      sleep 1
    done
    log "node $(name "$n") did not start; its logs are in $(host_dir "$n")/log"
    return 1
  fi
  log "starting $(name "$n") (AMQP $(amqp_port "$n"), management $(http_port "$n"))"
  bash "$here/node.sh" start "$(dir "$n")" "$(name "$n")" "$(amqp_port "$n")" "$(http_port "$n")" "$(dist_port "$n")"
}

members() {
  ctl 1 -q cluster_status --formatter json 2>/dev/null |
    python3 -c 'import json,sys; s=json.load(sys.stdin); print(len(s.get("running_nodes", [])), " ".join(sorted(s.get("disk_nodes", []))))'
}

join() {
  local n=$1
  if ctl 1 -q cluster_status --formatter json 2>/dev/null | grep -q "\"warren-c$n@localhost\""; then
    return 0
  fi
  log "joining $(name "$n") to $first"
  local out
  for step in stop_app reset "join_cluster $first" start_app; do
    # shellcheck disable=SC2086
    if ! out=$(ctl "$n" -q $step 2>&1); then
      log "$(name "$n"): $step failed: $out"
      return 1
    fi
  done
}

case "${1:-}" in
  up)
    ensure_release "$r"
    # The clusters of all releases share these ports and node names: one
    # of another release left running would keep this one from starting.
    for other in 3.10 4.0 4.3; do
      if [ "$other" != "$r" ] && [ -d "$(release_root "$other")$base" ]; then
        log "a RabbitMQ $other cluster holds the cluster's ports: stopping it"
        WARREN_BROKER_RELEASE=$other bash "$0" down
      fi
    done
    for n in "${nodes[@]}"; do start_node "$n"; done
    for n in 2 3; do join "$n"; done
    for _ in $(seq 1 120); do
      read -r count _ < <(members)
      if [ "${count:-0}" -eq 3 ]; then
        log "three nodes running: $(members | cut -d' ' -f2-)"
        exit 0
      fi
      sleep 1
    done
    log "the cluster did not reach three running nodes"
    exit 1
    ;;
  down)
    for n in "${nodes[@]}"; do
      if [ -f "$(host_dir "$n")/env" ]; then
        log "stopping $(name "$n")"
        bash "$here/node.sh" stop "$(dir "$n")" || true
      fi
    done
    as_root rm -rf "$(release_root "$r")$base"
    ;;
  status)
    ctl 1 cluster_status
    ;;
  stop)
    n=${2:?which node: 1, 2 or 3}
    log "stopping $(name "$n")"
    ctl "$n" -q stop
    ;;
  start)
    start_node "${2:?which node: 1, 2 or 3}"
    ;;
  env)
    amqp="" http=""
    for n in "${nodes[@]}"; do
      amqp+="${amqp:+,}amqp://guest:guest@127.0.0.1:$(amqp_port "$n")"
      http+="${http:+,}http://guest:guest@127.0.0.1:$(http_port "$n")"
    done
    echo "export WARREN_AMQP_URL=$amqp"
    echo "export WARREN_HTTP_URL=$http"
    ;;
  *)
    echo "usage: scripts/cluster.sh up|down|status|stop N|start N|env" >&2
    exit 64
    ;;
esac
