#!/usr/bin/python3
"""MobileNet v1 inference: sepnet's graph executor, sepnet's autograd eval path and PyTorch, same run.

For MobileNet v1 α 1 at 224² (batch 1) and α 0.25 at 128² (batch 32), at each thread count,
alternates --repeats times: `sepnet throughput --mode infer --engine graph` (the inference-graph
executor, docs/inference.md), `sepnet throughput --mode infer` (the autograd model's eval forward
under NoGradGuard), and PyTorch 1.13 in eval mode under torch.no_grad() in three forms: NCHW,
channels_last, and channels_last traced + torch.jit.freeze (which folds BatchNorm into the
convs). Each measurement is the median batch time over --seconds after 3 warm-up batches; the
table gives medians over the repeats and the executor's ratio to the old path and to the
fastest PyTorch form. The network is the one in scripts/bench_mobilenet.py.

    /usr/bin/python3 scripts/bench_inference.py --threads 1 2 --repeats 3
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before torch loads OpenBLAS

import argparse
import json
import math
import statistics
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_mobilenet import MobileNetV1  # noqa: E402  (the same network, PyTorch's modules)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = [(1.0, 1.0, 1), (0.25, 0.5714, 32)]  # (α, ρ, batch)


def torch_ips(alpha, rho, batch, threads, seconds, form):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    side = int(math.floor(224 * rho + 0.5))
    net = MobileNetV1(alpha).eval()
    x = torch.randn(batch, 3, side, side)
    if form != "nchw":
        net = net.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    with torch.no_grad():
        if form == "jit":
            net = torch.jit.freeze(torch.jit.trace(net, x))
        for _ in range(3):
            net(x)
        times = []
        start = time.perf_counter()
        while time.perf_counter() - start < seconds or len(times) < 3:
            t = time.perf_counter()
            net(x)
            times.append(time.perf_counter() - t)
    return batch / statistics.median(times)


def sepnet_ips(binary, alpha, rho, batch, threads, seconds, engine):
    out = subprocess.run([binary, "throughput", "--model", "mobilenet", "--width", str(alpha), "--resolution",
                          str(rho), "--batch", str(batch), "--mode", "infer", "--engine", engine, "--threads",
                          str(threads), "--seconds", str(seconds), "--json"], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)["images_per_second"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--binary", default=os.path.join(ROOT, "build", "sepnet"))
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seconds", type=float, default=2.0)
    args = p.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"MobileNet v1 inference (images/s), median of {args.repeats} alternating runs of {args.seconds:g} s each; "
          f"{cpu}; PyTorch {torch.__version__}; load average at start {os.getloadavg()[0]:.2f}\n")
    print("| α | input | batch | threads | graph executor | autograd eval | PyTorch NCHW | PyTorch channels_last "
          "| PyTorch jit.freeze | executor / autograd | executor / best PyTorch |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for alpha, rho, batch in CONFIGS:
        for threads in args.threads:
            runs = {k: [] for k in ("graph", "autograd", "nchw", "cl", "jit")}
            for _ in range(args.repeats):
                runs["graph"].append(sepnet_ips(args.binary, alpha, rho, batch, threads, args.seconds, "graph"))
                runs["nchw"].append(torch_ips(alpha, rho, batch, threads, args.seconds, "nchw"))
                runs["autograd"].append(sepnet_ips(args.binary, alpha, rho, batch, threads, args.seconds, "autograd"))
                runs["cl"].append(torch_ips(alpha, rho, batch, threads, args.seconds, "cl"))
                runs["jit"].append(torch_ips(alpha, rho, batch, threads, args.seconds, "jit"))
            m = {k: statistics.median(v) for k, v in runs.items()}
            best = max(m["nchw"], m["cl"], m["jit"])
            side = int(math.floor(224 * rho + 0.5))
            print(f"| {alpha:g} | {side} | {batch} | {threads} | {m['graph']:.1f} | {m['autograd']:.1f} | {m['nchw']:.1f} | "
                  f"{m['cl']:.1f} | {m['jit']:.1f} | {m['graph'] / m['autograd']:.2f}× | {m['graph'] / best:.2f}× |",
                  flush=True)


if __name__ == "__main__":
    main()
