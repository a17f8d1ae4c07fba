#!/usr/bin/env bash
# End to end on real MNIST (fetched by scripts/fetch-mnist.sh): one short training run of the
# dwsep model must reach > 93% test accuracy (measured: 95.4; chance is 10), write its metrics and a checkpoint that
# `sepnet eval` reloads to the same accuracy. Exit 77 (skipped) when the data is absent.
set -euo pipefail
sepnet=$1
data=$2
[ -f "$data/train-images-idx3-ubyte" ] || { echo "no MNIST in $data: skipped (run scripts/fetch-mnist.sh)"; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$sepnet" train --model dwsep --recipe standard --epochs 1 --max-train 20000 --data "$data" --out "$out" --threads 2
acc=$(python3 -c "import json,sys; print(json.loads(open('$out/metrics.jsonl').read().splitlines()[-1])['test_accuracy'])")
echo "test accuracy after 1 epoch on 20000 images: $acc"
python3 -c "import sys; sys.exit(0 if $acc > 93.0 else 1)" || { echo "FAIL: accuracy $acc <= 93"; exit 1; }
eval_out=$("$sepnet" eval --checkpoint "$out/model.safetensors" --data "$data" --threads 2)
echo "$eval_out" | head -1
echo "$eval_out" | grep -q "accuracy $(printf '%.2f' "$acc")%" || { echo "FAIL: eval accuracy differs from training's"; exit 1; }
echo "e2e: 1 passed, 0 failed"
