#!/usr/bin/env bash
# Relay throughput: a worker consumes, calls a trivial handler that emits
# one event, publishes it with a confirm, and acks; persistent messages,
# prefetch 100. In the same run, interleaved run by run:
# - baseline: the same relay written by hand on lapin (examples/relay.rs);
# - warren's Rust API, and `warren run` with stdio, http and exec handlers;
# - the Node.js amqplib consumer of the tutorials (bench/relay_amqplib.js),
#   as they teach it (ack right after publishing) and with a confirm
#   channel (ack after the confirm, warren's guarantee); amqplib is
#   installed here from npm
# (every other run in reverse order).
# Then the resident memory of an idle `warren run`.
#
# usage: bench/relay.sh [RUNS] [MESSAGES] [EXEC_MESSAGES]
#        (defaults 3, 20000, 1000; needs the local broker)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
messages=${2:-20000}
exec_messages=${3:-1000}
vhost=warren-bench.relay
http=${WARREN_HTTP_URL:-http://127.0.0.1:15672}
port=18089

bash scripts/broker.sh >/dev/null 2>&1
cargo build --release --locked --quiet --bin warren --example relay
work=$(mktemp -d)
npm install --silent --no-audit --no-fund --prefix "$work/node" amqplib@2 >/dev/null
cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
  curl -fsS -u guest:guest -X DELETE "$http/api/vhosts/$vhost" >/dev/null 2>&1 || true
}
trap cleanup EXIT

spec() { # NAME HANDLER
  cat > "$work/$1.yaml" <<YAML
version: 1
vhost: $vhost
exchanges:
  bench: { type: direct }
queues:
  relay.out:
    external: true
    bindings: [{ exchange: bench, key: out }]
services:
  relay:
    consumes: { exchange: bench, keys: [in] }
    emits: [{ exchange: bench, keys: [out] }]
    prefetch: 100
    concurrency: 100
    handler: $2
YAML
}
spec stdio '{ stdio: ["python3", "bench/relay_stdio.py"] }'
spec exec '{ exec: ["bench/relay_exec.sh"] }'
spec http "{ http: \"http://127.0.0.1:$port/relay\" }"
target/release/warren apply "$work/stdio.yaml" --yes >/dev/null
target/release/examples/relay http-handler "127.0.0.1:$port" &
server=$!

amqp=${WARREN_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}
python3 - "$runs" "$messages" "$exec_messages" "$work" "$vhost" "$http" "$amqp" <<'PY'
import base64, os, statistics, subprocess, sys, time, urllib.parse, urllib.request
runs, n, n_exec, work, vhost, http_url = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
amqp_url = sys.argv[7].rstrip("/") + "/" + urllib.parse.quote(vhost, safe="")
node = ["env", f"NODE_PATH={work}/node/node_modules", "node", "bench/relay_amqplib.js"]
auth = "Basic " + base64.b64encode(b"guest:guest").decode()
v = urllib.parse.quote(vhost, safe="")
relay = "target/release/examples/relay"
spec = f"{work}/stdio.yaml"

def purge(queue):
    req = urllib.request.Request(f"{http_url}/api/queues/{v}/{queue}/contents", method="DELETE",
                                 headers={"authorization": auth})
    urllib.request.urlopen(req, timeout=60).read()

variants = {
    "hand-written lapin relay (baseline)": ([relay, "baseline", spec], n),
    "warren, Rust API": ([relay, "warren", spec], n),
    "warren run, stdio": (["target/release/warren", "run", f"{work}/stdio.yaml"], n),
    "warren run, http": (["target/release/warren", "run", f"{work}/http.yaml"], n),
    "warren run, exec": (["target/release/warren", "run", f"{work}/exec.yaml"], n_exec),
    "amqplib, as tutorials teach (no confirms)": ([*node, "tutorial", amqp_url, "relay", "bench", "out", "100"], n),
    "amqplib, confirm channel": ([*node, "confirm", amqp_url, "relay", "bench", "out", "100"], n),
}
rates = {name: [] for name in variants}
for run in range(runs):
    # Every other run in reverse order, so that no variant always follows
    # the same one.
    order = list(variants.items())
    if run % 2:
        order.reverse()
    for name, (command, count) in order:
        purge("relay"); purge("relay.out")
        subprocess.run([relay, "load", spec, str(count)], check=True)
        worker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        took = float(subprocess.run([relay, "wait", spec, "relay.out", str(count)], check=True,
                                    capture_output=True, text=True).stdout)
        worker.terminate(); worker.wait(timeout=60)
        rates[name].append(0.8 * count / took if took > 0 else float("inf"))
purge("relay"); purge("relay.out")

base = statistics.median(rates["hand-written lapin relay (baseline)"])
print(f"| relay | messages | median msg/s of {runs} | vs baseline |")
print("|---|---:|---:|---:|")
for name, (command, count) in variants.items():
    m = statistics.median(rates[name])
    print(f"| {name} | {count} | {m:,.0f} | {m / base:.2f}x |")

def rss(command):
    p = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3)
    kb = next(int(l.split()[1]) for l in open(f"/proc/{p.pid}/status") if l.startswith("VmRSS:"))
    p.terminate(); p.wait(timeout=60)
    return kb / 1024
print()
print("| idle process | resident memory |")
print("|---|---:|")
print(f"| warren run (one exec service, empty queue) | {rss(['target/release/warren', 'run', f'{work}/exec.yaml']):.1f} MiB |")
print(f"| hand-written lapin relay | {rss([relay, 'baseline', spec]):.1f} MiB |")
PY
