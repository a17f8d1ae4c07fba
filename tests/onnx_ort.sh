#!/usr/bin/env bash
# sepnet's ONNX export checked by independent code: each exported model passes onnx.checker
# (python3-onnx), and ONNX Runtime (npm onnxruntime-node, run by scripts/ort_run.mjs) gives the
# logits `sepnet run` gives, to within 1e-4 (max |diff|), on 64 real MNIST test images (random
# inputs when data/mnist is missing). Models: cnn, dwsep and MobileNet v1 α 0.25 on MNIST, trained
# for 4 steps when MNIST is there (BatchNorm statistics that are not 0 and 1), else with random
# initial weights; and MobileNet v1 α 0.25 at its default channels and 32x32, random weights.
# Usage: tests/onnx_ort.sh SEPNET_BINARY SOURCE_DIR WORK_DIR
# Exit 77 (skipped, reason printed) without python3-onnx, node/npm or the npm registry.
set -euo pipefail
sepnet=$1 src=$2 work=$3
python=/usr/bin/python3
skip() { echo "SKIP: $*"; exit 77; }
"$python" -c 'import onnx, numpy' 2>/dev/null || skip "python3-onnx (onnx.checker) is not installed"
command -v node >/dev/null && command -v npm >/dev/null || skip "node and npm are not installed"

# onnxruntime-node, pinned by scripts/ort/package-lock.json, installed once into WORK_DIR/ort; its
# post-install step would download a GPU provider, which ONNXRUNTIME_NODE_INSTALL=skip turns off.
ort=$work/ort
mkdir -p "$ort"
if ! cmp -s "$src/scripts/ort/package-lock.json" "$ort/package-lock.json" || [ ! -d "$ort/node_modules/onnxruntime-node" ]; then
  cp "$src/scripts/ort/package.json" "$src/scripts/ort/package-lock.json" "$ort/"
  (cd "$ort" && ONNXRUNTIME_NODE_INSTALL=skip timeout 600 npm ci --no-audit --no-fund >npm.log 2>&1) ||
    skip "npm ci of onnxruntime-node failed (registry unreachable?): $(tail -3 "$ort/npm.log" | tr '\n' ' ')"
fi
cp "$src/scripts/ort_run.mjs" "$ort/ort_run.mjs"  # beside $ort/node_modules, where it looks for onnxruntime-node

mnist=$src/data/mnist
cases=("cnn:" "dwsep:" "mobilenet:--width 0.25 --image-size 32" "mobilenet:--width 0.25")
failed=0
for case in "${cases[@]}"; do
  model=${case%%:*} opts=${case#*:}
  name=$model$(echo "$opts" | tr -d ' -' | tr '.' '_')
  dir=$work/ort-$name
  rm -rf "$dir" && mkdir -p "$dir"
  # shellcheck disable=SC2086
  if [ -f "$mnist/t10k-images-idx3-ubyte" ] || [ -f "$mnist/t10k-images-idx3-ubyte.gz" ]; then
    if [[ "$opts" != *image-size* ]]; then
      "$sepnet" train --model "$model" $opts --data "$mnist" --max-train 256 --batch 64 --epochs 1 --out "$dir/run" \
        --threads 1 >"$dir/train.log" 2>&1 || { cat "$dir/train.log"; exit 1; }
      "$sepnet" export --checkpoint "$dir/run/model.safetensors" --out "$dir/model.onnx"
    else
      "$sepnet" export --model "$model" $opts --out "$dir/model.onnx"
    fi
  else
    "$sepnet" export --model "$model" $opts --out "$dir/model.onnx"
  fi
  "$python" - "$dir/model.onnx" "$dir/x.npy" "$mnist" <<'PY'
import gzip, os, sys
import numpy as np
import onnx
path, x_path, mnist = sys.argv[1:]
model = onnx.load(path)
onnx.checker.check_model(model, full_check=True)
dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
meta = {p.key: p.value for p in model.metadata_props}
images = None
for name in ("t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"):
    f = os.path.join(mnist, name)
    if os.path.exists(f) and dims[0] == 1 and dims[1:] == [28, 28]:
        raw = (gzip.open if f.endswith(".gz") else open)(f, "rb").read()
        images = np.frombuffer(raw, np.uint8, offset=16)[: 64 * 784].reshape(64, 1, 28, 28) / 255.0
        mean = float(meta.get("sepnet.input_mean", "0.1307").split(",")[0])
        std = float(meta.get("sepnet.input_std", "0.3081").split(",")[0])
        images = (images - mean) / std
        break
if images is None:
    images = np.random.default_rng(7).standard_normal((64, *dims))
np.save(x_path, images.astype(np.float32))
print(f"{path}: onnx.checker ok; input [64, {', '.join(map(str, dims))}] "
      f"({'MNIST test images' if dims == [1, 28, 28] and os.path.isdir(mnist) else 'random'})")
PY
  "$sepnet" run "$dir/model.onnx" --input "$dir/x.npy" --out "$dir/sepnet.npy" >/dev/null
  node "$ort/ort_run.mjs" "$dir/model.onnx" "$dir/x.npy" "$dir/ort.npy" >/dev/null
  "$python" - "$name" "$dir/sepnet.npy" "$dir/ort.npy" <<'PY' || failed=1
import sys
import numpy as np
name, a, b = sys.argv[1], np.load(sys.argv[2]), np.load(sys.argv[3])
diff = float(np.abs(a - b).max()) if a.shape == b.shape else float("inf")
print(f"{'ok  ' if diff <= 1e-4 else 'FAIL'} {name}: logits {list(a.shape)}, max |sepnet - ONNX Runtime| = {diff:.3g} (limit 1e-4)")
sys.exit(0 if diff <= 1e-4 else 1)
PY
done
exit $failed
