# Shared by scripts/broker.sh and scripts/node.sh (sourced, not run).

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -E "$@"; fi; }

# Starts a RabbitMQ node in the background as the rabbitmq user, with as
# many open files as the hard limit allows; the RABBITMQ_* variables in the
# environment choose the node. The packaged wrapper's `su` resets the limit
# to 1,024, and RabbitMQ's file handle cache counts three handles per quorum
# queue: past its limit (about 900 on 1,024), every classic queue waits for
# a handle, and an exclusive queue outlives its connection by half a minute.
start_rabbitmq() {
  local server=/usr/lib/rabbitmq/bin/rabbitmq-server
  if [ -x "$server" ] && id rabbitmq >/dev/null 2>&1; then
    as_root su rabbitmq -s /bin/sh -c "ulimit -n \$(ulimit -Hn); exec $server -detached"
  else
    as_root rabbitmq-server -detached
  fi
}
