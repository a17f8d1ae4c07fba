#!/usr/bin/env bash
# Optional cross-check of sepnet/core/io against independent Python readers/writers (numpy):
#   C++ save_npy_f32        -> numpy.load
#   C++ save_safetensors    -> a spec-following Python parser
#   Python safetensors file -> C++ load_safetensors
# Uses /usr/bin/python3 (Debian python3-numpy). Builds a tiny driver with g++ from the io sources only (no CMake, no other core code).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/sepnet-crosscheck.XXXXXX")"
trap 'rm -rf -- "$work"' EXIT

cat > "$work/driver.cpp" <<'CPP'
#include <cstdio>
#include <string>
#include "sepnet/core/io/npy.h"
#include "sepnet/core/io/safetensors.h"
int main(int argc, char** argv) {
  const std::string mode = argv[1], path = argv[2];
  if (mode == "write") {
    std::vector<float> v(2 * 3 * 5);
    for (size_t i = 0; i < v.size(); ++i) v[i] = 0.25f * static_cast<float>(i) - 3.f;
    sepnet::save_npy_f32(path + ".npy", {2, 3, 5}, v.data());
    sepnet::SafetensorsFile f;
    f.metadata["step"] = "42";
    f.tensors["a.weight"] = {{2, 3, 5}, v};
    f.tensors["b"] = {{}, {7.5f}};
    f.tensors["c"] = {{3}, {1.f, -2.f, 3.f}};
    sepnet::save_safetensors(path + ".safetensors", f);
  } else {
    const auto f = sepnet::load_safetensors(path);
    for (const auto& [k, v] : f.metadata) std::printf("meta %s=%s\n", k.c_str(), v.c_str());
    for (const auto& [name, a] : f.tensors) {
      double sum = 0;
      for (float x : a.data) sum += x;
      std::printf("tensor %s ndim=%zu n=%zu sum=%.6f\n", name.c_str(), a.shape.size(), a.data.size(), sum);
    }
  }
}
CPP
g++ -std=c++20 -O1 -I"$repo" "$work/driver.cpp" "$repo/sepnet/core/io/npy.cpp" "$repo/sepnet/core/io/safetensors.cpp" \
  "$repo/sepnet/core/io/atomic_file.cpp" -o "$work/driver"
"$work/driver" write "$work/out"

/usr/bin/python3 - "$work" <<'PY'
import json, struct, sys, subprocess
import numpy as np
work = sys.argv[1]
ref = np.arange(30, dtype=np.float32) * np.float32(0.25) - np.float32(3)

a = np.load(f"{work}/out.npy")
assert a.dtype == np.float32 and a.shape == (2, 3, 5) and a.flags.c_contiguous, (a.dtype, a.shape)
assert np.array_equal(a.ravel(), ref)

raw = open(f"{work}/out.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
assert (8 + n) % 8 == 0
header = json.loads(raw[8:8 + n])
buf = raw[8 + n:]
assert header["__metadata__"] == {"step": "42"}
spans = sorted(tuple(v["data_offsets"]) for k, v in header.items() if k != "__metadata__")
assert spans[0][0] == 0 and spans[-1][1] == len(buf)
assert all(x[1] == y[0] for x, y in zip(spans, spans[1:]))
def tensor(name):
    e = header[name]; b, t = e["data_offsets"]
    assert e["dtype"] == "F32"
    return np.frombuffer(buf[b:t], dtype="<f4").reshape(e["shape"])
assert np.array_equal(tensor("a.weight").ravel(), ref) and tensor("a.weight").shape == (2, 3, 5)
assert tensor("b").shape == () and tensor("b") == 7.5
assert np.array_equal(tensor("c"), np.array([1, -2, 3], np.float32))

# A file written the way other tools do (unpadded, other key order) must load in C++.
x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
y = np.array([0.5], np.float32)
hdr = {"y": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
       "__metadata__": {"format": "np"},
       "x": {"dtype": "F32", "shape": [3, 4], "data_offsets": [4, 52]}}
h = json.dumps(hdr).encode()
open(f"{work}/py.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + y.tobytes() + x.tobytes())
out = subprocess.run([f"{work}/driver", "read", f"{work}/py.safetensors"], check=True, capture_output=True, text=True).stdout
expect = ("meta format=np\n"
          f"tensor x ndim=2 n=12 sum={float(x.astype(np.float64).sum()):.6f}\n"
          "tensor y ndim=1 n=1 sum=0.500000\n")
assert out == expect, (out, expect)
print("crosscheck-io: npy and safetensors agree with numpy / the spec")
PY
