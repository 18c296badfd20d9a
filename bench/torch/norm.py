#!/usr/bin/python3
"""PyTorch twins of bench/norm.ts: prints {name, threads, ms} JSON lines (median of reps)."""
import json
import sys
import time

import torch


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


def fwd_bwd(mod, x, gy):
    def run():
        x.grad = None
        mod.zero_grad(set_to_none=True)
        mod(x).backward(gy)
    return run


def main():
    threads = [int(t) for t in sys.argv[1].split(",")] if len(sys.argv) > 1 else [1, 2]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    g = torch.Generator().manual_seed(0)
    x4 = torch.randn(128, 64, 32, 32, generator=g).requires_grad_(True)
    gy4 = torch.randn(128, 64, 32, 32, generator=g)
    x2 = torch.randn(8192, 512, generator=g).requires_grad_(True)
    gy2 = torch.randn(8192, 512, generator=g)
    for t in threads:
        torch.set_num_threads(t)
        bn = torch.nn.BatchNorm2d(64)
        out = {
            "bn2d_fwd_bwd": median_ms(fwd_bwd(bn, x4, gy4), reps),
            "gn32_fwd_bwd": median_ms(fwd_bwd(torch.nn.GroupNorm(32, 64), x4, gy4), reps),
            "ln512_fwd_bwd": median_ms(fwd_bwd(torch.nn.LayerNorm([512]), x2, gy2), reps),
        }
        bn.eval()
        with torch.no_grad():
            xd = x4.detach()
            out["bn2d_eval"] = median_ms(lambda: bn(xd), reps)
        for name, ms in out.items():
            print(json.dumps({"name": name, "threads": t, "ms": ms}), flush=True)


if __name__ == "__main__":
    main()
