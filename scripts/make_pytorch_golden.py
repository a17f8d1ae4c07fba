#!/usr/bin/python3
"""Golden values from PyTorch for tests/test_pytorch_golden.cpp.

Writes tests/fixtures/pytorch/{cnn,dw,dwsep,mobilenet_v1}.safetensors: initial weights
(PyTorch's own default init, fixed seeds), fixed input batches and labels, and what PyTorch
1.13 computes from them: logits, losses, every parameter's gradient, and the weights and BN
running statistics after 3 optimizer steps of each sepnet recipe. The C++ test reads only
these files; it does not need PyTorch.

Run with Debian's interpreter (python3-torch 1.13), from anywhere:
    /usr/bin/python3 scripts/make_pytorch_golden.py [--out DIR]
The output is deterministic (one thread, float32, fixed seeds): rerunning rewrites the same
bytes (checked with sha256sum on this machine).

Models, written the obvious way with sepnet's state_dict names (sepnet/models/seed_models.cpp,
sepnet/models/mobilenet_v1.cpp):
  cnn, dw, dwsep   with BatchNorm ("bn/...") and without ("nobn/..."): 1x28x28 -> 10 classes
  mobilenet_v1     alpha 0.25, 3x32x32 input, 10 classes: one forward/backward in train mode

File layout (one file per architecture; every tensor F32, labels too):
  input/<s>, labels/<s>        s = 0, 1, 2: the batches of steps 1, 2, 3 (MNIST nets: 8, 8
                               and 5 images, the last a partial "tail" batch; synthetic
                               MNIST-like images normalized with (x - 0.1307) / 0.3081)
  <v>/init/<name>              state_dict at init (parameters and BN buffers; PyTorch's
                               num_batches_tracked is left out: sepnet has no such buffer)
  <v>/logits                   forward of input/0 at init, train mode
  <v>/<loss>/loss              loss on input/0 at init, loss = ce | softmax-ce
  <v>/<loss>/grad/<name>       its gradient for every parameter
  <v>/<recipe>/loss            [3] loss of each of the 3 steps, recipe = seed | standard
  <v>/<recipe>/step3/<name>    parameters and BN buffers after the 3 steps
                               (step s uses batch s: a new batch per step)
  A tensor equal in both variants (the fc_module init) is stored once, without "<v>/".
  MobileNet has one variant, "bn", with input/0 only, logits, ce loss and gradients, and
  "bn/after_forward/<buffer>": the running statistics after that one training forward.
Recipes (sepnet/train/recipe.cpp):
  seed:     SGD(lr 0.01, momentum 0.9), loss F.cross_entropy(F.softmax(logits, 1), y)
  standard: Adam(lr 1e-3),              loss F.cross_entropy(logits, y)
To keep the directory small, gradients and step-3 tensors with more than SAMPLE_CAP elements
are stored subsampled: flat elements 0, k, 2k, ... of the tensor, with k (a prime that does
not divide the last dimension, so every column is hit) in the metadata as "stride/<v>/<name>".
Initial weights, inputs and logits are always stored whole.
Metadata also holds "<v>/torch_f32_vs_f64/floor<f>": how far PyTorch's own float32 logits, loss
and gradients are from its float64 ones in the test's error metric, i.e. how well conditioned
the comparison is (the test's tolerances are chosen from these).
"""

import os

# OpenBLAS reads this only at load time: set it before importing torch.
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse
import copy
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SAMPLE_CAP = 1024
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
MNIST_BATCHES = (8, 8, 5)
RECIPES = {
    "seed": dict(optimizer="sgd", lr=0.01, momentum=0.9, loss="softmax-ce"),
    "standard": dict(optimizer="adam", lr=1e-3, loss="ce"),
}


# ----------------------------------------------------------------------------- models

class MnistNet(nn.Module):
    """The write-up's nets as sepnet builds them: BN after the ReLU; without BN the BN lines
    are deleted, so later conv_module indices shift."""

    def __init__(self, arch, bn):
        super().__init__()
        layers = []

        def relu_bn_pool(channels):
            layers.append(nn.ReLU())
            if bn:
                layers.append(nn.BatchNorm2d(channels))
            layers.append(nn.MaxPool2d(2))

        if arch == "cnn":
            layers.append(nn.Conv2d(1, 6, 5))
            relu_bn_pool(6)
            layers.append(nn.Conv2d(6, 16, 5))
            relu_bn_pool(16)
        else:
            layers += [nn.Conv2d(1, 1, 5), nn.Conv2d(1, 6, 1)]
            relu_bn_pool(6)
            layers += [nn.Conv2d(6, 6, 5, groups=6 if arch == "dwsep" else 1), nn.Conv2d(6, 16, 1)]
            relu_bn_pool(16)
        self.conv_module = nn.Sequential(*layers)
        self.fc_module = nn.Sequential(nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                                       nn.Linear(84, 10))

    def forward(self, x):
        return self.fc_module(torch.flatten(self.conv_module(x), 1))


class GlobalAvgPool(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


def scaled(channels, alpha):
    return max(8, int(math.floor(channels * alpha + 0.5)))  # std::lround for positive values


class MobileNetV1(nn.Module):
    BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
              (512, 1), (512, 1), (1024, 2), (1024, 1)]

    def __init__(self, alpha, num_classes, in_channels=3):
        super().__init__()
        c = scaled(32, alpha)
        layers = [nn.Conv2d(in_channels, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
        for out, stride in self.BLOCKS:
            o = scaled(out, alpha)
            layers += [nn.Conv2d(c, c, 3, stride, 1, groups=c, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                       nn.Conv2d(c, o, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]
            c = o
        layers.append(GlobalAvgPool())
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Linear(c, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def state(model):
    """state_dict without num_batches_tracked, as float32 numpy copies."""
    return {k: v.detach().numpy().astype(np.float32).copy()
            for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def loss_fn(kind, logits, y):
    if kind == "ce":
        return F.cross_entropy(logits, y)
    if kind == "softmax-ce":  # sepnet's "softmax-ce": cross-entropy applied to softmax(logits)
        return F.cross_entropy(F.softmax(logits, dim=1), y)
    raise ValueError(kind)


def forward_backward(model, x, y, kind):
    """Train-mode forward, loss and backward: logits, loss [1] and gradients as numpy."""
    model.train()
    model.zero_grad(set_to_none=True)
    logits = model(x)
    loss = loss_fn(kind, logits, y)
    loss.backward()
    return (logits.detach().numpy().astype(np.float32), loss.detach().numpy().astype(np.float32).reshape(1),
            {k: p.grad.numpy().astype(np.float32).copy() for k, p in model.named_parameters()})


def record_f32_error(meta, model, init, x, y, kind, f32):
    """How far PyTorch's own float32 result is from its float64 one, under the test's two
    metrics (tests/test_pytorch_golden.cpp): the worst |a - b| / (|b| + floor * scale) over
    logits and gradients, with floor 0.1 (MNIST nets) and 1 (MobileNet). Metadata only: it
    shows how well conditioned the comparison is, for choosing the test's tolerances."""
    m64 = copy.deepcopy(model).double()
    m64.load_state_dict({k: torch.from_numpy(a).double() for k, a in init.items()}, strict=False)
    logits, loss, grads = forward_backward(m64, x.double(), y, kind)
    # Gradients are measured against their module's scale (the largest of its weight and bias
    # gradients), as the test does.
    module_scale = {}
    for k, b in grads.items():
        m = k.rsplit(".", 1)[0]
        module_scale[m] = max(module_scale.get(m, 0.0), float(np.abs(b).max()))
    pairs = [(f32[0], logits, None), (f32[1], loss, None)] + [(f32[2][k], grads[k], k) for k in grads]
    for floor in (0.1, 1.0):
        worst = 0.0
        for a, b, k in pairs:
            a, b = a.astype(np.float64), b.astype(np.float64)
            scale = module_scale[k.rsplit(".", 1)[0]] if k else np.abs(b).max()
            worst = max(worst, float((np.abs(a - b) / (np.abs(b) + floor * scale + 1e-300)).max()))
        key = f"torch_f32_vs_f64/floor{floor:g}"
        meta[key] = f"{max(worst, float(meta.get(key, 0))):.3g}"


# ----------------------------------------------------------------------------- data

def mnist_like(n, generator):
    """Sparse 0..255 pixel images (about 80 % background), normalized as sepnet does."""
    pixels = torch.randint(0, 256, (n, 1, 28, 28), generator=generator).float()
    mask = torch.rand(n, 1, 28, 28, generator=generator) < 0.2
    x = pixels * mask / 255.0
    return ((x - MNIST_MEAN) / MNIST_STD).float().contiguous()


# ----------------------------------------------------------------------------- fixtures

def golden_mnist(arch):
    g = torch.Generator().manual_seed(1234)
    inputs = [mnist_like(n, g) for n in MNIST_BATCHES]
    labels = [torch.randint(0, 10, (n,), generator=g) for n in MNIST_BATCHES]
    tensors = {}
    for s, (x, y) in enumerate(zip(inputs, labels)):
        tensors[f"input/{s}"] = x.numpy()
        tensors[f"labels/{s}"] = y.numpy().astype(np.float32)

    variants = {}
    for bn in (True, False):
        v = "bn" if bn else "nobn"
        out = {}
        # BatchNorm2d draws nothing from the RNG, so both variants get the same conv and linear weights.
        torch.manual_seed(2024)
        model = MnistNet(arch, bn)
        init = state(model)
        for k, a in init.items():
            out[f"init/{k}"] = a
        meta = {}
        for kind in ("ce", "softmax-ce"):
            model.load_state_dict({k: torch.from_numpy(a) for k, a in init.items()}, strict=False)
            logits, loss, grads = forward_backward(model, inputs[0], labels[0], kind)
            out["logits"] = logits
            out[f"{kind}/loss"] = loss
            for k, gr in grads.items():
                out[f"{kind}/grad/{k}"] = gr
            record_f32_error(meta, model, init, inputs[0], labels[0], kind, (logits, loss, grads))
        for recipe, cfg in RECIPES.items():
            torch.manual_seed(2024)
            model = MnistNet(arch, bn)  # fresh: num_batches_tracked and all buffers at init
            model.load_state_dict({k: torch.from_numpy(a) for k, a in init.items()}, strict=False)
            model.train()
            if cfg["optimizer"] == "sgd":
                opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"])
            else:
                opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
            losses = []
            for x, y in zip(inputs, labels):
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(cfg["loss"], model(x), y)
                loss.backward()
                opt.step()
                losses.append(loss.item())
            out[f"{recipe}/loss"] = np.array(losses, dtype=np.float32)
            for k, a in state(model).items():
                out[f"{recipe}/step3/{k}"] = a
        variants[v] = (out, model, meta)
    return tensors, variants


def golden_mobilenet():
    alpha, classes, side, batch = 0.25, 10, 32, 4
    g = torch.Generator().manual_seed(99)
    x = torch.randn(batch, 3, side, side, generator=g)
    y = torch.randint(0, classes, (batch,), generator=g)
    torch.manual_seed(2025)
    model = MobileNetV1(alpha, classes)
    init = state(model)
    out = {f"init/{k}": a for k, a in init.items()}
    logits, loss, grads = forward_backward(model, x, y, "ce")
    out["logits"], out["ce/loss"] = logits, loss
    for k, gr in grads.items():
        out[f"ce/grad/{k}"] = gr
    for k, b in model.named_buffers():
        if not k.endswith("num_batches_tracked"):
            out[f"after_forward/{k}"] = b.numpy().copy()
    vmeta = {}
    record_f32_error(vmeta, model, init, x, y, "ce", (logits, loss, grads))
    tensors = {"input/0": x.numpy(), "labels/0": y.numpy().astype(np.float32)}
    meta = {"alpha": str(alpha), "image_size": str(side), "num_classes": str(classes)}
    return tensors, {"bn": (out, model, vmeta)}, meta


def is_prime(n):
    return n > 1 and all(n % d for d in range(2, int(n ** 0.5) + 1))


def sample_stride(shape):
    n = int(np.prod(shape))
    if n <= SAMPLE_CAP:
        return 1
    k = -(-n // SAMPLE_CAP)
    while not (is_prime(k) and shape[-1] % k != 0):
        k += 1
    return k


def assemble(tensors, variants, meta):
    """Adds the variants' tensors under "<v>/", stores once what both share, subsamples."""
    metadata = dict(meta)
    names = set()
    for v, (out, _, vmeta) in variants.items():
        names.update(out)
        metadata.update({f"{v}/{k}": val for k, val in vmeta.items()})
    for key in sorted(names):
        values = [out.get(key) for out, _, _ in variants.values()]
        shared = len(values) > 1 and all(v is not None and v.shape == values[0].shape and np.array_equal(v, values[0])
                                         for v in values)
        for v, (out, _, _) in variants.items():
            if key not in out:
                continue
            a = np.ascontiguousarray(out[key], dtype=np.float32)
            param = key.split("/", 2)[-1] if ("/grad/" in key or "/step3/" in key) else None
            if param is not None:
                k = sample_stride(a.shape)
                if k > 1:
                    metadata[f"stride/{v}/{param}"] = str(k)
                    a = a.reshape(-1)[::k].copy()
            tensors[key if shared else f"{v}/{key}"] = a
    return tensors, metadata


def write_safetensors(path, tensors, metadata):
    """8-byte LE header length, JSON header padded with spaces to a multiple of 8, raw F32 LE data."""
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        raw = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def check_against_torch_mnist(arch, bn, model):
    """scripts/torch_mnist.py (the PyTorch baseline) must build the same network."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torch_mnist
    ref = torch_mnist.Net(arch, bn)
    a = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    b = [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    if a != b:
        raise SystemExit(f"scripts/torch_mnist.py builds a different {arch} (bn={bn}): {b} vs {a}")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(root, "tests", "fixtures", "pytorch"))
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    base_meta = {"generator": "scripts/make_pytorch_golden.py", "torch": torch.__version__,
                 "sample_cap": str(SAMPLE_CAP)}
    for arch in ("cnn", "dw", "dwsep"):
        tensors, variants = golden_mnist(arch)
        for v, (_, model, _) in variants.items():
            check_against_torch_mnist(arch, v == "bn", model)
        meta = dict(base_meta, model=arch, batches=",".join(map(str, MNIST_BATCHES)))
        tensors, meta = assemble(tensors, variants, meta)
        path = os.path.join(args.out, f"{arch}.safetensors")
        write_safetensors(path, tensors, meta)
        print(f"{path}: {len(tensors)} tensors, {os.path.getsize(path)} bytes")
    tensors, variants, meta = golden_mobilenet()
    tensors, meta = assemble(tensors, variants, dict(base_meta, model="mobilenet_v1", **meta))
    path = os.path.join(args.out, "mobilenet_v1.safetensors")
    write_safetensors(path, tensors, meta)
    print(f"{path}: {len(tensors)} tensors, {os.path.getsize(path)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
