# RabbitMQ releases on one machine, shared by the scripts that start
# brokers (sourced, not run).
#
# A release is named by its line: 3.10, 4.0 or 4.3 (WARREN_BROKER_RELEASE,
# 4.3 when unset).
#   3.10  the machine's own rabbitmq-server (Debian bookworm), on the
#         standard ports.
#   4.0   Debian trixie's package, pinned below, in a debootstrap chroot.
#   4.3   Debian forky's package, pinned below, in a debootstrap chroot.
# A chroot is built once and kept under $WARREN_BROKERS_DIR (default
# /var/cache/warren-brokers, outside any checkout), so a fresh clone reuses
# it; it is built again when its pin moves.

# The pinned packages. forky is Debian's testing suite and moves: when its
# rabbitmq-server leaves the pinned version behind, the chroot build says
# so. Move the pin here (README, "Supported RabbitMQ releases").
RABBITMQ_PIN_40=4.0.5-6+deb13u2
RABBITMQ_PIN_43=4.3.6-1

WARREN_BROKERS_DIR=${WARREN_BROKERS_DIR:-/var/cache/warren-brokers}
WARREN_DEBIAN_MIRROR=${WARREN_DEBIAN_MIRROR:-http://deb.debian.org/debian}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -E "$@"; fi; }

rmq_log() { printf '%s: %s\n' "${RMQ_LOG_TAG:-broker}" "$*" >&2; }

# The release asked for, checked.
release() {
  local r=${1:-${WARREN_BROKER_RELEASE:-4.3}}
  case "$r" in
    3.10 | 4.0 | 4.3) echo "$r" ;;
    *)
      rmq_log "unknown RabbitMQ release '$r': use 3.10, 4.0 or 4.3"
      return 64
      ;;
  esac
}

# Where a release's files live: nothing for the machine's own, else its
# chroot.
release_root() {
  case "$1" in
    3.10) echo "" ;;
    *) echo "$WARREN_BROKERS_DIR/$1" ;;
  esac
}

# "suite package-version" of a chrooted release.
release_source() {
  case "$1" in
    4.0) echo "trixie $RABBITMQ_PIN_40" ;;
    4.3) echo "forky $RABBITMQ_PIN_43" ;;
  esac
}

# The release's own broker: node name and AMQP, management and
# distribution ports. 3.10 is the machine's service on the standard ports;
# the others sit beside it (5680, 5690 and 5691 and their management ports
# are left to brokers started by hand).
release_node() {
  case "$1" in
    3.10) echo "rabbit 5672 15672 25672" ;;
    4.0) echo "warren-40 5740 15740 25740" ;;
    4.3) echo "warren-43 5743 15743 25743" ;;
  esac
}

# Runs a command inside the release's root (as root).
in_release() {
  local root
  root=$(release_root "$1")
  shift
  if [ -z "$root" ]; then
    as_root "$@"
  else
    as_root chroot "$root" "$@"
  fi
}

# Whether the release can start a node here without installing anything.
release_installed() {
  local root
  root=$(release_root "$1")
  if [ -z "$root" ]; then
    command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]
  else
    [ -f "$root/.warren-release" ] && [ "$(cat "$root/.warren-release")" = "$(release_source "$1")" ]
  fi
}

# Installs the release when it is missing: the machine's package for 3.10,
# else a debootstrap chroot with the pinned package. One build at a time
# per release (a lock file), so parallel callers wait for it.
ensure_release() {
  local r=$1
  if [ "$r" = 3.10 ]; then
    if ! release_installed 3.10; then
      rmq_log "installing rabbitmq-server"
      as_root apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server curl >/dev/null
    fi
    return 0
  fi
  as_root mkdir -p "$WARREN_BROKERS_DIR"
  (
    flock 9
    release_installed "$r" && exit 0
    build_chroot "$r"
  ) 9>"$WARREN_BROKERS_DIR/.$r.lock"
}

build_chroot() {
  local r=$1 root suite pin
  root=$(release_root "$r")
  read -r suite pin <<<"$(release_source "$r")"
  if ! command -v debootstrap >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap curl >/dev/null
  fi
  release_unmount "$r"
  as_root rm -rf "$root" "$root.new"
  rmq_log "building a Debian $suite chroot for RabbitMQ $r in $root (about a minute)"
  # debootstrap has no script for forky yet; sid's builds any later suite.
  local script=/usr/share/debootstrap/scripts/$suite
  [ -e "$script" ] || script=/usr/share/debootstrap/scripts/sid
  if ! as_root debootstrap --variant=minbase --include=ca-certificates \
    "$suite" "$root.new" "$WARREN_DEBIAN_MIRROR" "$script" >"/tmp/warren-debootstrap-$r.log" 2>&1; then
    rmq_log "debootstrap $suite failed; its log is /tmp/warren-debootstrap-$r.log"
    return 1
  fi
  # A testing suite's Release file can be past its Valid-Until.
  echo 'Acquire::Check-Valid-Until "false";' | as_root tee "$root.new/etc/apt/apt.conf.d/99warren" >/dev/null
  # The package must not start a service of its own.
  printf '#!/bin/sh\nexit 101\n' | as_root tee "$root.new/usr/sbin/policy-rc.d" >/dev/null
  as_root chmod 755 "$root.new/usr/sbin/policy-rc.d"
  as_root cp /etc/resolv.conf "$root.new/etc/resolv.conf" 2>/dev/null || true
  as_root chroot "$root.new" apt-get update -qq
  if ! as_root chroot "$root.new" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "rabbitmq-server=$pin" >"/tmp/warren-apt-$r.log" 2>&1; then
    rmq_log "installing rabbitmq-server=$pin from $suite failed (log: /tmp/warren-apt-$r.log)."
    rmq_log "$suite now has: $(as_root chroot "$root.new" apt-cache policy rabbitmq-server | sed -n 's/ *Candidate: //p');"
    rmq_log "move RABBITMQ_PIN in scripts/lib/rabbitmq.sh to a version it has."
    return 1
  fi
  echo "$suite $pin" | as_root tee "$root.new/.warren-release" >/dev/null
  as_root mv "$root.new" "$root"
  rmq_log "RabbitMQ $r ($pin) installed in $root"
}

# What a chrooted node needs from the host each time it starts: /proc
# mounted, and the host's /etc/hosts (without it, epmd cannot resolve
# localhost: "nxdomain").
release_prepare() {
  local root
  root=$(release_root "$1")
  [ -z "$root" ] && return 0
  as_root cp /etc/hosts "$root/etc/hosts"
  if ! mountpoint -q "$root/proc" 2>/dev/null; then
    as_root mount -t proc proc "$root/proc"
  fi
}

release_unmount() {
  local root
  root=$(release_root "$1")
  [ -n "$root" ] && mountpoint -q "$root/proc" 2>/dev/null && as_root umount -l "$root/proc"
  return 0
}

# Starts a node of `release` in the background as the rabbitmq user, with
# as many open files as the hard limit allows; ENV_FILE (a path inside the
# release's root) sets the RABBITMQ_* variables that choose the node. The
# packaged wrapper's `su` resets the limit to 1,024, and RabbitMQ 3.x's
# file handle cache counts three handles per quorum queue: past its limit
# (about 900 on 1,024), every classic queue waits for a handle, and an
# exclusive queue outlives its connection by half a minute.
start_rabbitmq() {
  local r=$1 env_file=$2 root
  root=$(release_root "$r")
  release_prepare "$r"
  local server=/usr/lib/rabbitmq/bin/rabbitmq-server
  local load=""
  [ -n "$env_file" ] && load=". $env_file; "
  if [ -x "$root$server" ]; then
    in_release "$r" su rabbitmq -s /bin/sh -c "${load}ulimit -n \$(ulimit -Hn); exec $server -detached"
  else
    # shellcheck disable=SC1090
    (if [ -n "$env_file" ]; then . "$env_file"; fi && as_root rabbitmq-server -detached)
  fi
}

# Writes a node's config, plugins and environment into DIR (a path inside
# the release's root): its own name, ports, data and log directories.
write_node_files() {
  local r=$1 dir=$2 name=$3 amqp=$4 http=$5 dist=$6 root host_dir
  root=$(release_root "$r")
  host_dir=$root$dir
  as_root mkdir -p "$host_dir"
  as_root tee "$host_dir/rabbitmq.conf" >/dev/null <<CONF
listeners.tcp.default = $amqp
management.tcp.port = $http
management.tcp.ip = 127.0.0.1
CONF
  echo "[rabbitmq_management]." | as_root tee "$host_dir/enabled_plugins" >/dev/null
  as_root tee "$host_dir/env" >/dev/null <<ENV
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
  as_root chmod 755 "$host_dir"
  in_release "$r" chown -R rabbitmq:rabbitmq "$dir"
}

# The node name an env file in DIR names.
node_name_in() {
  local root
  root=$(release_root "$1")
  sed -n 's/^export RABBITMQ_NODENAME=//p' "$root$2/env"
}

# rabbitmqctl of the release for the node whose files are in DIR.
node_ctl() {
  local r=$1 dir=$2
  shift 2
  in_release "$r" rabbitmqctl -n "$(node_name_in "$r" "$dir")" "$@"
}

# Waits until the node in DIR has booted and its management API answers
# on HTTP_PORT; SECONDS at most.
await_node() {
  local r=$1 dir=$2 http=$3 seconds=${4:-120}
  for _ in $(seq 1 "$seconds"); do
    if node_ctl "$r" "$dir" -q await_startup --timeout 5 >/dev/null 2>&1 &&
      curl -fsS -u guest:guest "http://127.0.0.1:$http/api/overview" >/dev/null 2>&1; then
      return 0
    fi
    sleep 1
  done
  return 1
}
