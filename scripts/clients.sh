#!/usr/bin/env bash
# Installs the client libraries the tests run applications with: amqplib
# from npm and pika from PyPI, into target/clients (node/node_modules and
# python). Installs Node.js and npm from Debian when they are missing.
# Quick when they are there already.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/clients
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -d "$dir/node/node_modules/amqplib" ]; then
  mkdir -p "$dir/node"
  npm install --silent --no-audit --no-fund --prefix "$dir/node" amqplib@2 >/dev/null
fi
if [ ! -d "$dir/python/pika" ]; then
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --target "$dir/python" 'pika>=1.3,<2'
fi
echo "clients: amqplib and pika in $dir"
