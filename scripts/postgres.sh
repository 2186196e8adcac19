#!/usr/bin/env bash
# Makes sure PostgreSQL answers on 127.0.0.1:5432 with a `shop` role and
# database (password `shop`) for the order-flow example and its tests:
# installs the server if missing, starts it if down. Safe to run again.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { as_root su postgres -s /bin/sh -c "$*"; }

answers() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! command -v pg_isready >/dev/null 2>&1; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
if ! answers; then
  # Debian's wrapper starts every cluster that is installed.
  as_root pg_ctlcluster "$(ls /etc/postgresql | sort -V | tail -1)" main start 2>/dev/null ||
    as_root service postgresql start >/dev/null
fi
for _ in $(seq 1 100); do
  answers && break
  sleep 0.1
done
if ! answers; then
  echo "PostgreSQL does not answer on 127.0.0.1:5432" >&2
  exit 1
fi
if ! as_postgres "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname = 'shop'\"" | grep -q 1; then
  as_postgres "psql -q -c \"CREATE ROLE shop LOGIN PASSWORD 'shop' CREATEDB\""
fi
if ! as_postgres "psql -tAc \"SELECT 1 FROM pg_database WHERE datname = 'shop'\"" | grep -q 1; then
  as_postgres "createdb -O shop shop"
fi
