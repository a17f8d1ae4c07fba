#!/bin/sh
# CTest smoke run of one libFuzzer harness (label "fuzz", only with SEPNET_FUZZ=ON): every seed
# replays, then mutation for a few seconds, on a scratch copy so the committed corpus stays as is.
# Usage: fuzz/smoke.sh HARNESS SEED_DIR SECONDS    (a finding exits non-zero; its input is saved
# in the working directory as crash-*, leak-*, timeout-* or oom-*)
set -eu
harness=$1 seeds=$2 seconds=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/sepnet_fuzz_smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$seeds"/* "$work"/
"$harness" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$work"
