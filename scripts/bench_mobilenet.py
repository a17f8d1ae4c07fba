#!/usr/bin/python3
"""MobileNet v1 speed, sepnet against PyTorch, measured in the same run.

For each (width α, resolution ρ, batch, mode) and thread count, times the same network —
MobileNet v1 as in sepnet/models/mobilenet_v1.cpp (3×3/2 conv, 13 depthwise-separable blocks with BN
and ReLU, global average pool, 1000-way linear), channels max(8, round(c·α)), input
round(224·ρ) — in `sepnet throughput` and in PyTorch 1.13 (Debian's python3-torch,
OPENBLAS_NUM_THREADS=1), alternating the two --repeats times on random inputs. Each measurement
is the median batch time over --seconds after 3 warm-up batches; the table gives the median
over repeats and the ratio. Inference = eval mode without autograd; train = forward,
cross-entropy, backward and an SGD (momentum 0.9) step.

Layouts: sepnet runs MobileNet channels-last (NHWC) by default; its NCHW run is shown beside it.
PyTorch is timed in both memory formats (contiguous NCHW and torch.channels_last, which its
oneDNN convolutions prefer and which is faster here), and the ratio is against the FASTER of the
two, so a default-format PyTorch does not flatter sepnet.

    /usr/bin/python3 scripts/bench_mobilenet.py --threads 1 2 --repeats 3
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before torch loads OpenBLAS (see torch_mnist.py)

import argparse
import json
import math
import statistics
import subprocess
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (α, ρ, batch, mode): the paper's full model at batch 1, and smaller multipliers at larger batches.
CONFIGS = [
    (1.0, 1.0, 1, "infer"),
    (0.5, 0.5714, 8, "infer"),
    (0.25, 0.5714, 32, "infer"),
    (0.5, 0.5714, 8, "train"),
    (0.25, 0.5714, 32, "train"),
]


def scaled(c, alpha):
    return max(8, int(math.floor(c * alpha + 0.5)))  # C's lround for positive values


class MobileNetV1(nn.Module):
    BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
              (512, 1), (512, 1), (1024, 2), (1024, 1)]

    def __init__(self, alpha, classes=1000):
        super().__init__()
        c = scaled(32, alpha)
        layers = [nn.Conv2d(3, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
        for out, stride in self.BLOCKS:
            o = scaled(out, alpha)
            layers += [nn.Conv2d(c, c, 3, stride, 1, groups=c, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                       nn.Conv2d(c, o, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]
            c = o
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, classes)

    def forward(self, x):
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


def torch_ips(alpha, rho, batch, mode, threads, seconds, channels_last):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    side = int(math.floor(224 * rho + 0.5))
    net = MobileNetV1(alpha)
    x = torch.randn(batch, 3, side, side)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    y = torch.randint(0, 1000, (batch,))
    if mode == "train":
        net.train()
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

        def step():
            opt.zero_grad()
            F.cross_entropy(net(x), y).backward()
            opt.step()
    else:
        net.eval()

        def step():
            with torch.no_grad():
                net(x)
    for _ in range(3):
        step()
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 3:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return batch / statistics.median(times)


def sepnet_ips(binary, alpha, rho, batch, mode, threads, seconds, layout):
    out = subprocess.run([binary, "throughput", "--model", "mobilenet", "--width", str(alpha), "--resolution",
                          str(rho), "--batch", str(batch), "--mode", mode, "--threads", str(threads), "--seconds",
                          str(seconds), "--layout", layout, "--json"], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)["images_per_second"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--binary", default=os.path.join(ROOT, "build", "sepnet"))
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seconds", type=float, default=2.0)
    args = p.parse_args()
    load = os.getloadavg()[0]
    print(f"MobileNet v1 throughput (images/s), median of {args.repeats} alternating runs of "
          f"{args.seconds:g} s each; PyTorch {torch.__version__}; load average at start {load:.2f}\n")
    print("| α | input | batch | mode | threads | sepnet NHWC img/s | sepnet NCHW img/s | PyTorch NCHW img/s "
          "| PyTorch channels_last img/s | sepnet / faster PyTorch |")
    print("|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for alpha, rho, batch, mode in CONFIGS:
        for threads in args.threads:
            runs = {k: [] for k in ("nhwc", "nchw", "torch", "torch_cl")}
            for _ in range(args.repeats):
                runs["nhwc"].append(sepnet_ips(args.binary, alpha, rho, batch, mode, threads, args.seconds, "nhwc"))
                runs["torch"].append(torch_ips(alpha, rho, batch, mode, threads, args.seconds, False))
                runs["nchw"].append(sepnet_ips(args.binary, alpha, rho, batch, mode, threads, args.seconds, "nchw"))
                runs["torch_cl"].append(torch_ips(alpha, rho, batch, mode, threads, args.seconds, True))
            m = {k: statistics.median(v) for k, v in runs.items()}
            best = max(m["torch"], m["torch_cl"])
            side = int(math.floor(224 * rho + 0.5))
            print(f"| {alpha:g} | {side} | {batch} | {mode} | {threads} | {m['nhwc']:.1f} | {m['nchw']:.1f} | "
                  f"{m['torch']:.1f} | {m['torch_cl']:.1f} | {m['nhwc'] / best:.2f}× |", flush=True)


if __name__ == "__main__":
    main()
