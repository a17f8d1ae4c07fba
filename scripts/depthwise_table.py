#!/usr/bin/env python3
"""Runs bench_depthwise once (every implementation, 1 and 2 threads, randomly interleaved
repetitions) and prints the Markdown tables of docs/depthwise.md: sepnet in the layout its models
use beside oneDNN and XNNPACK measured in the same run, the ratio to the faster library, % of the
memory roofline, the read-once-write-once floor of the buffers, sepnet's other layout and both
backward passes, then the channel-pitch rows and the 7×7×1024 output-offset rows.

    python3 scripts/depthwise_table.py [--bench build/bench/bench_depthwise] [--repetitions 9]
"""
import argparse
import json
import re
import subprocess
import sys

NAME = re.compile(r"^(dwconv(?:_bwd_input|_bwd_weight|_floor|_offset)?)/([a-z_]+)/(\d+x\d+x\d+x\d+)/(k\d+s\d+)"
                  r"(?:/out_offset:(\d+))?/threads:(\d+)/real_time$")


def run(bench, repetitions, min_time):
    """The benchmark's JSON report."""
    cmd = [bench,
           "--benchmark_filter=^(dwconv/(sepnet|sepnet_nchw|sepnet_nhwc|onednn|xnnpack)|"
           "dwconv_bwd_input/sepnet|dwconv_bwd_weight/sepnet|dwconv_floor/stream|dwconv_offset/sepnet)/",
           f"--benchmark_repetitions={repetitions}", "--benchmark_enable_random_interleaving=true",
           "--benchmark_report_aggregates_only=true", f"--benchmark_min_time={min_time}",
           "--benchmark_format=json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default="build/bench/bench_depthwise")
    ap.add_argument("--repetitions", type=int, default=9)
    ap.add_argument("--min-time", type=float, default=0.1)
    a = ap.parse_args()
    data = run(a.bench, a.repetitions, a.min_time)
    repetitions = a.repetitions
    # (pass, impl, shape, kernel, threads) -> (µs, % roofline)
    t = {}
    offsets = {}  # (shape, kernel, threads) -> [(offset bytes, µs)]
    for b in data["benchmarks"]:
        b.setdefault("run_name", b["name"])
        single = repetitions == 1 and b.get("run_type") == "iteration"
        if b.get("aggregate_name") != "median" and not single:
            continue
        m = NAME.match(b["run_name"])
        if m:
            p, impl, shape, k, off, th = m.groups()
            if off is not None:
                offsets.setdefault((shape, k, int(th)), []).append((int(off), b["real_time"]))
                continue
            t[(p, impl, shape, k, int(th))] = (b["real_time"], b.get("pct_roofline", float("nan")))
    shapes = []
    for (p, impl, shape, k, th) in t:
        if (shape, k) not in shapes:
            shapes.append((shape, k))
    # MobileNet (batch 1) from the largest plane down, then the batch-64 MNIST shapes.
    def key(sk):
        n, c, h, w = (int(v) for v in sk[0].split("x"))
        return (n, -h, sk[1], c)
    order = sorted(shapes, key=key)
    print(f"bench_depthwise, {a.repetitions} interleaved repetitions, medians (µs); "
          f"host {data['context'].get('host_name')}, {data['context'].get('date')}\n")
    for th in (1, 2):
        print(f"**{th} thread(s)**\n")
        print("| shape | sepnet layout | sepnet µs | oneDNN µs | XNNPACK µs | sepnet / best "
              "| sepnet % roofline | floor µs | other layout µs | bwd-input µs | bwd-weight µs |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        pitch = []
        for shape, k in order:
            main = t.get(("dwconv", "sepnet", shape, k, th))
            if not main:
                continue
            onednn = t.get(("dwconv", "onednn", shape, k, th))
            xnn = t.get(("dwconv", "xnnpack", shape, k, th))
            if not onednn and not xnn:
                pitch.append((shape, k, main))
                continue
            other = t.get(("dwconv", "sepnet_nchw", shape, k, th)) or t.get(("dwconv", "sepnet_nhwc", shape, k, th))
            layout = "NHWC" if ("dwconv", "sepnet_nchw", shape, k, th) in t else "NCHW"
            best = min(x[0] for x in (onednn, xnn) if x)
            cell = lambda x: f"{x[0]:.1f}" if x else "-"
            print(f"| {shape} {k} | {layout} | {main[0]:.1f} | {cell(onednn)} | {cell(xnn)} | "
                  f"{best / main[0]:.2f}× | {main[1]:.0f} % | "
                  f"{cell(t.get(('dwconv_floor', 'stream', shape, k, th)))} | {cell(other)} | "
                  f"{cell(t.get(('dwconv_bwd_input', 'sepnet', shape, k, th)))} | "
                  f"{cell(t.get(('dwconv_bwd_weight', 'sepnet', shape, k, th)))} |")
        if pitch:
            print("\nChannel-pitch rows (sepnet NHWC forward only; per channel against the "
                  "power-of-two shape of the same plane):\n")
            print("| shape | sepnet µs | µs per 1000 channels |")
            print("|---|---:|---:|")
            for shape, k, main in pitch:
                c = int(shape.split("x")[1])
                print(f"| {shape} {k} | {main[0]:.1f} | {main[0] * 1000 / c:.2f} |")
            for shape, k in order:
                main = t.get(("dwconv", "sepnet", shape, k, th))
                c = int(shape.split("x")[1])
                if main and c in (256, 512, 1024):
                    print(f"| {shape} {k} (MobileNet) | {main[0]:.1f} | {main[0] * 1000 / c:.2f} |")
        for (shape, k, oth), rows in sorted(offsets.items()):
            if oth != th:
                continue
            print(f"\n{shape} {k}, sepnet NHWC forward with the output buffer's page offset this many bytes "
                  "past the input's:\n")
            print("| output offset (bytes) | sepnet µs |")
            print("|---:|---:|")
            for off, us in sorted(rows):
                print(f"| {off} | {us:.1f} |")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
