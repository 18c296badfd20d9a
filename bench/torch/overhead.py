"""Per-op overhead of PyTorch eager on a 4-value tensor (one JSON line per op, ms per op)."""
import json
import time

import torch

torch.set_num_threads(1)
a = torch.tensor([1.0, 2, 3, 4])
b = torch.tensor([4.0, 3, 2, 1])
g = torch.tensor([1.0, -2, 3, -4], requires_grad=True)


def per_op(fn, iters=20000):
    for _ in range(1000):
        fn()
    samples = []
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        samples.append((time.perf_counter() - t0) / iters * 1e3)
    return sorted(samples)[3]


def nograd(f):
    def run():
        with torch.no_grad():
            f()
    return run


for name, fn in [
    ("add 4 values (no grad)", nograd(lambda: a + b)),
    ("relu 4 values (no grad)", nograd(lambda: torch.relu(a))),
    ("relu 4 values (recording grad)", lambda: torch.relu(g)),
]:
    print(json.dumps({"name": name, "threads": 1, "ms": per_op(fn)}))
