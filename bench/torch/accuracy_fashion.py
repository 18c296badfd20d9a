"""Fashion-MNIST test accuracy of LeNet-5 with BatchNorm (scripts/fixture_groups/models.py lenet5()),
the PyTorch side of bench/accuracy_fashion.ts, mirroring normlab's runTraining: pixels / 255,
normalized by the mean and population std of all training pixels; each epoch a new shuffle,
batches of 256 with the last one partial; SGD lr 0.01 momentum 0.5; cross-entropy; a test pass
(eval mode) after every epoch; the reported accuracy is the last epoch's.
Prints {seed, threads, acc (fraction), s (wall seconds of the whole run, data loading included)}.
Usage: accuracy_fashion.py --data-dir DIR [--epochs 3] [--seed 1] [--threads 2]"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "fixture_groups"))
from models import lenet5  # noqa: E402


def read_idx(path):
    with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(folder, base):
    for name in (base, base + ".gz", base.replace("-idx", ".idx"), base.replace("-idx", ".idx") + ".gz"):
        p = os.path.join(folder, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{base} in {folder}")


ap = argparse.ArgumentParser()
ap.add_argument("--data-dir", required=True)
ap.add_argument("--epochs", type=int, default=3)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()
t0 = time.perf_counter()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
xs = {s: torch.from_numpy(read_idx(find(a.data_dir, f"{s}-images-idx3-ubyte")).astype(np.float32) / 255).unsqueeze(1) for s in ("train", "t10k")}
ys = {s: torch.from_numpy(read_idx(find(a.data_dir, f"{s}-labels-idx1-ubyte")).astype(np.int64)) for s in ("train", "t10k")}
px = xs["train"].double()
mean = px.mean().item()
std = (px.pow(2).mean() - mean * mean).clamp(min=0).sqrt().item()
xtr = (xs["train"] - mean) / std
xte = (xs["t10k"] - mean) / std
model = lenet5()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
B = 256
acc = 0.0
for epoch in range(a.epochs):
    model.train()
    perm = torch.randperm(xtr.shape[0])
    for i in range(0, xtr.shape[0], B):
        idx = perm[i:i + B]
        opt.zero_grad()
        F.cross_entropy(model(xtr[idx]), ys["train"][idx]).backward()
        opt.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, xte.shape[0], B):
            correct += (model(xte[i:i + B]).argmax(1) == ys["t10k"][i:i + B]).sum().item()
    acc = correct / xte.shape[0]
print(json.dumps({"seed": a.seed, "threads": a.threads, "acc": acc, "s": time.perf_counter() - t0}))
