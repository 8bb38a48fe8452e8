#!/usr/bin/env bash
# Run every cargo-fuzz target for a bounded time (default 20 s each) on its corpus:
# fuzz/corpus/<target>/ (from fuzz/seed.sh when tshark is there) plus the committed seeds
# in fuzz/seeds/<target>/ and past crashes in fuzz/regressions/<target>/.
#
# Works on the stable toolchain: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags, and
# `--sanitizer none` needs no sanitizer runtime (Rust code is memory-safe; the point is
# panics, overflows, hangs and runaway allocation). A crash leaves its input in
# fuzz/artifacts/<target>/ and fails the script.
#
# usage: scripts/fuzz-ci.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-20}
shift || true
if ! command -v cargo-fuzz >/dev/null && ! cargo install --locked cargo-fuzz@0.13.2; then
  # Only the registry can fail here; the property runs in tests/fuzz_props.rs still cover
  # every parser, so say so loudly and go on.
  echo "fuzz: cargo-fuzz could not be installed; coverage-guided fuzzing skipped" >&2
  exit 0
fi
export RUSTC_BOOTSTRAP=1
# The machine's one toolchain (nightly cannot be fetched here).
fuzz=(cargo fuzz)

targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cd fuzz/fuzz_targets && ls *.rs | sed 's/\.rs$//')

if [ ! -d fuzz/corpus ] && command -v tshark >/dev/null && command -v python3 >/dev/null; then
  fuzz/seed.sh >/dev/null
fi

start=$(date +%s)
"${fuzz[@]}" build --sanitizer none -O
echo "fuzz targets built in $(( $(date +%s) - start )) s"

for t in "${targets[@]}"; do
  corpus="fuzz/corpus/$t"
  mkdir -p "$corpus"
  extra=()
  for d in "fuzz/seeds/$t" "fuzz/regressions/$t"; do [ -d "$d" ] && extra+=("$d"); done
  # -rss_limit_mb: a parser that allocates without bound is a finding, too.
  "${fuzz[@]}" run --sanitizer none -O "$t" "$corpus" "${extra[@]}" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 -timeout=10 \
    -print_final_stats=1 2>&1 | grep -E '^(Done|stat::number_of_executed_units|==|INFO: seed corpus)|panicked|crash-|timeout-|oom-' || true
  if compgen -G "fuzz/artifacts/$t/*" >/dev/null; then
    echo "fuzz target $t: crash inputs in fuzz/artifacts/$t/" >&2
    exit 1
  fi
done
echo "fuzzed ${#targets[@]} targets for ${secs} s each; total $(( $(date +%s) - start )) s"
