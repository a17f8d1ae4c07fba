#!/usr/bin/python3
"""Training throughput, sepnet against PyTorch, measured in the same run.

For each model (+BN, batch 64, seed recipe) and thread count, trains one epoch on the first
--images MNIST images with `sepnet train` and with scripts/torch_mnist.py (Debian's PyTorch,
OPENBLAS_NUM_THREADS=1), alternating the two --repeats times, and prints the median images/s
of each and their ratio. Training time only: neither side's test evaluation is counted.

    /usr/bin/python3 scripts/bench_training.py --threads 1 2 --repeats 3
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sepnet_ips(binary, model, threads, images, data):
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([binary, "train", "--model", model, "--recipe", "seed", "--epochs", "1", "--max-train",
                        str(images), "--threads", str(threads), "--data", data, "--out", out],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(out, "metrics.jsonl")) as f:
            return json.loads(f.readline())["images_per_second"]


def torch_ips(model, threads, images, data):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as out:
        path = os.path.join(out, "m.jsonl")
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "torch_mnist.py"), "--model", model,
                        "--recipe", "seed", "--epochs", "1", "--max-train-images", str(images), "--threads",
                        str(threads), "--data", data, "--bench", "--json-out", path],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        with open(path) as f:
            return json.loads(f.readline())["images_per_second"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["cnn", "dw", "dwsep"])
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--images", type=int, default=60000)
    p.add_argument("--data", default=os.path.join(ROOT, "data", "mnist"))
    p.add_argument("--sepnet", default=os.path.join(ROOT, "build", "sepnet"))
    p.add_argument("--markdown", help="also write the table here")
    a = p.parse_args()
    load = os.getloadavg()[0]
    lines = [f"training throughput, batch 64, +BN, seed recipe, {a.images} images/epoch, "
             f"median of {a.repeats} alternating runs; load average at start {load:.1f}", "",
             "| model | threads | sepnet img/s | PyTorch img/s | ratio |", "|---|---:|---:|---:|---:|"]
    print("\n".join(lines), flush=True)
    for model in a.models:
        for t in a.threads:
            ours, theirs = [], []
            for _ in range(a.repeats):
                ours.append(sepnet_ips(a.sepnet, model, t, a.images, a.data))
                theirs.append(torch_ips(model, t, a.images, a.data))
            o, th = statistics.median(ours), statistics.median(theirs)
            line = f"| {model}+BN | {t} | {o:.0f} | {th:.0f} | {o / th:.2f}× |"
            lines.append(line)
            print(line, flush=True)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
