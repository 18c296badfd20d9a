#!/usr/bin/python3
"""Seed 000's Filtered BN written with PyTorch ops (mean, std, mask, masked mean/var, normalize,
autograd backward), as the paper's plug-in computes it; forward+backward timed on the
bench/norm.ts shape. Prints {name, threads, ms} JSON lines."""
import json
import sys
import time

import torch


def fbn_torch(x, w, b, T=4.0, eps=1e-5):
    dims = [0, 2, 3]
    with torch.no_grad():
        mu0 = x.mean(dims, keepdim=True)
        std0 = torch.sqrt(x.var(dims, unbiased=True, keepdim=True) + 1e-10)
        z = (x - mu0) / std0
        mask = ((z > -T) & (z < T)).float()
    m = mask.sum(dims, keepdim=True)
    mu = (x * mask).sum(dims, keepdim=True) / m
    var = (((x - mu) ** 2) * mask).sum(dims, keepdim=True) / m
    return (x - mu) / torch.sqrt(var + eps) * w.view(1, -1, 1, 1) + b.view(1, -1, 1, 1)


def median_ms(fn, reps, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def main():
    threads = [int(t) for t in sys.argv[1].split(",")] if len(sys.argv) > 1 else [1, 2]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    g = torch.Generator().manual_seed(0)
    x = torch.randn(128, 64, 32, 32, generator=g).requires_grad_(True)
    gy = torch.randn(128, 64, 32, 32, generator=g)
    w = torch.ones(64, requires_grad=True)
    b = torch.zeros(64, requires_grad=True)

    def run():
        x.grad = w.grad = b.grad = None
        fbn_torch(x, w, b).backward(gy)

    for t in threads:
        torch.set_num_threads(t)
        print(json.dumps({"name": "fbn2d_fwd_bwd", "threads": t, "ms": median_ms(run, reps)}), flush=True)


if __name__ == "__main__":
    main()
