#!/usr/bin/env bash
# Retry throughput: every message fails its first attempt and succeeds on
# the second, through the service's retry (delay 1s), on RabbitMQ 4.3 with
# quorum queues. In the same run, interleaved run by run:
# - baseline: the same relay with no failure (no retry taken);
# - retry via a TTL delay queue (`retry: { delays: [1s] }`);
# - retry via the quorum queue's delayed redelivery (`retry: { via:
#   broker, min: 1s, attempts: 2 }`).
# Each is the Rust API relay of examples/relay.rs (prefetch 100,
# concurrency 100). Then the queues each kind of retry declares per
# service, for a schedule of three delays.
#
# usage: bench/retry.sh [RUNS] [MESSAGES]   (defaults 3, 5000; starts
#        RabbitMQ 4.3 unless WARREN_HTTP_URL names a broker)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
messages=${2:-5000}
vhost=warren-bench.retry

if [ -z "${WARREN_HTTP_URL:-}" ]; then
  eval "$(bash scripts/broker.sh 4.3)"
fi
http=$WARREN_HTTP_URL
cargo build --release --locked --quiet --bin warren --example relay
work=$(mktemp -d)
cleanup() {
  rm -rf "$work"
  curl -fsS -u guest:guest -X DELETE "$http/api/vhosts/$vhost" >/dev/null 2>&1 || true
}
trap cleanup EXIT

spec() { # NAME RETRY
  cat > "$work/$1.yaml" <<YAML
version: 1
vhost: $vhost
broker: { version: "4.3" }
defaults: { queue_type: quorum }
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
    retry: $2
YAML
}
spec queues '{ delays: [1s] }'
spec broker '{ via: broker, min: 1s, attempts: 2 }'
spec queues3 '{ delays: [1s, 10s, 1m] }'
spec broker3 '{ via: broker, min: 1s, max: 1m, attempts: 4 }'

python3 - "$runs" "$messages" "$work" "$vhost" "$http" <<'PY'
import base64, statistics, subprocess, sys, urllib.parse, urllib.request
runs, n, work, vhost, http_url = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
auth = "Basic " + base64.b64encode(b"guest:guest").decode()
v = urllib.parse.quote(vhost, safe="")
relay = "target/release/examples/relay"
warren = "target/release/warren"

def api(method, path):
    req = urllib.request.Request(f"{http_url}/api/{path}", method=method, headers={"authorization": auth})
    return urllib.request.urlopen(req, timeout=60).read()

def apply(spec):
    # A change of retry kind replaces the service's queue: start clean.
    try:
        api("DELETE", f"vhosts/{v}")
    except Exception:
        pass
    subprocess.run([warren, "apply", spec, "--yes"], check=True, stdout=subprocess.DEVNULL)

variants = {
    "no failure (baseline)": ("warren", f"{work}/queues.yaml"),
    "retry via a TTL delay queue": ("retrying", f"{work}/queues.yaml"),
    "retry via the broker (4.3)": ("retrying", f"{work}/broker.yaml"),
}
rates = {name: [] for name in variants}
for run in range(runs):
    order = list(variants.items())
    if run % 2:
        order.reverse()
    for name, (mode, spec) in order:
        apply(spec)
        subprocess.run([relay, "load", spec, str(n)], check=True)
        worker = subprocess.Popen([relay, mode, spec], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        took = float(subprocess.run([relay, "wait", spec, "relay.out", str(n)], check=True,
                                    capture_output=True, text=True).stdout)
        worker.terminate(); worker.wait(timeout=60)
        rates[name].append(0.8 * n / took if took > 0 else float("inf"))

base = statistics.median(rates["no failure (baseline)"])
print(f"| relay, every message retried once | messages | median msg/s of {runs} | vs baseline |")
print("|---|---:|---:|---:|")
for name in variants:
    m = statistics.median(rates[name])
    print(f"| {name} | {n} | {m:,.0f} | {m / base:.2f}x |")

print()
print("| retry (three retries) | queues per service | exchanges per service |")
print("|---|---:|---:|")
for name, spec in [("`delays: [1s, 10s, 1m]`", "queues3"), ("`via: broker, min: 1s, max: 1m, attempts: 4`", "broker3")]:
    text = subprocess.run([warren, "expand", f"{work}/{spec}.yaml"], check=True,
                          capture_output=True, text=True).stdout
    names, section = {}, None
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            section = line[:-1]
        elif section and line.startswith("  ") and not line.startswith("   ") and line.endswith(":"):
            names.setdefault(section, []).append(line.strip()[:-1])
    queues = [q for q in names.get("queues", []) if q != "relay.out"]
    exchanges = [x for x in names.get("exchanges", []) if x != "bench"]
    print(f"| {name} | {len(queues)} | {len(exchanges)} |")
PY
