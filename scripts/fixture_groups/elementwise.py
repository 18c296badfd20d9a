"""Elementwise ops with broadcasting, unary activations and their gradients."""
import torch
import torch.nn.functional as F

from fixture_lib import leaf, op_case

GROUP = "elementwise"


def positive(shape, gen, lo=0.5):
    return (torch.rand(tuple(shape), generator=gen) * 2 + lo).requires_grad_(True)


def make():
    g = torch.Generator().manual_seed(1)
    cases = []
    binary = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
              "maximum": torch.maximum, "minimum": torch.minimum}
    shapes = [((3, 4), (3, 4)), ((2, 3, 4, 5), (3, 1, 1)), ((2, 3), ()), ((4, 1), (1, 5)), ((3, 1, 1), (2, 3, 4, 5)),
              ((5,), (2, 3, 5))]
    for op, fn in binary.items():
        for sa, sb in shapes:
            a = leaf(sa, g)
            b = positive(sb, g) if op == "div" else leaf(sb, g)
            cases.append(op_case(f"{op} {list(sa)} {list(sb)}", op, fn, [a, b], g))
    for op, fn in {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}.items():
        cases.append(op_case(f"{op} scalar", op, lambda x, fn=fn: fn(x, 2.5), [leaf((3, 5), g)], g, {"scalar": 2.5}))
    unary = [
        ("pow", lambda x: x.pow(2.5), positive((4, 6), g), {"exponent": 2.5}),
        ("pow", lambda x: x.pow(3), leaf((4, 6), g), {"exponent": 3}),
        ("exp", torch.exp, leaf((4, 6), g), {}),
        ("log", torch.log, positive((4, 6), g), {}),
        ("sqrt", torch.sqrt, positive((4, 6), g), {}),
        ("rsqrt", torch.rsqrt, positive((4, 6), g), {}),
        ("abs", torch.abs, leaf((4, 6), g), {}),
        ("neg", torch.neg, leaf((4, 6), g), {}),
        ("square", torch.square, leaf((4, 6), g), {}),
        ("relu", torch.relu, leaf((2, 3, 4, 5), g), {}),
        ("leakyRelu", lambda x: F.leaky_relu(x, 0.2), leaf((2, 3, 4, 5), g), {"slope": 0.2}),
        ("leakyRelu", F.leaky_relu, leaf((7, 9), g), {}),
        ("sigmoid", torch.sigmoid, leaf((4, 6), g, 4.0), {}),
        ("tanh", torch.tanh, leaf((4, 6), g, 2.0), {}),
        ("gelu", F.gelu, leaf((4, 6), g, 2.0), {}),
        ("clamp", lambda x: x.clamp(-0.5, 0.7), leaf((4, 6), g), {"min": -0.5, "max": 0.7}),
        ("clamp", lambda x: x.clamp(max=0.3), leaf((4, 6), g), {"min": None, "max": 0.3}),
        ("clamp", lambda x: x.clamp(min=-0.2), leaf((4, 6), g), {"min": -0.2, "max": None}),
    ]
    for op, fn, x, params in unary:
        cases.append(op_case(f"{op} {list(x.shape)} {params}", op, fn, [x], g, params))
    # Large magnitudes: sigmoid/tanh saturate without NaN.
    big = (torch.tensor([-100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0])).requires_grad_(True)
    for op, fn in [("sigmoid", torch.sigmoid), ("tanh", torch.tanh), ("gelu", F.gelu)]:
        cases.append(op_case(f"{op} saturating", op, fn, [big.detach().clone().requires_grad_(True)], g))
    return cases
