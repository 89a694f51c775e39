"""The PyTorch side of bench/speed.mjs: one epoch of the same model on the
same MNIST examples, same batch size, Adam, one thread, shuffled; prints one
JSON line {"ms": epoch wall time, "loss": mean loss}. Not a test.

    /usr/bin/python3 bench/lib/torch-train.py MODEL LIMIT BATCH IDX_DIR

MODEL: lenet300 (784-300-100-10, relu, softmax) or lenet5 (Caffe 20-50-500:
conv 5x5 valid without activation, max pool 2x2, dense 500 relu, 10).
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn

model_name, limit, batch, idx_dir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(1)
torch.manual_seed(1)

images = np.fromfile(f"{idx_dir}/train-images-idx3-ubyte", dtype=np.uint8, offset=16).reshape(-1, 28, 28)[:limit]
labels = np.fromfile(f"{idx_dir}/train-labels-idx1-ubyte", dtype=np.uint8, offset=8)[:limit]
x = torch.from_numpy(images.astype(np.float32) / 255.0)
y = torch.from_numpy(labels.astype(np.int64))

if model_name == "lenet300":
    x = x.reshape(-1, 784)
    model = nn.Sequential(nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10))
elif model_name == "lenet5":
    x = x.reshape(-1, 1, 28, 28)
    model = nn.Sequential(
        nn.Conv2d(1, 20, 5), nn.MaxPool2d(2, 2), nn.Conv2d(20, 50, 5), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10),
    )
else:
    raise SystemExit(f"Expected MODEL to be lenet300 or lenet5, got {model_name}")

# cross_entropy on logits = categorical cross-entropy on the softmax output (modelpress's loss).
optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
loss_fn = nn.CrossEntropyLoss()
order = torch.randperm(len(x))
total, seen = 0.0, 0
t0 = time.perf_counter()
for start in range(0, len(x), batch):
    idx = order[start:start + batch]
    xb, yb = x[idx], y[idx]
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    total += loss.item() * len(idx)
    seen += len(idx)
ms = (time.perf_counter() - t0) * 1000
print(json.dumps({"ms": round(ms, 1), "loss": total / seen, "threads": torch.get_num_threads(), "torch": torch.__version__}))
