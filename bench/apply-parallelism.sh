#!/usr/bin/env bash
# How `warren apply --parallelism N` scales, to choose its default: each
# run applies the same topology into an empty vhost; the values of N are
# interleaved run by run, so drift on a shared machine hits them alike.
#
# usage: bench/apply-parallelism.sh [RUNS] [QUEUES] [N...]
#        (defaults 3, 2000, and 1 2 4 8 16 32; needs the local broker)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
queues=${2:-2000}
shift 2 2>/dev/null || shift $#
levels=("${@:-1 2 4 8 16 32}")
read -r -a levels <<<"${levels[*]}"
vhost=warren-bench.parallelism
http=${WARREN_HTTP_URL:-http://127.0.0.1:15672}

bash scripts/broker.sh >/dev/null 2>&1
cargo build --release --locked --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"; curl -fsS -u guest:guest -X DELETE "$http/api/vhosts/$vhost" >/dev/null 2>&1 || true' EXIT
python3 bench/gen_topology.py --queues "$queues" --bindings-per-queue 1 --queue-type classic --vhost "$vhost" "$work/spec.yaml"
sed -i '/^policies:/,$d' "$work/spec.yaml"

python3 - "$runs" "$work" "$vhost" "$http" "${levels[@]}" <<'PY'
import base64, statistics, subprocess, sys, time, urllib.parse, urllib.request
runs, work, vhost, http_url = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
levels = [int(n) for n in sys.argv[5:]]
auth = "Basic " + base64.b64encode(b"guest:guest").decode()
def delete_vhost():
    req = urllib.request.Request(f"{http_url}/api/vhosts/{urllib.parse.quote(vhost, safe='')}",
                                 method="DELETE", headers={"authorization": auth})
    try:
        urllib.request.urlopen(req, timeout=600).read()
    except urllib.error.HTTPError as e:
        if e.code != 404:
            raise
times = {n: [] for n in levels}
for run in range(runs):
    for n in levels:
        delete_vhost()
        start = time.perf_counter()
        subprocess.run(["target/release/warren", "apply", f"{work}/spec.yaml", "--yes",
                        "--parallelism", str(n)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        times[n].append(time.perf_counter() - start)
delete_vhost()
base = statistics.median(times[levels[0]])
print(f"| --parallelism | median of {runs} | vs {levels[0]} |")
print("|---:|---:|---:|")
for n in levels:
    m = statistics.median(times[n])
    print(f"| {n} | {m:.2f} s | {m / base:.2f}x |")
PY
