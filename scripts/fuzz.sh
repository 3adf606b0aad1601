#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a bounded time and prints how many inputs each tried.
#   scripts/fuzz.sh [seconds-per-target]    (default 60)
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Corpora grow under
# fuzz/corpus/<target>; a crash leaves its input under fuzz/artifacts/<target> and stops the run.
# Not part of CI: a crash found here becomes a regular test and a fix.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz missing: cargo install cargo-fuzz" >&2; exit 1; }
targets=$(cargo +nightly fuzz list --fuzz-dir fuzz)
# payhook forbids unsafe code: no sanitizer, coverage-guided only, a much faster build.
cargo +nightly fuzz build --fuzz-dir fuzz --sanitizer none >&2
results=()
for target in $targets; do
  log="$(mktemp)"
  echo "fuzzing $target for ${seconds}s" >&2
  status=0
  cargo +nightly fuzz run --fuzz-dir fuzz --sanitizer none "$target" -- \
    -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' || true)
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "$target: CRASHED (see fuzz/artifacts/$target)" >&2
    rm -f "$log"
    exit "$status"
  fi
  results+=("$(printf '%-22s %12s inputs in %ss' "$target" "${runs:-?}" "$seconds")")
  rm -f "$log"
done
printf '%s\n' "${results[@]}"
