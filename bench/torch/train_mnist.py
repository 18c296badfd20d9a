"""Seed 000's MNIST CNN (PyTorch MNIST example with BatchNorm1d after fc1): one training step
(forward, cross-entropy, backward, SGD lr 0.01 momentum 0.5) on a fixed random batch, train mode.
Twin of bench/train_mnist.ts. Usage: train_mnist.py [--batch 64] [--reps N] [--warmup N] threads..."""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class FbnMnistNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, 5)
        self.conv2 = nn.Conv2d(10, 20, 5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(320, 50)
        self.bn = nn.BatchNorm1d(50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, 320)
        x = F.relu(self.bn(self.fc1(x)))
        x = F.dropout(x, training=self.training)
        return self.fc2(x)


ap = argparse.ArgumentParser()
ap.add_argument("--batch", type=int, default=64)
ap.add_argument("--reps", type=int, default=60)
ap.add_argument("--warmup", type=int, default=10)
ap.add_argument("threads", type=int, nargs="*", default=[1, 2])
a = ap.parse_args()
for threads in a.threads:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = FbnMnistNet().train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
    x = torch.randn(a.batch, 1, 28, 28)
    y = torch.arange(a.batch) % 10

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    times = []
    c0 = time.process_time()
    for _ in range(a.reps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    cpu_ms = (time.process_time() - c0) * 1e3 / a.reps
    times.sort()
    print(json.dumps({"name": f"fbn-mnist train step batch {a.batch}", "threads": threads, "ms": times[len(times) // 2], "cpu_ms": cpu_ms}))
