"""Reductions and softmax on seeded inputs up to 1e7 elements, with 1e4 offsets.

The inputs are not stored: both sides generate them with seeded_uniform (test/helpers/seeded.ts
is the TypeScript twin). Each case stores PyTorch's float32 result `out` (and `idx` for
max/min over one dim) and, for the reductions, the float64 result `ref` of the same float32 input.
"""
import numpy as np
import torch

from fixture_lib import case

GROUP = "reduce_large"


def seeded_uniform(n, seed, scale, offset):
    """x_i = fround(fround(u_i * scale) + offset), u_i in [-1, 1) from a 32-bit integer hash of
    (i, seed); every step is exact or one float32 rounding, so TypeScript reproduces it bit for bit."""
    i = np.arange(n, dtype=np.uint32)
    with np.errstate(over="ignore"):
        h = i * np.uint32(0x9E3779B1) + np.uint32((seed * 0x85EBCA77) & 0xFFFFFFFF)
        h ^= h >> np.uint32(15)
        h *= np.uint32(0x2C1B3C6D)
        h ^= h >> np.uint32(12)
        h *= np.uint32(0x297A2D39)
        h ^= h >> np.uint32(15)
    u = (h >> np.uint32(8)).astype(np.float32) * np.float32(2.0 ** -23) - np.float32(1.0)
    return (u * np.float32(scale)).astype(np.float32) + np.float32(offset)


def make():
    cases = []
    inputs = {
        # 1e7 elements, 1e4 offset: full reductions (row layout, thousands of segments) and
        # dims [0, 2, 3] (row runs of 1e4 inside a reduced outer dim).
        "a": ((10, 100, 100, 100), 1, 1.0, 1e4),
        # 1e7 elements, 1e4 offset: reduce dim 0 of [156250, 64] (column layout, many row segments).
        "b": ((156250, 64), 2, 3.0, 1e4),
        # 1e7 elements, zero mean: cancellation in the sums.
        "c": ((1000, 10000), 3, 1.0, 0.0),
        # Mixed dims, odd sizes (vector tails).
        "d": ((33, 517, 7), 4, 2.0, -5.0),
        # Short rows (fewer elements than one vector of lanes), 1e4 offset.
        "e": ((300, 13), 5, 1.0, 1e4),
    }
    specs = [
        ("a", "sum", None), ("a", "mean", None), ("a", "var", None), ("a", "std", None),
        ("a", "sum", [0, 2, 3]), ("a", "mean", [0, 2, 3]), ("a", "var", [0, 2, 3]), ("a", "std", [1, 2, 3]),
        ("a", "amax", [0, 2, 3]), ("a", "amin", None), ("a", "var", [0, 1, 3]),
        ("b", "sum", [0]), ("b", "mean", [0]), ("b", "var", [0]), ("b", "max", 0), ("b", "min", 0),
        ("b", "sum", None), ("b", "var", None),
        ("c", "sum", None), ("c", "sum", [1]), ("c", "mean", [1]), ("c", "var", [1]), ("c", "max", 1),
        ("d", "sum", [0, 2]), ("d", "var", [0, 2]), ("d", "mean", [1]), ("d", "max", 1),
        ("d", "amax", [0, 2]), ("e", "sum", [1]), ("e", "min", 1), ("e", "std", [1]), ("e", "mean", [0]),
    ]
    data = {k: torch.from_numpy(seeded_uniform(int(np.prod(s)), seed, sc, off)).view(s) for k, (s, seed, sc, off) in inputs.items()}

    def apply(x, op, dims):
        if op in ("max", "min"):
            v, i = (torch.max if op == "max" else torch.min)(x, dims)
            return v, i
        d = tuple(dims) if dims is not None else tuple(range(x.dim()))
        if op == "sum":
            return x.sum(d), None
        if op == "mean":
            return x.mean(d), None
        if op == "var":
            return x.var(d, unbiased=True), None
        if op == "std":
            return x.std(d, unbiased=True), None
        if op == "amax":
            return x.amax(d), None
        return x.amin(d), None

    for key, op, dims in specs:
        shape, seed, scale, offset = inputs[key]
        x = data[key]
        out, idx = apply(x, op, dims)
        ref, _ = apply(x.double(), op, dims)
        params = {"input": key, "shape": list(shape), "seed": seed, "scale": scale, "offset": offset, "op": op, "dims": dims}
        tensors = {"out": out, "ref": ref}
        if idx is not None:
            tensors["idx"] = idx
        cases.append(case(f"{op} dims={dims} of {list(shape)} (offset {offset:g})", params, **tensors))

    # Softmax and log-softmax over the last dim: classifier shapes and 1000-wide rows, 1e4 offset
    # (PyTorch's float32 output only; the tests compute their float64 reference themselves).
    for shape, seed, scale, offset in (((64, 10), 5, 4.0, 0.0), ((2, 1000), 6, 3.0, 1e4), ((1, 4096), 7, 20.0, 0.0)):
        x = torch.from_numpy(seeded_uniform(int(np.prod(shape)), seed, scale, offset)).view(shape)
        for op, fn in (("softmax", torch.softmax), ("logSoftmax", torch.log_softmax)):
            params = {"input": "softmax", "shape": list(shape), "seed": seed, "scale": scale, "offset": offset, "op": op}
            cases.append(case(f"{op} of {list(shape)} (offset {offset:g})", params, out=fn(x, -1)))
    return cases
