#!/usr/bin/env bash
# The shipped binaries on CPUs they were not built on: runs a subset of the kernel and op tests
# that touches every kernel family, and one short `sepnet train`, under qemu-user emulating
# a CPU without AVX-512 (-cpu Haswell: AVX2+FMA) or without AVX at all (-cpu qemu64). The
# dispatcher must pick a path the emulated CPU has; an AVX-512 or AVX2 instruction reached
# on the way (an inline function merged from a per-ISA object, a mis-gated path) is a SIGILL
# here. Exit 77 (skipped) when qemu-x86_64 is not installed.
# Usage: tests/qemu_run.sh CPU BUILD_DIR SOURCE_DIR
set -uo pipefail
cpu=$1
build=$2
src=$3
command -v qemu-x86_64 >/dev/null || { echo "qemu-x86_64 not installed (apt-get install qemu-user): skipped"; exit 77; }
tests=$build/tests
# binary and Catch2 test spec; shapes chosen to reach each path, not the whole sweep (emulation
# runs 10-40x slower).
cases=(
  "test_ops|"
  "test_depthwise_nhwc|"
  "test_depthwise|depthwise: MobileNet- and MNIST-like shapes match the reference"
  "test_gemm|sgemm matches the reference on edge sizes, all transposes"
  "test_gemm|sgemm tall-skinny path: N and K up to 64, many rows, every column tail"
  "test_gemm|sgemm_abt_sum equals the sum of reference A_i·B_iᵀ products"
  "test_pointwise|"
  "test_pool_eltwise_kernels|"
  "test_conv_stem|"
  "test_conv_direct|[conv_direct]"
  "test_channels_last_kernels|"
  "test_im2col|"
)
passed=0
failed=0
for entry in "${cases[@]}"; do
  binary=${entry%%|*}
  spec=${entry#*|}
  [ -x "$tests/$binary" ] || { echo "missing $tests/$binary"; failed=$((failed + 1)); continue; }
  start=$(date +%s)
  if [ -n "$spec" ]; then
    qemu-x86_64 -cpu "$cpu" "$tests/$binary" "$spec" > "$build/qemu-$cpu-$binary.log" 2>&1
  else
    qemu-x86_64 -cpu "$cpu" "$tests/$binary" > "$build/qemu-$cpu-$binary.log" 2>&1
  fi
  rc=$?
  summary=$(tail -n 2 "$build/qemu-$cpu-$binary.log" | tr -s '\n' ' ')
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1))
    echo "ok   -cpu $cpu $binary ${spec:+\"$spec\"} ($(( $(date +%s) - start )) s): $summary"
  else
    failed=$((failed + 1))
    [ $rc -eq 132 ] && why="SIGILL: an instruction this CPU lacks" || why="exit $rc"
    echo "FAIL -cpu $cpu $binary ${spec:+\"$spec\"}: $why"
    tail -n 30 "$build/qemu-$cpu-$binary.log"
  fi
done

# One short training run of the command line itself.
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
python3 "$src/tests/make_idx.py" "$data/idx" 256 64
if qemu-x86_64 -cpu "$cpu" "$build/sepnet" train --model dwsep --recipe standard --epochs 1 --data "$data/idx" \
     --out "$data/run" --threads 1 > "$build/qemu-$cpu-sepnet.log" 2>&1; then
  passed=$((passed + 1))
  echo "ok   -cpu $cpu sepnet train: $(grep -o 'kernels [a-z0-9]*' "$build/qemu-$cpu-sepnet.log" | head -1), $(grep -o 'final test accuracy [0-9.]*%' "$build/qemu-$cpu-sepnet.log")"
else
  failed=$((failed + 1))
  echo "FAIL -cpu $cpu sepnet train"
  tail -n 20 "$build/qemu-$cpu-sepnet.log"
fi
echo "qemu -cpu $cpu: $passed passed, $failed failed"
[ $failed -eq 0 ]
