"""softmax / log_softmax along several dims, including large-magnitude inputs."""
import torch

from fixture_lib import leaf, op_case

GROUP = "softmax"


def make():
    g = torch.Generator().manual_seed(4)
    c = []
    for op, fn in (("softmax", torch.softmax), ("logSoftmax", torch.log_softmax)):
        for shape, dim in (((3, 4, 5), -1), ((3, 4, 5), 0), ((3, 4, 5), 1), ((6, 10), 1), ((2, 3, 4, 5), 1), ((7,), 0), ((1, 1), 1)):
            c.append(op_case(f"{op} {list(shape)} dim={dim}", op, lambda x, fn=fn, dim=dim: fn(x, dim), [leaf(shape, g)], g, {"dim": dim}))
        # Max subtraction keeps these finite.
        c.append(op_case(f"{op} large logits", op, lambda x, fn=fn: fn(x, 1), [leaf((4, 9), g, 60.0)], g, {"dim": 1}))
    return c
