#!/usr/bin/env bash
# Builds the libFuzzer harnesses in fuzz/ with clang-14 (AddressSanitizer + UBSan; docs/fuzzing.md)
# and runs each in turn for SECONDS. Each target's corpus grows in BUILD_DIR/fuzz-corpus/<target>/
# across runs, seeded from fuzz/corpus/<target>/; inputs that crash, leak, time out or run out of
# memory land in BUILD_DIR/fuzz-findings/<target>/ and the full log in BUILD_DIR/fuzz-logs/.
# Prints executions and findings per target; exits 1 if any target had a finding.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 60)] [TARGET...]   e.g. scripts/fuzz.sh 600 fuzz_idx
# Environment: BUILD_DIR (default build-fuzz), JOBS (build parallelism, default all cores),
#              FUZZ_ARGS (extra libFuzzer flags, e.g. "-max_len=65536").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
shift || true
build=${BUILD_DIR:-$root/build-fuzz}
case "$seconds" in '' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, not '$seconds'" >&2; exit 2 ;; esac
command -v clang++-14 >/dev/null || { echo "fuzz.sh: clang++-14 not found (scripts/install-deps.sh installs it)" >&2; exit 2; }

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in "$root"/fuzz/fuzz_*.cpp; do targets+=("$(basename "$src" .cpp)"); done
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" "${generator[@]}" "${launcher[@]}" \
    -DCMAKE_BUILD_TYPE=Release -DSEPNET_FUZZ=ON -DSEPNET_BUILD_APPS=OFF -DSEPNET_BUILD_TESTS=OFF \
    -DSEPNET_BUILD_BENCH=OFF -DSEPNET_INSTALL=OFF -DSEPNET_MPI=OFF >/dev/null
fi
# fuzz_onnx exists only where CMake found the ONNX protobuf library (SEPNET_ONNX).
if [[ " ${targets[*]} " == *" fuzz_onnx "* ]] && ! grep -q '^ONNX_DIR:PATH=/' "$build/CMakeCache.txt"; then
  echo "fuzz.sh: skipping fuzz_onnx: the ONNX protobuf library was not found (Debian libonnx-dev)" >&2
  kept=()
  for t in "${targets[@]}"; do [ "$t" = fuzz_onnx ] || kept+=("$t"); done
  targets=("${kept[@]}")
fi
cmake --build "$build" -j "${JOBS:-$(nproc)}" --target "${targets[@]}"

read -r -a extra <<<"${FUZZ_ARGS:-}"
failed=0
summary=()
for target in "${targets[@]}"; do
  corpus=$build/fuzz-corpus/$target findings=$build/fuzz-findings/$target log=$build/fuzz-logs/$target.log
  mkdir -p "$corpus" "$findings" "$(dirname "$log")"
  before=$(find "$findings" -type f | wc -l)
  echo "== $target: ${seconds}s (log: $log)"
  rc=0
  # The seed directory comes second: libFuzzer reads it but adds new inputs only to the first.
  "$build/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$findings/" "${extra[@]}" "$corpus" "$root/fuzz/corpus/${target#fuzz_}" >"$log" 2>&1 || rc=$?
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  after=$(find "$findings" -type f | wc -l)
  found=$((after - before))
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    failed=1
    [ "$found" -eq 0 ] && found=1  # libFuzzer failed without saving an input
    echo "$target: FINDING (exit $rc; inputs in $findings):"
    grep -E 'ERROR: |FINDING: |runtime error: |SUMMARY: ' "$log" | head -5 | sed 's/^/  /'
  fi
  [ -n "$done_line" ] && echo "  $done_line"
  inputs=$(find "$corpus" -type f | wc -l)
  summary+=("$(printf '%-28s %12s executions  %s finding(s)  corpus of %s inputs' "$target" "${execs:-?}" "$found" \
    "$inputs")")
done
echo "== fuzz.sh: ${seconds}s per target"
printf '%s\n' "${summary[@]}"
exit "$failed"
