#!/usr/bin/env bash
# README command (1): install, build, fetch MNIST, and run the write-up's comparison.
# Extra arguments go to `sepnet compare` (e.g. --recipe seed --seeds 1 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
bash scripts/build.sh build -DCMAKE_BUILD_TYPE=Release
bash scripts/fetch-mnist.sh
./build/sepnet compare "$@"
