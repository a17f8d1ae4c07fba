#!/usr/bin/env bash
# Data-parallel training under MPI (2 ranks on this machine): replicas bit-identical and equal to
# one process with the same global batch (tests/mpi_data_parallel.cpp); sepnet train under
# mpirun; checkpoints resumed at another rank count both ways; one failing rank ends the job
# with a non-zero status within seconds. Exit 77 (skipped) without an MPI launcher.
# Usage: tests/mpi_run.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
command -v mpirun >/dev/null || { echo "mpi_run: no mpirun; skipped"; exit 77; }
flags=(-np 2)
if mpirun --version 2>&1 | grep -q "Open MPI"; then
  flags+=(--oversubscribe)                # 2 ranks even on a 1-core machine
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1   # CI runs as root
  export OMPI_MCA_rmaps_base_oversubscribe=1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sepnet="$build/sepnet"

mpirun "${flags[@]}" "$build/tests/mpi_data_parallel"

python3 "$src/tests/make_idx.py" "$tmp/data" 256 64
base=(--model dwsep --recipe standard --threads 1)
common=("${base[@]}" --data "$tmp/data")
mpirun "${flags[@]}" "$sepnet" train "${common[@]}" --epochs 1 --out "$tmp/a" > "$tmp/a.log"
grep -q "× 2 ranks" "$tmp/a.log" || { echo "FAIL: sepnet train under mpirun did not run on 2 ranks"; cat "$tmp/a.log"; exit 1; }
"$sepnet" train "${common[@]}" --resume "$tmp/a" --epochs 2 --out "$tmp/a" > /dev/null
"$sepnet" train "${common[@]}" --epochs 1 --out "$tmp/b" > /dev/null
mpirun "${flags[@]}" "$sepnet" train "${common[@]}" --resume "$tmp/b" --epochs 2 --out "$tmp/b" > /dev/null
for run in a b; do
  lines=$(wc -l < "$tmp/$run/metrics.jsonl")
  [ "$lines" -eq 2 ] || { echo "FAIL: run $run has $lines metrics lines after resuming at another rank count"; exit 1; }
done
echo "ok: 2-rank checkpoint resumed on 1 rank, 1-rank checkpoint resumed on 2 ranks"

# Rank 1 reads a data directory that does not exist: the job must stop, non-zero, quickly.
start=$(date +%s)
set +e
mpirun "${flags[@]:2}" -np 1 "$sepnet" train "${common[@]}" --epochs 3 --out "$tmp/c" : \
  -np 1 "$sepnet" train "${base[@]}" --data "$tmp/missing" --epochs 3 --out "$tmp/c" > "$tmp/c.log" 2>&1
status=$?
set -e
elapsed=$(( $(date +%s) - start ))
[ "$status" -ne 0 ] || { echo "FAIL: a failing rank left the job's exit status 0"; cat "$tmp/c.log"; exit 1; }
[ "$elapsed" -le 30 ] || { echo "FAIL: the job took ${elapsed}s to stop after one rank failed"; exit 1; }
grep -q "missing" "$tmp/c.log" || { echo "FAIL: the failing rank's message is not shown"; cat "$tmp/c.log"; exit 1; }
echo "ok: one failing rank stopped the job in ${elapsed}s with status $status"
echo "mpi_run: all passed"
