#!/usr/bin/env bash
# Mutation testing of chosen files: cargo-mutants changes the code (a
# comparison flipped, a result replaced, a branch removed) and checks that
# some test then fails. A mutant no test notices is logic nothing checks.
#
#   bash scripts/mutants.sh FILE...
#
# Too slow for CI (each mutant rebuilds and runs the tests: minutes per
# file). The broker tests are left out unless MUTANTS_FILTER says otherwise
# (a nextest filter expression, e.g. MUTANTS_FILTER='all()').
# Results: mutants.out/ (caught.txt, missed.txt, outcomes.json).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: bash scripts/mutants.sh FILE..." >&2; exit 64; }

if ! cargo mutants --version >/dev/null 2>&1; then
  cargo install --locked cargo-mutants
fi
files=()
for f in "$@"; do files+=(--file "$f"); done
filter=${MUTANTS_FILTER:-"not test(/^broker::/)"}
status=0
cargo mutants --test-tool nextest --no-shuffle --timeout 300 "${files[@]}" -- -E "$filter" || status=$?
# 2 means some mutants survived: the score below says how many.
if [ -f mutants.out/outcomes.json ]; then
  python3 - <<'PY'
import json
o = json.load(open("mutants.out/outcomes.json"))
counts = {}
for outcome in o.get("outcomes", []):
    if outcome.get("scenario") == "Baseline":
        continue
    summary = outcome.get("summary", "?")
    counts[summary] = counts.get(summary, 0) + 1
caught = counts.get("CaughtMutant", 0)
missed = counts.get("MissedMutant", 0)
total = caught + missed
print(f"mutants: {caught} of {total} caught, {missed} missed, "
      f"{counts.get('Unviable', 0)} did not compile, {counts.get('Timeout', 0)} timed out")
PY
  [ -s mutants.out/missed.txt ] && { echo "missed:"; cat mutants.out/missed.txt; }
fi
exit $status
