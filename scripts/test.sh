#!/usr/bin/env bash
# README command (2) and CI: install what is needed, build, run the whole test suite, then the
# same suite again built with AddressSanitizer + UndefinedBehaviorSanitizer, then a short run
# of each libFuzzer harness.
# Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/install-deps.sh
# Real MNIST for the one end-to-end test (skipped if the fetch is impossible).
bash scripts/fetch-mnist.sh || echo "test.sh: MNIST fetch failed; the end-to-end MNIST test will be skipped"

echo "== Release build and tests"
# Warnings are errors here, so a new warning fails CI (the library itself builds without -Werror).
bash scripts/build.sh build -DCMAKE_BUILD_TYPE=Release -DSEPNET_WERROR=ON
(cd build && ctest --output-on-failure --verbose --timeout 1200 -j2)   # 2 tests at a time: most are one-threaded

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
bash scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Release -DSEPNET_SANITIZE=ON -DSEPNET_BUILD_BENCH=OFF
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure --timeout 1800 -j2 -E 'e2e_|mpi_')   # Open MPI's own allocations read as leaks

echo "== libFuzzer smoke: each harness for 20 s (clang-14, ASan + UBSan; docs/fuzzing.md)"
bash scripts/fuzz.sh 20
echo "test.sh: all test suites passed"
