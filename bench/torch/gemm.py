"""PyTorch counterpart of bench/gemm.ts: times torch.mm on the same sizes.

Usage: python3 bench/torch/gemm.py --threads T --json
Prints one JSON line per size: {"name": "sgemm MxNxK", "threads": T, "torch_ms": ...}.
Timing matches the TS side: warm-up, then the median of 9 samples, each sample averaging
enough calls to last at least 20 ms.
"""
import argparse
import json
import os
import statistics
import time

SIZES = [(1024, 1024, 1024), (256, 256, 256), (64, 1024, 576), (16, 784, 25), (512, 512, 4608)]


def time_ms(fn):
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    reps = max(1, int(0.02 / once))
    samples = []
    for _ in range(9):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        samples.append((time.perf_counter() - t0) / reps * 1e3)
    return statistics.median(samples)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    # torch.mm may run in the BLAS torch links (OpenBLAS on Debian) whose thread count
    # comes from the environment, not from torch.set_num_threads; fix both before import.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for m, n, k in SIZES:
        a = torch.rand(m, k, dtype=torch.float32)
        b = torch.rand(k, n, dtype=torch.float32)
        c = torch.empty(m, n, dtype=torch.float32)
        ms = time_ms(lambda: torch.mm(a, b, out=c))
        name = f"sgemm {m}x{n}x{k}"
        if args.json:
            print(json.dumps({"name": name, "threads": args.threads, "torch_ms": ms}), flush=True)
        else:
            print(f"{name} threads={args.threads}: {ms:.4f} ms, {2 * m * n * k / ms / 1e6:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
