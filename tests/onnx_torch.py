#!/usr/bin/python3
"""Models exported by PyTorch (torch.onnx.export, opset 13, dynamic batch) run by `sepnet run`
give PyTorch's logits to within 1e-4 (max |diff|).

Models: the write-up's MNIST nets cnn, dw and dwsep as it writes them (BatchNorm after the
ReLU, then x.view(x.size(0), -1) before the classifier, which PyTorch exports as
Shape/Gather/Unsqueeze/Concat/Reshape), and a MobileNet v1 (alpha 0.25, 32x32) written in
PyTorch with 3 input channels (ReLU) and with 1 (ReLU6, exported as Clip). BatchNorm running
statistics are random so that folding them matters. Exported with a batch of 2, run on 5.

Usage: tests/onnx_torch.py SEPNET_BINARY WORK_DIR      (exit 77 when PyTorch is not installed)
"""
import os
import subprocess
import sys

os.environ["OPENBLAS_NUM_THREADS"] = "1"  # read when OpenBLAS loads: before importing torch

try:
    import numpy as np
    import torch
    import torch.nn as nn
except ImportError as e:
    print(f"SKIP: PyTorch is not installed ({e}); Debian package python3-torch")
    sys.exit(77)

TOLERANCE = 1e-4


class WriteUpNet(nn.Module):
    """The write-up's conv_module (cnn / depthwise cnn) and fully connected classifier."""

    def __init__(self, arch):
        super().__init__()
        if arch == "cnn":
            layers = [nn.Conv2d(1, 6, 5, 1), nn.ReLU(), nn.BatchNorm2d(6), nn.MaxPool2d(2),
                      nn.Conv2d(6, 16, 5, 1), nn.ReLU(), nn.BatchNorm2d(16), nn.MaxPool2d(2)]
        else:
            groups = 6 if arch == "dwsep" else 1
            layers = [nn.Conv2d(1, 1, 5, 1), nn.Conv2d(1, 6, 1, 1), nn.ReLU(), nn.BatchNorm2d(6), nn.MaxPool2d(2),
                      nn.Conv2d(6, 6, 5, 1, groups=groups), nn.Conv2d(6, 16, 1, 1), nn.ReLU(), nn.BatchNorm2d(16),
                      nn.MaxPool2d(2)]
        self.conv_module = nn.Sequential(*layers)
        self.fc_module = nn.Sequential(nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))

    def forward(self, x):
        out = self.conv_module(x)
        return self.fc_module(out.view(out.size(0), -1))


class MobileNetV1(nn.Module):
    BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
              (512, 1), (512, 1), (1024, 2), (1024, 1)]

    def __init__(self, alpha, in_channels, num_classes, activation):
        super().__init__()
        scaled = lambda c: max(8, int(c * alpha + 0.5))
        c = scaled(32)
        layers = [nn.Conv2d(in_channels, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), activation()]
        for out, stride in self.BLOCKS:
            o = scaled(out)
            layers += [nn.Conv2d(c, c, 3, stride, 1, groups=c, bias=False), nn.BatchNorm2d(c), activation(),
                       nn.Conv2d(c, o, 1, bias=False), nn.BatchNorm2d(o), activation()]
            c = o
        layers.append(nn.AdaptiveAvgPool2d(1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.view(x.size(0), -1))


def randomize_batch_norm(model, generator):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=generator) * 0.5)
            m.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=generator) * 0.1)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    sepnet, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(20)
    torch.manual_seed(20)
    cases = [("cnn", WriteUpNet("cnn"), (1, 28, 28)), ("dw", WriteUpNet("dw"), (1, 28, 28)),
             ("dwsep", WriteUpNet("dwsep"), (1, 28, 28)),
             ("mobilenet_a0.25_c3_relu", MobileNetV1(0.25, 3, 10, nn.ReLU), (3, 32, 32)),
             ("mobilenet_a0.25_c1_relu6", MobileNetV1(0.25, 1, 10, nn.ReLU6), (1, 32, 32))]
    failed = False
    for name, model, shape in cases:
        randomize_batch_norm(model, generator)
        model.eval()
        path = os.path.join(work, f"{name}.onnx")
        torch.onnx.export(model, torch.randn(2, *shape, generator=generator), path, opset_version=13,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
        x = torch.randn(5, *shape, generator=generator)
        with torch.no_grad():
            want = model(x).numpy()
        x_path, y_path = os.path.join(work, f"{name}_x.npy"), os.path.join(work, f"{name}_y.npy")
        np.save(x_path, x.numpy())
        run = subprocess.run([sepnet, "run", path, "--input", x_path, "--out", y_path], capture_output=True, text=True)
        if run.returncode != 0:
            print(f"FAIL {name}: sepnet run exited {run.returncode}:\n{run.stdout}{run.stderr}")
            failed = True
            continue
        got = np.load(y_path)
        diff = float(np.abs(got - want).max()) if got.shape == want.shape else float("inf")
        ok = diff <= TOLERANCE
        failed |= not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: logits {list(got.shape)}, max |sepnet - PyTorch| = {diff:.3g} "
              f"(limit {TOLERANCE:g})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
