"""Fashion-MNIST test accuracy of LeNet-5 with BatchNorm (scripts/fixture_groups/models.py lenet5()),
the PyTorch side of bench/accuracy_fashion.ts, mirroring normlab's runTraining: pixels / 255,
normalized by the mean and population std of all training pixels; each epoch a new shuffle,
batches of 256 with the last one partial (no drop_last); SGD lr 0.01 momentum 0.5; cross-entropy
(mean over the batch); a test pass (eval mode, batches of 256) after every epoch; the reported
accuracy is the last epoch's.

Shared mode (--init and --order, what the bench passes by default): the model starts from the
weights normlab initialized (a safetensors file with normlab's state-dict names, which this
script's module names match) and epoch e visits the training samples in row e of --order (int32
little-endian, epochs x 60000, the permutations normlab's loader drew), so the two sides differ
only by float rounding and kernels. Without them: PyTorch's own default init
(kaiming_uniform(a=sqrt(5)), bias U(+-1/sqrt(fan_in))) and torch.randperm orders, from --seed.

Prints {seed, threads, acc (fraction), s (wall seconds of the whole run, data loading included),
train_loss: [per epoch, sample-weighted mean], test_acc: [per epoch]}.
Usage: accuracy_fashion.py --data-dir DIR [--epochs 3] [--seed 1] [--threads 2] [--init F --order F]"""
import argparse
import gzip
import json
import os
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "fixture_groups"))
from models import lenet5  # noqa: E402
from safetensors_file import read as read_safetensors  # noqa: E402


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
ap.add_argument("--init", help="safetensors state dict to start from (normlab's initialized LeNet-5)")
ap.add_argument("--order", help="int32 file, epochs x n_train: the training order of each epoch")
a = ap.parse_args()
if (a.init is None) != (a.order is None):
    sys.exit("accuracy_fashion.py: --init and --order go together (shared mode) or not at all")
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
# The layers of lenet5() in normlab's LeNet5 structure, so state-dict names agree
# (features.0.weight ... classifier.6.bias); construction order, hence the default init, is unchanged.
layers = list(lenet5())
model = nn.Sequential(OrderedDict(features=nn.Sequential(*layers[:8]), flatten=layers[8], classifier=nn.Sequential(*layers[9:])))
orders = None
if a.init is not None:
    model.load_state_dict({k: torch.from_numpy(v) for k, v in read_safetensors(a.init).items()}, strict=True)
    orders = torch.from_numpy(np.fromfile(a.order, dtype="<i4").astype(np.int64)).reshape(-1, xtr.shape[0])
    if orders.shape[0] < a.epochs:
        sys.exit(f"accuracy_fashion.py: {a.order} holds {orders.shape[0]} epochs, need {a.epochs}")
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
B = 256
train_loss, test_acc = [], []
for epoch in range(a.epochs):
    model.train()
    perm = orders[epoch] if orders is not None else torch.randperm(xtr.shape[0])
    loss_sum = 0.0
    for i in range(0, xtr.shape[0], B):
        idx = perm[i:i + B]
        opt.zero_grad()
        loss = F.cross_entropy(model(xtr[idx]), ys["train"][idx])
        loss.backward()
        opt.step()
        loss_sum += loss.item() * idx.shape[0]
    train_loss.append(loss_sum / xtr.shape[0])
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, xte.shape[0], B):
            correct += (model(xte[i:i + B]).argmax(1) == ys["t10k"][i:i + B]).sum().item()
    test_acc.append(correct / xte.shape[0])
print(json.dumps({"seed": a.seed, "threads": a.threads, "acc": test_acc[-1], "s": time.perf_counter() - t0,
                  "train_loss": train_loss, "test_acc": test_acc}))
