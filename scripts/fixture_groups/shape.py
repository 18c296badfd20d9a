"""Shape ops: reshape, flatten, permute, transpose, concat, slice, pad, matmul."""
import torch
import torch.nn.functional as F

from fixture_lib import leaf, op_case

GROUP = "shape"


def make():
    g = torch.Generator().manual_seed(3)
    c = []
    c.append(op_case("reshape", "reshape", lambda x: x.reshape(6, -1), [leaf((2, 3, 4), g)], g, {"shape": [6, -1]}))
    c.append(op_case("flatten 1..-1", "flatten", lambda x: x.flatten(1), [leaf((2, 3, 4, 5), g)], g, {"start": 1, "end": -1}))
    c.append(op_case("flatten 1..2", "flatten", lambda x: x.flatten(1, 2), [leaf((2, 3, 4, 5), g)], g, {"start": 1, "end": 2}))
    c.append(op_case("permute", "permute", lambda x: x.permute(2, 0, 3, 1), [leaf((2, 3, 4, 5), g)], g, {"dims": [2, 0, 3, 1]}))
    c.append(op_case("permute 3-D", "permute", lambda x: x.permute(1, 2, 0), [leaf((3, 1, 7), g)], g, {"dims": [1, 2, 0]}))
    c.append(op_case("transpose", "transpose", lambda x: x.transpose(0, 2), [leaf((2, 3, 4), g)], g, {"dim0": 0, "dim1": 2}))
    c.append(op_case("transpose 2-D", "transpose", lambda x: x.transpose(-1, -2), [leaf((5, 7), g)], g, {"dim0": -1, "dim1": -2}))
    c.append(op_case("concat dim 1", "concat", lambda a, b, d: torch.cat([a, b, d], 1),
                     [leaf((2, 3, 4), g), leaf((2, 1, 4), g), leaf((2, 2, 4), g)], g, {"dim": 1}))
    c.append(op_case("concat dim 0", "concat", lambda a, b: torch.cat([a, b], 0), [leaf((2, 3), g), leaf((4, 3), g)], g, {"dim": 0}))
    c.append(op_case("concat dim -1", "concat", lambda a, b: torch.cat([a, b], -1), [leaf((2, 3, 2), g), leaf((2, 3, 5), g)], g, {"dim": -1}))
    c.append(op_case("slice dim 0", "slice", lambda x: x[1:3], [leaf((4, 3, 2), g)], g, {"dim": 0, "start": 1, "end": 3}))
    c.append(op_case("slice dim 2", "slice", lambda x: x[:, :, 2:5], [leaf((2, 3, 6), g)], g, {"dim": 2, "start": 2, "end": 5}))
    c.append(op_case("slice dim 1", "slice", lambda x: x[:, 0:1], [leaf((3, 4, 2), g)], g, {"dim": 1, "start": 0, "end": 1}))
    c.append(op_case("pad 2-D", "pad", lambda x: F.pad(x, [1, 2, 0, 1]), [leaf((2, 3, 4, 5), g)], g, {"pads": [1, 2, 0, 1], "value": 0}))
    c.append(op_case("pad value", "pad", lambda x: F.pad(x, [2, 0], value=1.5), [leaf((3, 4), g)], g, {"pads": [2, 0], "value": 1.5}))
    c.append(op_case("pad 3 dims", "pad", lambda x: F.pad(x, [1, 1, 2, 0, 0, 1]), [leaf((2, 3, 2), g)], g, {"pads": [1, 1, 2, 0, 0, 1], "value": 0}))
    c.append(op_case("matmul 2-D odd", "matmul", torch.matmul, [leaf((7, 5), g), leaf((5, 3), g)], g))
    c.append(op_case("matmul 2-D larger", "matmul", torch.matmul, [leaf((33, 17), g), leaf((17, 19), g)], g))
    c.append(op_case("matmul batched", "matmul", torch.matmul, [leaf((3, 4, 5), g), leaf((3, 5, 2), g)], g))
    c.append(op_case("matmul vector-like", "matmul", torch.matmul, [leaf((1, 6), g), leaf((6, 1), g)], g))
    return c
