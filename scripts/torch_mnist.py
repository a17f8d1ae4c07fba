#!/usr/bin/python3
"""PyTorch reference for sepnet's MNIST experiments: speed baseline and cross-checks.

Trains the LeNet-style CNN and its "depthwise" variants from the blog write-up
that sepnet reproduces, reads the raw MNIST IDX files with numpy (no
torchvision), and can evaluate a safetensors checkpoint written by sepnet.

Run with Debian's interpreter, which has python3-torch 1.13:
    /usr/bin/python3 scripts/torch_mnist.py --model cnn --recipe seed --data data/mnist
"""

import os

# Debian's torch links OpenBLAS, whose own thread pool competes with torch's
# intra-op threads (measured ~3x slower on 2 cores). It reads this variable
# only at library load, so it must be set before `import torch`.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import gzip
import json
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

# momentum is used only when the optimizer is SGD (also via --optimizer sgd).
RECIPES = {
    # The write-up's tutorial: the model returns F.softmax(out) and
    # CrossEntropyLoss is applied on top of it (a bug we reproduce on purpose).
    "seed": dict(optimizer="sgd", lr=0.01, momentum=0.9, batch=64, epochs=5, softmax_before_loss=True),
    "standard": dict(optimizer="adam", lr=1e-3, momentum=0.9, batch=64, epochs=5, softmax_before_loss=False),
}


# ----------------------------------------------------------------------------- models

def conv_layers(model, bn):
    """The conv_module layers; with bn=False the BatchNorms are dropped, so the
    Sequential indices shift exactly as PyTorch would number them."""
    def block(convs, channels):
        layers = list(convs) + [nn.ReLU()]
        if bn:
            layers.append(nn.BatchNorm2d(channels))
        layers.append(nn.MaxPool2d(2))
        return layers

    if model == "cnn":
        return block([nn.Conv2d(1, 6, 5)], 6) + block([nn.Conv2d(6, 16, 5)], 16)
    if model == "dw":
        return (block([nn.Conv2d(1, 1, 5), nn.Conv2d(1, 6, 1)], 6)
                + block([nn.Conv2d(6, 6, 5), nn.Conv2d(6, 16, 1)], 16))
    if model == "dwsep":
        return (block([nn.Conv2d(1, 1, 5), nn.Conv2d(1, 6, 1)], 6)
                + block([nn.Conv2d(6, 6, 5, groups=6), nn.Conv2d(6, 16, 1)], 16))
    raise ValueError(f"unknown model {model!r}")


class Net(nn.Module):
    """Returns logits; the seed recipe's softmax is applied in the loss, so
    dumped logits are comparable across recipes."""

    def __init__(self, model, bn):
        super().__init__()
        self.conv_module = nn.Sequential(*conv_layers(model, bn))
        self.fc_module = nn.Sequential(
            nn.Linear(16 * 4 * 4, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10))

    def forward(self, x):
        out = self.conv_module(x)
        return self.fc_module(torch.flatten(out, 1))


# ----------------------------------------------------------------------------- data

def open_maybe_gz(path):
    if os.path.exists(path):
        return open(path, "rb")
    if os.path.exists(path + ".gz"):
        return gzip.open(path + ".gz", "rb")
    raise FileNotFoundError(f"{path} (or {path}.gz) not found")


def read_idx(path, expected_magic):
    with open_maybe_gz(path) as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    if magic != expected_magic:
        raise ValueError(f"{path}: magic {magic:#x}, expected {expected_magic:#x}")
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {arr.size} bytes of data for dims {dims}")
    return arr.reshape(dims)


def load_split(data_dir, prefix, limit=None):
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte"), 0x803)
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte"), 0x801)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    x = ((x - MNIST_MEAN) / MNIST_STD).unsqueeze(1).contiguous()  # [N,1,28,28]
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


# ----------------------------------------------------------------------------- safetensors

SAFETENSORS_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16,
                      "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def read_safetensors(path):
    """Minimal parser: 8-byte LE header length, JSON header, raw little-endian data."""
    with open(path, "rb") as f:
        blob = f.read()
    (header_len,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = blob[base + begin:base + end]
        shape = tuple(info["shape"])
        dtype = info["dtype"]
        if dtype == "BF16":  # bf16 is the upper half of an f32
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif dtype in SAFETENSORS_DTYPES:
            arr = np.frombuffer(raw, dtype=np.dtype(SAFETENSORS_DTYPES[dtype]).newbyteorder("<"))
        else:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {dtype}")
        if arr.size != int(np.prod(shape)):
            raise ValueError(f"{path}: tensor {name}: {arr.size} elements for shape {shape}")
        tensors[name] = torch.from_numpy(arr.reshape(shape).copy())
    return tensors


def load_safetensors_into(model, path):
    tensors = read_safetensors(path)
    state = model.state_dict()
    missing = [k for k in state if k not in tensors and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in tensors if k not in state]
    if missing or unexpected:
        raise SystemExit(f"{path}: keys do not match --model/--no-bn; missing {missing}, unexpected {unexpected}")
    for k, t in tensors.items():
        if tuple(t.shape) != tuple(state[k].shape):
            raise SystemExit(f"{path}: {k} has shape {tuple(t.shape)}, model expects {tuple(state[k].shape)}")
        state[k] = t.to(state[k].dtype)
    model.load_state_dict(state)
    print(f"loaded {len(tensors)} tensors from {path}")


# ----------------------------------------------------------------------------- train / eval

@torch.no_grad()
def evaluate(model, x, y, batch=1000):
    model.eval()
    logits = torch.cat([model(x[i:i + batch]) for i in range(0, x.shape[0], batch)])
    accuracy = 100.0 * (logits.argmax(1) == y).sum().item() / y.shape[0]
    return accuracy, logits


def train_epoch(model, optimizer, x, y, batch, softmax_before_loss, generator):
    model.train()
    n = x.shape[0]
    order = torch.randperm(n, generator=generator)
    loss_sum = torch.zeros(())
    start = time.perf_counter()
    for i in range(0, n, batch):
        idx = order[i:i + batch]
        xb, yb = x[idx], y[idx]
        out = model(xb)
        if softmax_before_loss:
            out = F.softmax(out, dim=1)
        loss = F.cross_entropy(out, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach() * yb.shape[0]
    seconds = time.perf_counter() - start
    return loss_sum.item() / n, seconds


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["cnn", "dw", "dwsep"], default="cnn")
    p.add_argument("--no-bn", action="store_true", help="drop the BatchNorm2d layers")
    p.add_argument("--recipe", choices=sorted(RECIPES), default="seed")
    p.add_argument("--epochs", type=int, help="override the recipe")
    p.add_argument("--batch", type=int, help="override the recipe")
    p.add_argument("--lr", type=float, help="override the recipe")
    p.add_argument("--optimizer", choices=["sgd", "adam"], help="override the recipe")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--data", default="data/mnist", help="directory with the raw IDX files")
    p.add_argument("--max-train-images", type=int, help="train on the first N images only")
    p.add_argument("--json-out", help="write one JSON line per epoch")
    p.add_argument("--dump-logits", help="save test logits (float32 [N,10]) to this .npy")
    p.add_argument("--load-safetensors", help="evaluate weights from a sepnet safetensors file, no training")
    p.add_argument("--bench", action="store_true", help="time training only (no test eval), report images/s")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = dict(RECIPES[args.recipe])
    for key in ("epochs", "batch", "lr", "optimizer"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)

    torch.set_num_threads(args.threads)
    if os.environ["OPENBLAS_NUM_THREADS"] != "1":
        print("warning: OPENBLAS_NUM_THREADS is not 1; OpenBLAS threads will compete with torch's", file=sys.stderr)
    torch.manual_seed(args.seed)
    print(f"torch {torch.__version__}  threads={torch.get_num_threads()}  "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    print(f"config: model={args.model} bn={not args.no_bn} recipe={args.recipe} optimizer={cfg['optimizer']} "
          f"lr={cfg['lr']}{' momentum=%g' % cfg['momentum'] if cfg['optimizer'] == 'sgd' else ''} batch={cfg['batch']} epochs={cfg['epochs']} "
          f"softmax_before_loss={cfg['softmax_before_loss']} seed={args.seed} data={args.data} "
          f"max_train_images={args.max_train_images}")

    model = Net(args.model, bn=not args.no_bn)
    x_test, y_test = (None, None) if args.bench else load_split(args.data, "t10k")

    if args.load_safetensors:
        load_safetensors_into(model, args.load_safetensors)
        accuracy, logits = evaluate(model, x_test, y_test)
        print(f"test_accuracy={accuracy:.2f}%")
        if args.dump_logits:
            np.save(args.dump_logits, logits.numpy().astype(np.float32))
        return 0

    x_train, y_train = load_split(args.data, "train", args.max_train_images)
    print(f"train images={x_train.shape[0]}" + ("" if args.bench else f"  test images={x_test.shape[0]}"))

    if cfg["optimizer"] == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"])
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    generator = torch.Generator().manual_seed(args.seed)

    json_file = open(args.json_out, "w") if args.json_out else None
    rates = []
    logits = None
    for epoch in range(1, cfg["epochs"] + 1):
        loss, seconds = train_epoch(model, optimizer, x_train, y_train, cfg["batch"],
                                    cfg["softmax_before_loss"], generator)
        rate = x_train.shape[0] / seconds
        rates.append(rate)
        record = dict(epoch=epoch, train_loss=loss, test_accuracy=None,
                      train_seconds=seconds, images_per_second=rate)
        line = f"epoch {epoch}/{cfg['epochs']}  train_loss={loss:.4f}  train {seconds:.2f}s  {rate:.0f} img/s"
        if not args.bench:
            accuracy, logits = evaluate(model, x_test, y_test)
            record["test_accuracy"] = accuracy
            line += f"  test_accuracy={accuracy:.2f}%"
        print(line, flush=True)
        if json_file:
            json_file.write(json.dumps(record) + "\n")
            json_file.flush()
    if json_file:
        json_file.close()

    if args.bench:
        print(f"bench: images/s per epoch {[round(r) for r in rates]}  median {statistics.median(rates):.0f}")
    if args.dump_logits:
        if logits is None:
            _, logits = evaluate(model, *load_split(args.data, "t10k"))
        np.save(args.dump_logits, logits.numpy().astype(np.float32))
    return 0


if __name__ == "__main__":
    sys.exit(main())
