"""ResNet-18, CIFAR variant (torchvision resnet18 with a 3x3 stride-1 conv1 and no max-pool, as
scripts/fixture_groups/models.py resnet_cifar): one training step (forward, cross-entropy,
backward, SGD lr 0.1 momentum 0.9) on random 3x32x32 input. Twin of bench/train_resnet.ts.
Usage: train_resnet.py [--batch 128] [--reps N] [--warmup N] threads..."""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

ap = argparse.ArgumentParser()
ap.add_argument("--batch", type=int, default=128)
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("threads", type=int, nargs="*", default=[1, 2])
a = ap.parse_args()
for threads in a.threads:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10)
    model.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    model.maxpool = nn.Identity()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(a.batch, 3, 32, 32)
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
    print(json.dumps({"name": f"resnet18-cifar train step batch {a.batch}", "threads": threads, "ms": times[len(times) // 2], "cpu_ms": cpu_ms}))
