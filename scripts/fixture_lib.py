"""Helpers for writing golden fixtures: tensors as base64 little-endian float32 (or int64)."""
import base64
import json
import os

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def enc(t):
    """Encodes a tensor or array for a fixture file."""
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().numpy()
    # np.array keeps 0-d arrays 0-d (np.ascontiguousarray would promote them to shape [1]).
    a = np.array(t, order="C")
    if a.dtype in (np.int64, np.int32):
        return {"shape": list(a.shape), "dtype": "int64", "data": base64.b64encode(a.astype("<i8").tobytes()).decode()}
    return {"shape": list(a.shape), "data": base64.b64encode(a.astype("<f4").tobytes()).decode()}


def case(name, params=None, **tensors):
    return {"name": name, "params": params or {}, "tensors": {k: enc(v) for k, v in tensors.items()}}


def save(group, cases):
    """Writes test/fixtures/<group>.json atomically."""
    path = os.path.join(ROOT, "test", "fixtures", group + ".json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"generator": "scripts/fixtures.py, torch " + torch.__version__, "cases": cases}, f, separators=(",", ":"))
    os.replace(tmp, path)
    print(f"wrote {path} ({len(cases)} cases)")


def leaf(shape, gen, scale=1.0):
    return (torch.randn(tuple(shape), generator=gen) * scale).requires_grad_(True)


def op_case(name, op, fn, inputs, gen, params=None, extra=None):
    """A case for a differentiable op: inputs x0..xk, output `out`, a random upstream gradient
    `gout`, and the input gradients g0..gk (for inputs with requires_grad) of sum(gout * out).
    `extra` adds non-differentiable tensors (e.g. class indices) under their own names."""
    out = fn(*inputs)
    gout = torch.randn(out.shape, generator=gen)
    diff = [x for x in inputs if x.requires_grad]
    grads = torch.autograd.grad(out, diff, gout) if diff else []
    tensors = {f"x{i}": x for i, x in enumerate(inputs)}
    tensors["out"] = out
    tensors["gout"] = gout
    k = 0
    for i, x in enumerate(inputs):
        if x.requires_grad:
            tensors[f"g{i}"] = grads[k]
            k += 1
    tensors.update(extra or {})
    return case(name, dict(params or {}, op=op), **tensors)
