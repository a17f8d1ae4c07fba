#!/usr/bin/env python3
"""A sepnet MobileNet checkpoint loads by name into the PyTorch MobileNet of
scripts/torch_mobilenet.py and gives the same logits (within 1e-4) on resized, normalized IDX
images: separable at 28 -> 32 px (upsampling) and full-conv at 28 -> 20 px (downsampling).
Exits 77 (skipped) when torch is not importable.
Usage: torch_mobilenet_check.py SEPNET_BINARY PROJECT_ROOT"""
import os
import subprocess
import sys
import tempfile

try:
    import torch  # noqa: F401
except ImportError as e:
    print(f"skipped: PyTorch is not importable ({e}); install python3-torch")
    sys.exit(77)


def main():
    binary, root = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        subprocess.run([sys.executable, os.path.join(root, "tests", "make_idx.py"), data, "96", "48"], check=True)
        for conv, side in (("separable", 32), ("full", 20)):
            run = os.path.join(tmp, f"run-{conv}")
            subprocess.run([binary, "train", "--model", "mobilenet", "--width", "0.25", "--image-size", str(side),
                            "--conv", conv, "--data", data, "--epochs", "1", "--batch", "32", "--recipe", "standard",
                            "--threads", "1", "--out", run], check=True, stdout=subprocess.DEVNULL)
            logits = os.path.join(tmp, f"{conv}.npy")
            checkpoint = os.path.join(run, "model.safetensors")
            subprocess.run([binary, "eval", "--checkpoint", checkpoint, "--data", data, "--dump-logits", logits,
                            "--threads", "1"], check=True, stdout=subprocess.DEVNULL)
            print(f"{conv} at {side} px: ", end="", flush=True)
            subprocess.run([sys.executable, os.path.join(root, "scripts", "torch_mobilenet.py"), "check", "--checkpoint",
                            checkpoint, "--data", data, "--logits", logits], check=True)


if __name__ == "__main__":
    main()
