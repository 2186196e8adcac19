#!/usr/bin/env bash
# Times `warren validate` on a generated 10,000-queue topology, beside a
# baseline measured in the same run: the same binary validating the small
# bundled ecommerce topology (process start, no real work).
#
# usage: bench/validate.sh [RUNS]     (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}

cargo build --release --locked --quiet
big=$(mktemp --suffix=.yaml)
noisy=$(mktemp --suffix=.yaml)
trap 'rm -f "$big" "$noisy"' EXIT
python3 bench/gen_topology.py "$big"
# The same topology with no queue marked external: 10,000 W322 warnings,
# to time rendering them (human) against not rendering them (JSON).
sed '/    external: true/d' "$big" > "$noisy"

python3 - "$runs" "$big" "$noisy" <<'PY'
import resource, statistics, subprocess, sys, time

runs, big, noisy = int(sys.argv[1]), sys.argv[2], sys.argv[3]
warren = "target/release/warren"

def measure(args):
    walls, peaks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run([warren, *args], capture_output=True)
        walls.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"warren {' '.join(args)} failed:\n{proc.stderr.decode()}")
        # ru_maxrss of children is the largest child so far: measure each
        # case in a fresh process to read its own peak.
    peak = subprocess.run(
        ["/usr/bin/time", "-f", "%M", warren, *args], capture_output=True, text=True
    ).stderr.strip().splitlines()[-1]
    return statistics.median(walls) * 1000, min(walls) * 1000, max(walls) * 1000, int(peak) / 1024

base = measure(["validate", "topologies/ecommerce.yaml"])
main = measure(["validate", big])
quiet = measure(["validate", "--format", "json", noisy])
loud = measure(["validate", noisy])
print(f"runs: {runs}")
print(f"{'case':<44} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'peak MB':>8}")
print(f"{'baseline: validate topologies/ecommerce.yaml':<44} {base[0]:>10.1f} {base[1]:>8.1f} {base[2]:>8.1f} {base[3]:>8.1f}")
print(f"{'validate 10k queues / 20k bindings':<44} {main[0]:>10.1f} {main[1]:>8.1f} {main[2]:>8.1f} {main[3]:>8.1f}")
print(f"ratio (median): {main[0] / base[0]:.1f}x the baseline")
print(f"{'10k warnings as JSON (no rendering)':<44} {quiet[0]:>10.1f} {quiet[1]:>8.1f} {quiet[2]:>8.1f} {quiet[3]:>8.1f}")
print(f"{'10k warnings rendered for people':<44} {loud[0]:>10.1f} {loud[1]:>8.1f} {loud[2]:>8.1f} {loud[3]:>8.1f}")
print(f"rendering ratio (median): {loud[0] / quiet[0]:.1f}x the JSON output")
PY
