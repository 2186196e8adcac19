#!/usr/bin/env bash
# `warren apply` from an empty vhost beside the two other ways to get the
# same objects onto the broker, all in the same run:
# - the broker's own import, POST /api/definitions/{vhost};
# - one HTTP PUT (or binding POST) per object, 10 requests in flight, as
#   the Terraform provider applies;
# - `warren apply --yes` (default parallelism).
# Then an apply with nothing to do beside a no-op plan.
#
# usage: bench/apply.sh [RUNS] [QUEUES] [QUEUE_TYPE] [own-node]
#        (defaults 3, 10000, classic; needs the local broker). With
#        own-node, everything runs against a node of the benchmark's own
#        (scripts/node.sh): thousands of quorum queues created and deleted
#        again and again can leave a 3.10 node unresponsive, and the shared
#        broker must not be that node.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
queues=${2:-10000}
queue_type=${3:-classic}
vhost=warren-bench.apply
http=${WARREN_HTTP_URL:-http://127.0.0.1:15672}

bash scripts/broker.sh >/dev/null 2>&1
cargo build --release --locked --quiet
work=$(mktemp -d)
node=""
trap 'rm -rf "$work"; curl -fsS -u guest:guest -X DELETE "$http/api/vhosts/$vhost" >/dev/null 2>&1 || true; [ -z "$node" ] || bash scripts/node.sh stop "$node"' EXIT
if [ "${4:-}" = own-node ]; then
  node=$work.node
  bash scripts/node.sh start "$node" "warren-bench-apply-$$" 5699 15699 25699
  export WARREN_HTTP_URL=http://127.0.0.1:15699 WARREN_AMQP_URL=amqp://127.0.0.1:5699
  http=$WARREN_HTTP_URL
fi
python3 bench/gen_topology.py --queues "$queues" --bindings-per-queue 1 --queue-type "$queue_type" --vhost "$vhost" "$work/spec.yaml"
# Policies and services are not part of the comparison.
sed -i '/^policies:/,$d' "$work/spec.yaml"
python3 bench/definitions.py "$work/spec.yaml" > "$work/definitions.json"

python3 - "$runs" "$work" "$vhost" "$http" <<'PY'
import base64, concurrent.futures, http.client, json, statistics, subprocess, sys, time, urllib.parse, urllib.request
runs, work, vhost, http_url = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
auth = "Basic " + base64.b64encode(b"guest:guest").decode()
v = urllib.parse.quote(vhost, safe="")
base = urllib.parse.urlparse(http_url)
doc = json.load(open(f"{work}/definitions.json"))

def request(method, path, body=None, conn=None):
    c = conn or http.client.HTTPConnection(base.hostname, base.port, timeout=600)
    c.request(method, "/api/" + path, body=None if body is None else json.dumps(body),
              headers={"authorization": auth, "content-type": "application/json"})
    r = c.getresponse()
    r.read()
    if r.status >= 300:
        sys.exit(f"{method} {path}: {r.status}")
    if conn is None:
        c.close()

def queue_names():
    c = http.client.HTTPConnection(base.hostname, base.port, timeout=600)
    c.request("GET", f"/api/queues/{v}?columns=name", headers={"authorization": auth})
    r = c.getresponse()
    body = r.read()
    return [q["name"] for q in json.loads(body)] if r.status == 200 else []

def delete_queue(name):
    # Gone already (an exclusive queue whose connection closed) is fine.
    c = http.client.HTTPConnection(base.hostname, base.port, timeout=600)
    c.request("DELETE", f"/api/queues/{v}/{urllib.parse.quote(name, safe='')}", headers={"authorization": auth})
    r = c.getresponse()
    r.read()
    if r.status >= 300 and r.status != 404:
        sys.exit(f"DELETE queue {name}: {r.status}")

def fresh(create=True):
    # Queues first, ten at a time: deleting a vhost that holds a thousand
    # quorum queues in one request outlasts the management API's timeout
    # on 3.10, and the node then stays busy for minutes.
    names = queue_names()
    if names:
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            list(pool.map(delete_queue, names))
    c = http.client.HTTPConnection(base.hostname, base.port, timeout=600)
    c.request("DELETE", f"/api/vhosts/{v}", headers={"authorization": auth})
    c.getresponse().read()
    if create:
        request("PUT", f"vhosts/{v}", {})

def import_definitions():
    request("POST", f"definitions/{v}", doc)

def per_object(in_flight=10):
    local = __import__("threading").local()
    def send(item):
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection(base.hostname, base.port, timeout=600)
        request(*item, conn=local.conn)
    q = lambda name: urllib.parse.quote(name, safe="")
    with concurrent.futures.ThreadPoolExecutor(in_flight) as pool:
        for batch in (
            [("PUT", f"exchanges/{v}/{q(x['name'])}", {k: x[k] for k in ("type", "durable", "auto_delete", "internal", "arguments")}) for x in doc["exchanges"]],
            [("PUT", f"queues/{v}/{q(x['name'])}", {k: x[k] for k in ("durable", "auto_delete", "arguments")}) for x in doc["queues"]],
            [("POST", f"bindings/{v}/e/{q(b['source'])}/q/{q(b['destination'])}", {"routing_key": b["routing_key"], "arguments": {}}) for b in doc["bindings"]],
        ):
            list(pool.map(send, batch))

def warren(*args):
    p = subprocess.run(["target/release/warren", *args], capture_output=True)
    if p.returncode not in (0,):
        sys.exit(f"warren {args[0]} failed: {p.stderr.decode()[-2000:]}")

cases = {
    "baseline: POST /api/definitions (broker import)": (import_definitions, True),
    "baseline: per-object PUTs, 10 in flight": (per_object, True),
    "warren apply --yes, from empty": (lambda: warren("apply", f"{work}/spec.yaml", "--yes"), False),
}
walls = {name: [] for name in cases}
for _ in range(runs):
    for name, (run, create) in cases.items():
        fresh(create)
        start = time.perf_counter()
        run()
        walls[name].append(time.perf_counter() - start)
noop = {"warren plan, nothing to do": [], "warren apply --yes, nothing to do": []}
for _ in range(runs):
    for name, args in (("warren plan, nothing to do", ("plan", f"{work}/spec.yaml")),
                       ("warren apply --yes, nothing to do", ("apply", f"{work}/spec.yaml", "--yes"))):
        start = time.perf_counter()
        warren(*args)
        noop[name].append(time.perf_counter() - start)
walls.update(noop)
print(f"runs: {runs}, {len(doc['queues'])} {doc['queues'][0]['arguments']['x-queue-type']} queues, {len(doc['bindings'])} bindings, {len(doc['exchanges'])} exchanges")
print(f"{'case':<52} {'median s':>9} {'min s':>7} {'max s':>7}")
med = {}
for name, w in walls.items():
    med[name] = statistics.median(w)
    print(f"{name:<52} {med[name]:>9.2f} {min(w):>7.2f} {max(w):>7.2f}")
n = list(walls)
print(f"apply / import (medians): {med[n[2]] / med[n[0]]:.2f}x; apply / per-object PUTs: {med[n[2]] / med[n[1]]:.2f}x")
print(f"no-op apply / no-op plan (medians): {med[n[4]] / med[n[3]]:.2f}x")
PY
