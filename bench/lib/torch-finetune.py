"""The PyTorch side of bench/finetune-mobilenet.mjs: the same Keras model
(rebuilt by torch-keras.py from its model.json and weight shards), first
proven equal to tfjs on reference images, then fine-tuned on the same
preprocessed MNIST batches as modelpress: batch BATCH, Adam lr 1e-4, train
mode (batch norm on batch statistics, as runEpochs' model.apply(training:
true)), one thread, one warm-up step then STEPS timed steps. Prints one JSON
line. Not a test.

    /usr/bin/python3 bench/lib/torch-finetune.py MODEL_DIR DATA_DIR STEPS BATCH

DATA_DIR (written by finetune-mobilenet.mjs's reference child): x.bin
(float32 NHWC, the preprocessed training images), meta.json {count, shape,
labels, classes, reference: {count, backend, outputs, trainingOutputs}}: the
tfjs model's outputs on the first reference.count images in inference mode
and in training mode.
Exits 1 with the max difference when the two models disagree by more than
TOLERANCE: a timing of a different model would mean nothing.
"""
import copy
import importlib.util
import json
import os
import sys
import time

import numpy as np
import torch

TOLERANCE = 1e-4

model_dir, data_dir, steps, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(1)
torch.manual_seed(1)

spec = importlib.util.spec_from_file_location("torch_keras", os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch-keras.py"))
torch_keras = importlib.util.module_from_spec(spec)
spec.loader.exec_module(torch_keras)

with open(os.path.join(data_dir, "meta.json")) as f:
    meta = json.load(f)
x = torch.from_numpy(np.fromfile(os.path.join(data_dir, "x.bin"), dtype="<f4").reshape([meta["count"], *meta["shape"]]))
y = torch.nn.functional.one_hot(torch.tensor(meta["labels"], dtype=torch.int64), meta["classes"]).float()

try:
    model = torch_keras.load_keras_model(model_dir)
except torch_keras.KerasModelError as e:
    print(f"torch-finetune.py: cannot rebuild the model in PyTorch: {e}", file=sys.stderr)
    sys.exit(1)

# Same model? Every output on the reference images, in inference mode (moving
# statistics) and in training mode (batch statistics, what each step below
# computes); then the weights and statistics as loaded, for the timing.
initial = copy.deepcopy(model.state_dict())
reference = meta["reference"]
xr = x[:reference["count"]]
diffs = {}
for mode, key in (("inference", "outputs"), ("training", "trainingOutputs")):
    model.train(mode == "training")
    with torch.no_grad():
        diffs[mode] = float((model(xr) - torch.tensor(reference[key], dtype=torch.float32)).abs().max())
model.load_state_dict(initial)
max_diff = max(diffs.values())
if not max_diff <= TOLERANCE:
    print(f"torch-finetune.py: the torch model built from {model_dir}/model.json differs from tfjs's ({reference['backend']}): max |torch - tfjs| "
          f"= {diffs['inference']:.3g} in inference mode, {diffs['training']:.3g} in training mode, over {reference['count']} images (tolerance {TOLERANCE}). "
          "The timing would be of another model; fix bench/lib/torch-keras.py's mapping of the layer that diverges.", file=sys.stderr)
    sys.exit(1)

# tfjs's defaults: Adam epsilon 1e-7; categoricalCrossentropy on the softmax output, clipped to [1e-7, 1 - 1e-7].
model.train()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-7)
times, losses = [], []
for step in range(steps + 1):
    start = (step * batch) % meta["count"]
    xb, yb = x[start:start + batch], y[start:start + batch]
    t0 = time.perf_counter()
    optimizer.zero_grad()
    p = model(xb).clamp(1e-7, 1 - 1e-7)
    loss = -(yb * p.log()).sum(1).mean()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())  # the readback runEpochs also does per step
    times.append((time.perf_counter() - t0) * 1000)

timed = times[1:]  # the first step allocates and picks kernels
ms = sum(timed) / len(timed)
print(json.dumps({
    "backend": "torch", "steps": len(timed), "batch": batch, "msPerStep": round(ms), "imagesPerSecond": round(batch * 1000 / ms, 1),
    "stepMs": [round(t) for t in times], "loss": sum(losses) / len(losses), "maxAbsDiffToTfjs": max_diff,
    "maxAbsDiffToTfjsByMode": diffs, "referenceImages": reference["count"], "torch": torch.__version__, "threads": torch.get_num_threads(),
}))
