#!/usr/bin/python3
"""PyTorch twin of bench/conv.ts: conv2d forward + backward (input, weight and bias grads).

Usage: /usr/bin/python3 bench/torch/conv.py THREADS... ; prints {name, threads, ms} JSON lines.
"""
import json
import sys
import time

import torch
import torch.nn.functional as F

# (name, x shape, weight shape, padding, reps) - must match LAYERS in bench/conv.ts.
LAYERS = [
    ("conv2d resnet 64->64 3x3 pad1 128x64x32x32", (128, 64, 32, 32), (64, 64, 3, 3), 1, 3),
    ("conv2d mnist 1->16 5x5 64x1x28x28", (64, 1, 28, 28), (16, 1, 5, 5), 0, 20),
]


def median_ms(fn, reps, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2]


def main():
    for threads in [int(a) for a in sys.argv[1:]] or [1, 2]:
        torch.set_num_threads(threads)
        for name, xs, ws, pad, reps in LAYERS:
            g = torch.Generator().manual_seed(0)
            x = torch.randn(*xs, generator=g).requires_grad_(True)
            w = (torch.randn(*ws, generator=g) * 0.1).requires_grad_(True)
            b = torch.randn(ws[0], generator=g).requires_grad_(True)
            gy = torch.randn_like(F.conv2d(x, w, b, padding=pad))

            def step():
                x.grad = w.grad = b.grad = None
                F.conv2d(x, w, b, padding=pad).backward(gy)

            ms = median_ms(step, reps, 1)
            print(json.dumps({"name": name, "threads": threads, "ms": ms}), flush=True)


if __name__ == "__main__":
    main()
