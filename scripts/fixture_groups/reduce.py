"""Reductions over dim sets (contiguous and not), with and without keepDim."""
import torch

from fixture_lib import leaf, op_case

GROUP = "reduce"


def make():
    g = torch.Generator().manual_seed(2)
    cases = []
    x4 = (2, 3, 4, 5)
    specs = [
        ("sum", None, False), ("sum", [1], False), ("sum", [0, 2, 3], False), ("sum", [0, 2, 3], True),
        ("sum", [-1], True), ("sum", [0, 2], False),
        ("mean", None, False), ("mean", [0, 2, 3], True), ("mean", [1, 3], False), ("mean", [2], False),
        ("max", [1], False), ("max", [0, 2], True), ("max", [3], True), ("max", None, False),
        ("min", [2], False), ("min", [0, 3], False),
        ("var", [0, 2, 3], False), ("var", [1], True), ("var", None, False), ("var", [0, 3], True),
    ]
    for op, dims, keep in specs:
        x = leaf(x4, g)
        d = tuple(dims) if dims is not None else tuple(range(4))
        if op == "sum":
            fn = lambda t, d=d, keep=keep: t.sum(d, keepdim=keep)
        elif op == "mean":
            fn = lambda t, d=d, keep=keep: t.mean(d, keepdim=keep)
        elif op == "var":
            fn = lambda t, d=d, keep=keep: t.var(d, unbiased=True, keepdim=keep)
        elif op == "max":
            fn = lambda t, d=d, keep=keep: t.amax(d, keepdim=keep)
        else:
            fn = lambda t, d=d, keep=keep: t.amin(d, keepdim=keep)
        cases.append(op_case(f"{op} dims={dims} keepDim={keep}", op, fn, [x], g, {"dims": dims, "keepDim": keep}))
    for dims in ([0, 2, 3], [1]):
        x = leaf(x4, g, 3.0)
        fn = lambda t, d=tuple(dims): t.var(d, unbiased=False)
        cases.append(op_case(f"var biased dims={dims}", "var", fn, [x], g, {"dims": dims, "keepDim": False, "unbiased": False}))
    # Ties: torch.max(x, dim) sends the gradient to one index; amax and max() split it evenly.
    for op in ("max", "min"):
        ties = torch.randint(0, 3, x4, generator=g).float().requires_grad_(True)
        pick = torch.max if op == "max" else torch.min
        cases.append(op_case(f"{op} dim=1 with ties (index)", op, lambda t, pick=pick: pick(t, 1)[0], [ties], g, {"dim": 1}))
        amax = (lambda t, d: t.amax(d)) if op == "max" else (lambda t, d: t.amin(d))
        for dims in ([0, 2], [3], None):
            d = tuple(dims) if dims is not None else tuple(range(4))
            t = torch.randint(0, 3, x4, generator=g).float().requires_grad_(True)
            cases.append(op_case(f"{op} dims={dims} with ties (split evenly)", op, lambda t, d=d, amax=amax: amax(t, d), [t], g,
                                 {"dims": dims, "keepDim": False}))
    return cases
