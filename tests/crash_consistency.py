#!/usr/bin/env python3
"""Crash consistency of a run directory: `sepnet train` is killed (SIGKILL, through the test hook
SEPNET_FAULT_AT) at every step of every epoch's save in turn. After each kill the directory must
show exactly a previous complete epoch E (model and optimizer tensors identical to an
uninterrupted run's epoch E, metrics.jsonl holding exactly epochs 1..E), and resuming it must end
bit-identical to the uninterrupted run, with every metrics line present once.
Usage: tests/crash_consistency.py SEPNET_BINARY SOURCE_DIR [--sample]
--sample (the sanitizer build, ten times slower per run) kills at the first point of each kind
only, and at the first, middle and last point before --overwrite publishes."""
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile

EPOCHS = 3
BASE = ["train", "--model", "cnn", "--recipe", "standard", "--threads", "1", "--batch", "32"]


def tensors(path):
    """{name: raw bytes} of a safetensors file (metadata ignored: it holds the run id)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    return {k: data[v["data_offsets"][0]:v["data_offsets"][1]] for k, v in header.items() if k != "__metadata__"}


def state(run):
    """(epoch, model tensors, optimizer tensors, metrics epochs) of what `run` shows, or None."""
    if not os.path.lexists(os.path.join(run, "latest")):
        for name in ("model.safetensors", "optimizer.safetensors", "metrics.jsonl"):
            assert not os.path.exists(os.path.join(run, name)), f"{run}/{name} readable with nothing published"
        return None
    with open(os.path.join(run, "metrics.jsonl")) as f:
        epochs = [json.loads(line)["epoch"] for line in f if line.strip()]
    return (len(epochs), tensors(os.path.join(run, "model.safetensors")),
            tensors(os.path.join(run, "optimizer.safetensors")), epochs)


def train(sepnet, data, out, epochs, extra=(), env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    cmd = [sepnet] + BASE + ["--data", data, "--out", out, "--epochs", str(epochs)] + list(extra)
    return subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=300)


def main():
    sepnet, src = sys.argv[1], sys.argv[2]
    sample = sys.argv[3:] == ["--sample"]
    tmp = tempfile.mkdtemp()
    failures = []
    tested = 0
    try:
        data = os.path.join(tmp, "data")
        subprocess.run([sys.executable, os.path.join(src, "tests", "make_idx.py"), data, "192", "64"], check=True)

        # Uninterrupted runs of 1..EPOCHS epochs: the states every kill must fall back to.
        reference = {}
        log = os.path.join(tmp, "points.log")
        for e in range(1, EPOCHS + 1):
            out = os.path.join(tmp, f"ref{e}")
            env = {"SEPNET_FAULT_LOG": log} if e == EPOCHS else None
            r = train(sepnet, data, out, e, env_extra=env)
            assert r.returncode == 0, r.stderr
            reference[e] = state(out)
            assert reference[e][3] == list(range(1, e + 1)), reference[e][3]
        with open(log) as f:
            points = [line.split(" ", 1)[1].strip() for line in f]
        print(f"{len(points)} fault points in a {EPOCHS}-epoch run: {sorted(set(points))}")

        killed = list(range(1, len(points) + 1))
        if sample:
            killed = [k for k in killed if points.index(points[k - 1]) == k - 1]
        for k in killed:
            out = os.path.join(tmp, f"kill{k}")
            r = train(sepnet, data, out, EPOCHS, env_extra={"SEPNET_FAULT_AT": str(k)})
            where = f"killed at point {k} ({points[k - 1]})"
            if r.returncode != -signal.SIGKILL:
                failures.append(f"{where}: exit {r.returncode}, expected SIGKILL; {r.stderr[-300:]}")
                continue
            seen = state(out)
            if seen is not None:
                epoch = seen[0]
                if seen[3] != list(range(1, epoch + 1)) or seen[1:3] != reference[epoch][1:3]:
                    failures.append(f"{where}: the directory shows a state that is not a complete epoch {epoch}")
                    continue
            # Continue: resume what is there (or start again if nothing was published).
            extra = ["--resume", out] if seen is not None else []
            if seen is not None and seen[0] == EPOCHS:
                final = seen
            else:
                r = train(sepnet, data, out, EPOCHS, extra=extra)
                if r.returncode != 0:
                    failures.append(f"{where}: resuming failed: {r.stderr[-300:]}")
                    continue
                final = state(out)
            if final[3] != list(range(1, EPOCHS + 1)) or final[1:3] != reference[EPOCHS][1:3]:
                failures.append(f"{where}: resumed run differs from the uninterrupted one (metrics epochs {final[3]})")
                continue
            leftovers = [n for n in os.listdir(out) if n.startswith(".staging-") or ".tmp" in n]
            if leftovers:
                failures.append(f"{where}: leftovers after the resumed run finished: {leftovers}")
            print(f"ok: {where}: showed epoch {seen[0] if seen else 0}, resumed to {EPOCHS} identically")

        # --overwrite into a directory holding another run (seed 7): until the new run publishes
        # its first epoch, the old run stays complete and visible.
        old = os.path.join(tmp, "old")
        assert train(sepnet, data, old, 1, extra=["--seed", "7"]).returncode == 0
        old_state = state(old)
        first_save = points.index("latest replaced") + 1
        overwrite_kills = range(1, first_save + 1)
        if sample:
            overwrite_kills = sorted({1, first_save // 2, first_save})
        for k in overwrite_kills:
            out = os.path.join(tmp, f"over{k}")
            shutil.copytree(old, out, symlinks=True)
            r = train(sepnet, data, out, EPOCHS, extra=["--overwrite"], env_extra={"SEPNET_FAULT_AT": str(k)})
            seen = state(out)
            expected = reference[1] if k >= first_save else old_state
            if r.returncode != -signal.SIGKILL or seen is None or seen[1:] != expected[1:]:
                failures.append(f"--overwrite killed at point {k}: shows neither the old run nor a complete new epoch")
            else:
                print(f"ok: --overwrite killed at point {k}: shows the {'new' if k >= first_save else 'old'} run")
        tested = len(killed) + len(overwrite_kills)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print("FAIL:", f)
    print(f"crash_consistency: {tested - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
