"""linear: y = x W^T + b, with and without bias, odd sizes, leading dims."""
import torch
import torch.nn.functional as F

from fixture_lib import leaf, op_case

GROUP = "linear"


def make():
    g = torch.Generator().manual_seed(6)
    c = []
    for name, xs, out, bias in [("bias", (4, 3), 2, True), ("no bias", (4, 3), 2, False), ("odd sizes", (7, 13), 5, True),
                                ("batch 1", (1, 9), 17, True), ("3-D input", (2, 3, 4), 6, True), ("larger", (33, 65), 31, True),
                                ("1-D input", (5,), 3, True)]:
        x = leaf(xs, g)
        w = leaf((out, xs[-1]), g, 0.5)
        inputs = [x, w] + ([leaf((out,), g)] if bias else [])
        c.append(op_case(f"linear {name}", "linear", F.linear, inputs, g, {"bias": bias}))
    return c
