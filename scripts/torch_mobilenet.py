#!/usr/bin/python3
"""PyTorch reference for sepnet's MobileNet on IDX image sets (Fashion-MNIST, MNIST).

The same network as sepnet/models/mobilenet_v1.cpp, written the obvious way in PyTorch 1.13
(Debian's python3-torch) with the same state_dict names, the same data path (first N training
images, bilinear resize with F.interpolate(align_corners=False) per batch, normalization by the
training set's mean/std rounded to 4 decimals) and the same recipe as `sepnet sweep` (Adam,
cosine decay per epoch, batch 64, cross-entropy, PyTorch's default initialization).

    check     load a sepnet checkpoint, compare logits with `sepnet eval --dump-logits`
    accuracy  train one cell over seeds in sepnet and in PyTorch, interleaved; accuracy mean ± std
    speed     training images/s (resize included) of sepnet and PyTorch (NCHW and channels_last; the
              ratio is to the faster), alternating, one epoch of --speed-images per measurement

    /usr/bin/python3 scripts/torch_mobilenet.py speed --threads 1 2 --repeats 3
    /usr/bin/python3 scripts/torch_mobilenet.py accuracy --width 0.25 --image-size 32 --seeds 1 2 3
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before torch loads OpenBLAS (see torch_mnist.py)

import argparse
import json
import math
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_mnist import read_idx, read_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FASHION = "/usr/share/datasets/fashion-mnist"
BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
          (512, 1), (512, 1), (1024, 2), (1024, 1)]


def scaled(c, alpha):
    return max(8, int(math.floor(c * alpha + 0.5)))  # C's lround for positive values


class MobileNetV1(nn.Module):
    """features.N follow sepnet's indices: stem conv/BN/ReLU, then per block dw/BN/ReLU/pw/BN/ReLU
    (separable) or conv/BN/ReLU (full), then the pooling; classifier.0 is the linear layer."""

    def __init__(self, alpha, classes=10, in_channels=1, conv="separable"):
        super().__init__()
        c = scaled(32, alpha)
        layers = [nn.Conv2d(in_channels, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        for out, stride in BLOCKS:
            o = scaled(out, alpha)
            if conv == "full":
                layers += [nn.Conv2d(c, o, 3, stride, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]
            else:
                layers += [nn.Conv2d(c, c, 3, stride, 1, groups=c, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                           nn.Conv2d(c, o, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]
            c = o
        layers.append(nn.AdaptiveAvgPool2d(1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Linear(c, classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


# ----------------------------------------------------------------------------- data

def load_images(data_dir, prefix, limit=None):
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte"), 0x803)
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte"), 0x801)
    return images, labels


def statistics_of(images):
    """sepnet's data::pixel_statistics: over every pixel of the split, rounded to 4 decimals."""
    x = images.astype(np.float64) / 255.0
    return round(float(x.mean()), 4), round(float(x.std()), 4)


def batch_tensor(images, mean, std, side):
    """uint8 [B, H, W] -> normalized float [B, 1, side, side], resized as sepnet does."""
    x = torch.from_numpy(images.astype(np.float32)).unsqueeze(1)
    if side != images.shape[-1]:
        x = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False)
    return (x / 255.0 - mean) / std


# ----------------------------------------------------------------------------- check

def check(args):
    tensors = read_safetensors(args.checkpoint)
    with open(args.checkpoint, "rb") as f:
        header_len = struct.unpack("<Q", f.read(8))[0]
        meta = json.loads(f.read(header_len)).get("__metadata__", {})
    model = MobileNetV1(float(meta["width"]), int(meta["num_classes"]), int(meta["in_channels"]),
                        meta.get("conv", "separable"))
    # sepnet keeps no num_batches_tracked; every other name must match (strict=False only for that).
    result = model.load_state_dict(tensors, strict=False)
    bad = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")] + list(result.unexpected_keys)
    if bad:
        sys.exit(f"{args.checkpoint}: state_dict names differ: {bad}")
    model.eval()
    images, _ = load_images(args.data, "t10k")
    x = batch_tensor(images, float(meta["input_mean"]), float(meta["input_std"]), int(meta["image_size"]))
    with torch.no_grad():
        torch_logits = model(x).numpy()
    sepnet_logits = np.load(args.logits)
    diff = float(np.abs(torch_logits - sepnet_logits).max())
    print(f"{len(tensors)} tensors loaded by name; logits of {x.shape[0]} images, max |sepnet - PyTorch| = {diff:.2e}")
    if diff > args.tolerance:
        sys.exit(f"logits differ by {diff} > {args.tolerance}")


# ----------------------------------------------------------------------------- training

def torch_train(args, seed, threads, train_images=None, epochs=None, evaluate=True, channels_last=False):
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    images, labels = load_images(args.data, "train")
    mean, std = statistics_of(images)
    n = train_images or args.train_images
    images, labels = images[:n], torch.from_numpy(labels[:n].astype(np.int64))
    epochs = epochs or args.epochs
    model = MobileNetV1(args.width, 10, 1, args.conv)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(seed)
    seen, seconds = 0, 0.0
    for epoch in range(1, epochs + 1):
        for g in opt.param_groups:
            g["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / epochs))
        model.train()
        order = rng.permutation(n)
        start = time.perf_counter()
        for b in range(0, n, args.batch):
            idx = order[b:b + args.batch]
            x = batch_tensor(images[idx], mean, std, args.image_size)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            opt.zero_grad()
            F.cross_entropy(model(x), labels[idx]).backward()
            opt.step()
        seconds += time.perf_counter() - start
        seen += n
    accuracy = None
    if evaluate:
        test_x, test_y = load_images(args.data, "t10k")
        model.eval()
        correct = 0
        with torch.no_grad():
            for b in range(0, len(test_y), 500):
                logits = model(batch_tensor(test_x[b:b + 500], mean, std, args.image_size))
                correct += int((logits.argmax(1).numpy() == test_y[b:b + 500]).sum())
        accuracy = 100.0 * correct / len(test_y)
    return accuracy, seen / seconds


def sepnet_train(args, seed, threads, train_images=None, epochs=None):
    with tempfile.TemporaryDirectory() as out:
        cmd = [args.binary, "train", "--model", "mobilenet", "--width", str(args.width), "--image-size",
               str(args.image_size), "--conv", args.conv, "--data", args.data, "--optimizer", "adam", "--loss", "ce",
               "--lr", str(args.lr), "--lr-schedule", "cosine", "--batch", str(args.batch), "--epochs",
               str(epochs or args.epochs), "--max-train", str(train_images or args.train_images), "--seed", str(seed),
               "--threads", str(threads), "--out", out, "--recipe", "standard"]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        with open(os.path.join(out, "metrics.jsonl")) as f:
            lines = [json.loads(line) for line in f]
    images = sum(r["train_images"] for r in lines)
    return lines[-1]["test_accuracy"], images / sum(r["train_seconds"] for r in lines)


def mean_std(xs):
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def accuracy(args):
    results = {"sepnet": [], "pytorch": []}
    for seed in args.seeds:
        for name, fn in (("sepnet", sepnet_train), ("pytorch", torch_train)):
            acc, ips = fn(args, seed, args.threads[0])
            results[name].append((acc, ips))
            print(f"seed {seed} {name}: test accuracy {acc:.2f}%  {ips:.0f} training images/s", flush=True)
    print(f"\nMobileNet α {args.width} {args.image_size} px {args.conv}, {args.epochs} epochs on {args.train_images} "
          f"images of {args.data}, {args.threads[0]} thread(s), seeds {args.seeds}:\n")
    print("| implementation | test accuracy % (mean ± std) | training images/s (median) |\n|---|---:|---:|")
    means = {}
    for name, rows in results.items():
        m, s = mean_std([a for a, _ in rows])
        means[name] = (m, s)
        print(f"| {name} | {m:.2f} ± {s:.2f} | {statistics.median([i for _, i in rows]):.0f} |")
    delta = abs(means["sepnet"][0] - means["pytorch"][0])
    spread = max(means["sepnet"][1], means["pytorch"][1])
    print(f"\n|Δmean| = {delta:.2f} points; largest seed std {spread:.2f}")


def speed(args):
    print(f"MobileNet α {args.width} {args.image_size} px training on {args.speed_images} images of {args.data}, "
          f"batch {args.batch}; median of {args.repeats} alternating repeats\n")
    print("| threads | sepnet images/s | PyTorch NCHW images/s | PyTorch channels_last images/s | sepnet / faster "
          "PyTorch |\n|---:|---:|---:|---:|---:|")
    for threads in args.threads:
        s, t, c = [], [], []
        for _ in range(args.repeats):
            s.append(sepnet_train(args, 1, threads, args.speed_images, 1)[1])
            t.append(torch_train(args, 1, threads, args.speed_images, 1, evaluate=False)[1])
            c.append(torch_train(args, 1, threads, args.speed_images, 1, evaluate=False, channels_last=True)[1])
        sm, tm, cm = statistics.median(s), statistics.median(t), statistics.median(c)
        print(f"| {threads} | {sm:.0f} | {tm:.0f} | {cm:.0f} | {sm / max(tm, cm):.2f}× |", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["check", "accuracy", "speed"])
    p.add_argument("--binary", default=os.path.join(ROOT, "build", "sepnet"))
    p.add_argument("--data", default=FASHION)
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--conv", choices=["separable", "full"], default="separable")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--train-images", type=int, default=5000)
    p.add_argument("--speed-images", type=int, default=2048)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--checkpoint")
    p.add_argument("--logits")
    p.add_argument("--tolerance", type=float, default=1e-4)
    args = p.parse_args()
    {"check": check, "accuracy": accuracy, "speed": speed}[args.mode](args)


if __name__ == "__main__":
    main()
