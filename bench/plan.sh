#!/usr/bin/env bash
# On a vhost holding 10,000 classic queues and 10,000 bindings (classic so
# that loading them takes seconds, not minutes), in the same run:
# - a no-op `warren plan` beside the raw request it cannot avoid, one
#   GET /api/definitions/{vhost} with curl;
# - `warren export` beside `rabbitmqadmin definitions export_from_vhost`
#   (rabbitmqadmin v2, the RabbitMQ team's CLI; installed from crates.io
#   into target/bench-tools when it is not on the PATH).
#
# usage: bench/plan.sh [RUNS]     (default 10; needs the local broker)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
vhost=warren-bench.plan
http=${WARREN_HTTP_URL:-http://127.0.0.1:15672}

bash scripts/broker.sh >/dev/null 2>&1
cargo build --release --locked --quiet
admin=$(command -v rabbitmqadmin || true)
if [ -z "$admin" ] || ! "$admin" --version 2>/dev/null | grep -q '^rabbitmqadmin 2'; then
  admin=target/bench-tools/bin/rabbitmqadmin
  [ -x "$admin" ] || cargo install --quiet --locked rabbitmqadmin --root target/bench-tools
fi
spec=$(mktemp --suffix=.yaml)
trap 'rm -f "$spec"; curl -fsS -u guest:guest -X DELETE "$http/api/vhosts/$vhost" >/dev/null || true' EXIT
python3 bench/gen_topology.py --bindings-per-queue 1 --queue-type classic --vhost "$vhost" "$spec"

# Load the same topology with the broker's own definitions import.
curl -fsS -u guest:guest -X DELETE "$http/api/vhosts/$vhost" >/dev/null 2>&1 || true
curl -fsS -u guest:guest -X PUT "$http/api/vhosts/$vhost" >/dev/null
python3 - "$spec" "$vhost" "$http" <<'PY'
import json, sys, urllib.parse, urllib.request, base64, re
spec, vhost, http = sys.argv[1:]
exchanges, queues, bindings = [], [], []
for line in open(spec):
    m = re.match(r"  (events\.\d+): \{ type: topic \}", line)
    if m:
        exchanges.append({"name": m.group(1), "type": "topic", "durable": True, "auto_delete": False, "internal": False, "arguments": {}})
    m = re.match(r"  (q\.\d+):$", line)
    if m:
        queues.append({"name": m.group(1), "durable": True, "auto_delete": False, "arguments": {"x-queue-type": "classic"}})
        current = m.group(1)
    m = re.match(r'      - \{ exchange: (events\.\d+), key: "([^"]+)" \}', line)
    if m:
        bindings.append({"source": m.group(1), "destination": current, "destination_type": "queue", "routing_key": m.group(2), "arguments": {}})
doc = {"exchanges": exchanges, "queues": queues, "bindings": bindings, "policies": []}
req = urllib.request.Request(f"{http}/api/definitions/{urllib.parse.quote(vhost, safe='')}", data=json.dumps(doc).encode(), method="POST")
req.add_header("content-type", "application/json")
req.add_header("authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
urllib.request.urlopen(req, timeout=600).read()
print(f"loaded {len(exchanges)} exchanges, {len(queues)} queues, {len(bindings)} bindings into {vhost}", file=sys.stderr)
PY
# Policies would make the spec differ from what was loaded; drop them.
sed -i '/^policies:/,/^services:/{/^services:/!d}' "$spec"

python3 - "$runs" "$spec" "$vhost" "$http" "$admin" <<'PY'
import statistics, subprocess, sys, time, urllib.parse
runs, spec, vhost, http, admin = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
url = f"{http}/api/definitions/{urllib.parse.quote(vhost, safe='')}"

def timed(cmd, check_exit=(0,)):
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True)
        walls.append(time.perf_counter() - start)
        if p.returncode not in check_exit:
            sys.exit(f"{cmd[0]} failed ({p.returncode}): {p.stdout.decode()[-2000:]} {p.stderr.decode()[-2000:]}")
    return statistics.median(walls) * 1000, min(walls) * 1000, max(walls) * 1000

# Interleaved, so that the broker's own drift hits every case alike.
cases = {
    "baseline: curl GET /api/definitions/{vhost}": ["curl", "-fsS", "-o", "/dev/null", "-u", "guest:guest", url],
    "warren plan (no changes, 10k queues, 10k bindings)": ["target/release/warren", "plan", spec, "--detailed-exitcode"],
    "baseline: rabbitmqadmin definitions export_from_vhost": [admin, "--vhost", vhost, "definitions", "export_from_vhost", "--file", "/dev/null"],
    "warren export": ["target/release/warren", "export", "--vhost", vhost, "--out", "/dev/null"],
}
walls = {name: [] for name in cases}
for _ in range(runs):
    for name, cmd in cases.items():
        start = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True)
        walls[name].append(time.perf_counter() - start)
        if p.returncode != 0:
            sys.exit(f"{cmd[0]} failed ({p.returncode}): {p.stdout.decode()[-2000:]} {p.stderr.decode()[-2000:]}")
med = {name: statistics.median(w) * 1000 for name, w in walls.items()}
print(f"runs: {runs}")
print(f"{'case':<56} {'median ms':>10} {'min ms':>8} {'max ms':>8}")
for name, w in walls.items():
    print(f"{name:<56} {med[name]:>10.0f} {min(w) * 1000:>8.0f} {max(w) * 1000:>8.0f}")
names = list(cases)
print(f"plan / raw request (medians): {med[names[1]] / med[names[0]]:.2f}x")
print(f"export / rabbitmqadmin (medians): {med[names[3]] / med[names[2]]:.2f}x")
PY
