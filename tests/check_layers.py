#!/usr/bin/env python3
"""Checks that includes point one way through sepnet's layers:

    kernels <- core <- infer <- models <- onnx <- train <- dist <- apps

A file in a layer may include its own layer and the layers before it, never a later one
(docs/design.md, "Layers"). Prints every violation with file and line; exits 1 if any.
Usage: tests/check_layers.py [REPO_ROOT]
"""
import pathlib
import re
import sys

ORDER = ["kernels", "core", "infer", "models", "onnx", "train", "dist", "apps"]
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]((?:sepnet/(\w+)|(apps))/[^">]+)[">]')


def layer_of(path: pathlib.Path, root: pathlib.Path):
    parts = path.relative_to(root).parts
    if parts[0] == "sepnet" and len(parts) > 2 and parts[1] in ORDER:
        return parts[1]
    if parts[0] == "apps":
        return "apps"
    return None


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    files = [p for d in ("sepnet", "apps") for p in (root / d).rglob("*") if p.suffix in (".h", ".cpp")]
    if not files:
        print(f"check_layers: no sources under {root}/sepnet or {root}/apps", file=sys.stderr)
        return 2
    violations = []
    for path in sorted(files):
        layer = layer_of(path, root)
        if layer is None:
            violations.append(f"{path.relative_to(root)}: not inside a layer directory ({', '.join(ORDER)})")
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(2) or m.group(3)
            if target not in ORDER:
                violations.append(f"{path.relative_to(root)}:{number}: includes '{m.group(1)}' outside the layers")
            elif ORDER.index(target) > ORDER.index(layer):
                violations.append(f"{path.relative_to(root)}:{number}: {layer} includes upward into {target}: '{m.group(1)}'")
    for v in violations:
        print(v)
    print(f"check_layers: {len(files)} files, {len(violations)} upward or stray includes")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
