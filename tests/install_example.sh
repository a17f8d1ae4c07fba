#!/usr/bin/env bash
# sepnet as a library: installs the build into a temporary prefix, checks that every installed
# header compiles on its own include path, builds examples/custom_model against the prefix with
# find_package(sepnet), checks that none of sepnet's build flags reached the consumer, and runs
# the example (its own registered network, one epoch on a small IDX set, checkpoint reloaded).
# Usage: tests/install_example.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/lib/cmake/sepnet/sepnetConfig.cmake" || { echo "FAIL: no sepnetConfig.cmake installed"; exit 1; }
test -f "$tmp/prefix/include/sepnet/core/tensor.h" || { echo "FAIL: public headers not under include/sepnet/"; exit 1; }

# Every installed header, included from the prefix alone: an installed header that includes an
# uninstalled one (or needs a private dependency's headers) fails here.
(cd "$tmp/prefix/include" && find sepnet -name '*.h' | sort | sed 's/.*/#include <&>/') > "$tmp/all_headers.cpp"
echo "installed headers: $(wc -l < "$tmp/all_headers.cpp")"
c++ -std=c++20 -fsyntax-only -I"$tmp/prefix/include" "$tmp/all_headers.cpp"

cmake -S "$src/examples/custom_model" -B "$tmp/example" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
cmake --build "$tmp/example" >/dev/null
for flag in -fsanitize -Wextra -Werror -march -mavx; do
  if grep -q -- "$flag" "$tmp/example/compile_commands.json"; then
    echo "FAIL: sepnet's build flag $flag reached the consumer's compile line:"; cat "$tmp/example/compile_commands.json"; exit 1
  fi
done

python3 "$src/tests/make_idx.py" "$tmp/data" 4096 256
"$tmp/example/custom_model" --data "$tmp/data" --out "$tmp/run" | tee "$tmp/out.txt"
test -f "$tmp/run/model.safetensors" -a -f "$tmp/run/metrics.jsonl" || { echo "FAIL: no checkpoint or metrics"; exit 1; }
grep -q '"model":"tinynet"' "$tmp/run/metrics.jsonl" || { echo "FAIL: metrics do not name tinynet"; exit 1; }
acc=$(sed -n 's/.*test accuracy \([0-9.]*\)% after.*/\1/p' "$tmp/out.txt")
python3 -c "import sys; sys.exit(0 if $acc > 60 else 1)" || { echo "FAIL: tinynet learned nothing ($acc%)"; exit 1; }
echo "install_example: 1 passed, 0 failed"
