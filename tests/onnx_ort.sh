#!/usr/bin/env bash
# sepnet's ONNX export checked by independent code: each exported model passes onnx.checker
# (python3-onnx, full check), and ONNX Runtime (npm onnxruntime-node, run by scripts/ort_run.mjs)
# gives the logits `sepnet run` gives, to within 1e-4 (max |diff|). Models: cnn and dwsep trained
# for 4 steps on MNIST (BatchNorm statistics that are not 0 and 1) and run on 64 real MNIST test
# images, and MobileNet v1 α 0.25 at 32x32, 3 channels, random weights and inputs. Without
# data/mnist every model has random weights and inputs.
# Usage: tests/onnx_ort.sh SEPNET_BINARY SOURCE_DIR WORK_DIR
# Exit 77 (skipped, reason printed) without python3-onnx, node/npm or the npm registry.
set -euo pipefail
sepnet=$1 src=$2 work=$3
python=/usr/bin/python3
skip() { echo "SKIP: $*"; exit 77; }
"$python" -c 'import onnx, numpy' 2>/dev/null || skip "python3-onnx (onnx.checker) is not installed for $python"
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
have_mnist=0
[ -f "$mnist/t10k-images-idx3-ubyte" ] || [ -f "$mnist/t10k-images-idx3-ubyte.gz" ] && have_mnist=1
names=(cnn dwsep mobilenet_a0.25_32px)
rm -rf "$work/models" && mkdir -p "$work/models"
for name in "${names[@]}"; do
  out=$work/models/$name
  if [ "$name" = mobilenet_a0.25_32px ]; then
    "$sepnet" export --model mobilenet --width 0.25 --image-size 32 --out "$out.onnx" >/dev/null
  elif [ $have_mnist = 1 ]; then
    "$sepnet" train --model "$name" --data "$mnist" --max-train 256 --batch 64 --epochs 1 --out "$out.run" --threads 1 \
      >"$out.train.log" 2>&1 || { cat "$out.train.log"; exit 1; }
    "$sepnet" export --checkpoint "$out.run/model.safetensors" --out "$out.onnx" >/dev/null
  else
    "$sepnet" export --model "$name" --out "$out.onnx" >/dev/null
  fi
done

# The checker on each model, and its input: MNIST test images normalized as the model's metadata
# says, or random numbers.
"$python" - "$work/models" "$mnist" "${names[@]}" <<'PY'
import gzip, os, sys
import numpy as np
import onnx
models, mnist, names = sys.argv[1], sys.argv[2], sys.argv[3:]
for name in names:
    path = os.path.join(models, name + ".onnx")
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
    meta = {p.key: p.value for p in model.metadata_props}
    x, source = None, "random"
    for f in (os.path.join(mnist, "t10k-images-idx3-ubyte"), os.path.join(mnist, "t10k-images-idx3-ubyte.gz")):
        if dims == [1, 28, 28] and os.path.exists(f):
            raw = (gzip.open if f.endswith(".gz") else open)(f, "rb").read()
            pixels = np.frombuffer(raw, np.uint8, offset=16)[: 64 * 784].reshape(64, 1, 28, 28) / 255.0
            x = (pixels - float(meta["sepnet.input_mean"].split(",")[0])) / float(meta["sepnet.input_std"].split(",")[0])
            source = "MNIST test images"
            break
    if x is None:
        x = np.random.default_rng(7).standard_normal((64, *dims))
    np.save(os.path.join(models, name + "_x.npy"), x.astype(np.float32))
    print(f"{name}: onnx.checker ok; input [64, {', '.join(map(str, dims))}] ({source})")
PY
ort_args=()
for name in "${names[@]}"; do
  m=$work/models/$name
  "$sepnet" run "$m.onnx" --input "${m}_x.npy" --out "${m}_sepnet.npy" >/dev/null
  ort_args+=("$m.onnx" "${m}_x.npy" "${m}_ort.npy")
done
node "$ort/ort_run.mjs" "${ort_args[@]}" >/dev/null
"$python" - "$work/models" "${names[@]}" <<'PY'
import os, sys
import numpy as np
models, names = sys.argv[1], sys.argv[2:]
failed = False
for name in names:
    a = np.load(os.path.join(models, name + "_sepnet.npy"))
    b = np.load(os.path.join(models, name + "_ort.npy"))
    diff = float(np.abs(a - b).max()) if a.shape == b.shape else float("inf")
    failed |= not diff <= 1e-4
    print(f"{'ok  ' if diff <= 1e-4 else 'FAIL'} {name}: logits {list(a.shape)} (|logit| up to {np.abs(b).max():.3g}), "
          f"max |sepnet - ONNX Runtime| = {diff:.3g} (limit 1e-4)")
sys.exit(1 if failed else 0)
PY
