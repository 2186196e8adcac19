#!/usr/bin/env bash
# Makes sure a Redis server answers on 127.0.0.1:6379 (the worker tests'
# idempotency store): installs redis-server if missing, starts it if down.
set -euo pipefail

answers() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if command -v redis-cli >/dev/null 2>&1 && answers; then
  exit 0
fi
if ! command -v redis-server >/dev/null 2>&1; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
if ! answers; then
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no >/dev/null
fi
for _ in $(seq 1 50); do
  answers && exit 0
  sleep 0.1
done
echo "Redis does not answer on 127.0.0.1:6379" >&2
exit 1
