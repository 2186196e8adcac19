#!/usr/bin/env bash
# A no-op `warren plan` on a vhost holding 10,000 classic queues and
# 10,000 bindings (classic so that loading them takes seconds, not minutes),
# beside the raw request it cannot avoid: one
# GET /api/definitions/{vhost} with curl, timed in the same run.
#
# usage: bench/plan.sh [RUNS]     (default 10; needs the local broker)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
vhost=warren-bench.plan
http=${WARREN_HTTP_URL:-http://127.0.0.1:15672}

bash scripts/broker.sh >/dev/null 2>&1
cargo build --release --locked --quiet
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

python3 - "$runs" "$spec" "$vhost" "$http" <<'PY'
import statistics, subprocess, sys, time, urllib.parse
runs, spec, vhost, http = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
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

raw = timed(["curl", "-fsS", "-o", "/dev/null", "-u", "guest:guest", url])
plan = timed(["target/release/warren", "plan", spec, "--detailed-exitcode"])
print(f"runs: {runs}")
print(f"{'case':<52} {'median ms':>10} {'min ms':>8} {'max ms':>8}")
print(f"{'baseline: curl GET /api/definitions/{vhost}':<52} {raw[0]:>10.0f} {raw[1]:>8.0f} {raw[2]:>8.0f}")
print(f"{'warren plan (no changes, 10k queues, 10k bindings)':<52} {plan[0]:>10.0f} {plan[1]:>8.0f} {plan[2]:>8.0f}")
print(f"ratio (median): {plan[0] / raw[0]:.2f}x the raw request")
PY
