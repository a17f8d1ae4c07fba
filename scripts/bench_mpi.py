#!/usr/bin/env python3
"""Data-parallel scaling of `sepnet train` under MPI, measured in one run.

For each model, trains one epoch on the first --images MNIST images (training time only, from
rank 0's metrics.jsonl) as 1 rank x 1 thread, N ranks x 1 thread and 1 rank x N threads,
alternating the configurations --repeats times, and prints the median images/s of each and the
scaling efficiency (N-rank images/s) / (N x 1-rank images/s). Also prints the share of a step
spent summing gradients (the profiler's "allreduce" row at N ranks).

    python3 scripts/bench_mpi.py --ranks 2 --repeats 3
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = {"cnn": ["--model", "cnn"], "dwsep": ["--model", "dwsep"],
          "mobilenet a0.25": ["--model", "mobilenet", "--width", "0.25"]}


def mpirun(ranks):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    flags = ["mpirun", "-np", str(ranks)]
    if "Open MPI" in subprocess.run(["mpirun", "--version"], capture_output=True, text=True).stdout:
        if ranks <= os.cpu_count():
            # One core per rank, and busy-polling while waiting for the others: Open MPI yields
            # the core when it thinks it is oversubscribed, which costs a scheduler round per sum.
            flags += ["--bind-to", "core", "--mca", "mpi_yield_when_idle", "0"]
        else:
            flags += ["--oversubscribe", "--bind-to", "none"]
    return flags, env


def train_ips(binary, args, ranks, threads, images, batch, data, profile=False):
    with tempfile.TemporaryDirectory() as out:
        cmd = [binary, "train", *args, "--recipe", "standard", "--epochs", "1", "--max-train", str(images),
               "--batch", str(batch), "--threads", str(threads), "--data", data, "--out", out]
        if profile:
            cmd.append("--profile")
        env = None
        if ranks > 1:
            launcher, env = mpirun(ranks)
            cmd = launcher + cmd
        run = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
        with open(os.path.join(out, "metrics.jsonl")) as f:
            ips = json.loads(f.readline())["images_per_second"]
        return ips, run.stdout


def allreduce_share(profile_text):
    """Percentage of step time in the 'allreduce' row of the --profile table, or None."""
    for line in profile_text.splitlines():
        if "allreduce" in line:
            cells = [c.strip() for c in line.split("|")]
            for c in cells:
                m = re.fullmatch(r"([0-9.]+) ?%", c)
                if m:
                    return float(m.group(1))
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=os.path.join(ROOT, "build", "sepnet"))
    p.add_argument("--data", default=os.path.join(ROOT, "data", "mnist"))
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--images", type=int, default=12800)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    n = a.ranks
    print(f"| model | 1 rank x 1 thread | {n} ranks x 1 thread | 1 rank x {n} threads | "
          f"scaling efficiency | allreduce share of a step at {n} ranks |")
    print("|---|---|---|---|---|---|")
    for name, args in MODELS.items():
        runs = {"r1": [], "rn": [], "tn": []}
        for _ in range(a.repeats):
            runs["r1"].append(train_ips(a.binary, args, 1, 1, a.images, a.batch, a.data)[0])
            runs["rn"].append(train_ips(a.binary, args, n, 1, a.images, a.batch, a.data)[0])
            runs["tn"].append(train_ips(a.binary, args, 1, n, a.images, a.batch, a.data)[0])
        med = {k: statistics.median(v) for k, v in runs.items()}
        share = allreduce_share(train_ips(a.binary, args, n, 1, a.images, a.batch, a.data, profile=True)[1])
        print(f"| {name} | {med['r1']:.0f} | {med['rn']:.0f} | {med['tn']:.0f} | "
              f"{100 * med['rn'] / (n * med['r1']):.0f} % | {'-' if share is None else f'{share:.1f} %'} |")


if __name__ == "__main__":
    main()
