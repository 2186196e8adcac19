#!/usr/bin/env bash
# Runs the cargo-fuzz targets (fuzz/fuzz_targets) for a set time each.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Seeds each target's corpus from the bundled topologies, the broken-spec
# corpus and the definitions corpus. A crash leaves its input in
# fuzz/artifacts/TARGET/; copy it to tests/fuzz/TARGET/ so the regression
# test (tests/fuzz.rs) replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-300}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(spec definitions)

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi

mkdir -p fuzz/corpus/spec fuzz/corpus/definitions
cp topologies/*.yaml tests/broken/*.yaml fuzz/corpus/spec/
cp tests/corpus/definitions/*.json fuzz/corpus/definitions/
for t in spec definitions; do
  if [ -d "tests/fuzz/$t" ]; then cp "tests/fuzz/$t"/* "fuzz/corpus/$t/"; fi
done

# libFuzzer's instrumentation needs unstable flags; the stable toolchain
# accepts them for this build only.
export RUSTC_BOOTSTRAP=1
for t in "${targets[@]}"; do
  echo "fuzz: $t for ${seconds}s" >&2
  cargo fuzz run "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 -print_final_stats=1
done
