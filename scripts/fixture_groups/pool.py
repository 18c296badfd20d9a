"""max/avg/adaptive-avg pooling: forward, input gradient for a random upstream gradient, and
max-pool indices."""
import torch
import torch.nn.functional as F

from fixture_lib import case, leaf

GROUP = "pool"

# (op, name, x shape, kernel, stride (None: kernel), padding, extra keyword options)
WINDOWED = [
    ("max", "2x2 on 8x8", (2, 3, 8, 8), 2, None, 0, {}),
    ("max", "3x3 stride 2 padding 1 on odd 7x9", (2, 2, 7, 9), 3, 2, 1, {}),
    ("max", "rectangular 3x2 stride (1, 2)", (1, 2, 6, 7), (3, 2), (1, 2), (1, 1), {}),
    ("max", "3x3 stride 1 overlapping", (2, 2, 5, 6), 3, 1, 0, {}),
    ("avg", "2x2 on 8x8", (2, 3, 8, 8), 2, None, 0, {}),
    ("avg", "3x3 stride 2 padding 1 on odd 7x9", (2, 2, 7, 9), 3, 2, 1, {}),
    ("avg", "rectangular 3x2 stride (1, 2)", (1, 2, 6, 7), (3, 2), (1, 2), (1, 1), {}),
    ("avg", "3x3 stride 1 overlapping", (2, 2, 5, 6), 3, 1, 0, {}),
    ("max", "3x3 dilation 2 padding 1", (2, 2, 9, 8), 3, 1, 1, {"dilation": 2}),
    ("max", "2x3 dilation (2, 1) stride 2", (1, 2, 8, 9), (2, 3), 2, 0, {"dilation": (2, 1)}),
    ("max", "2x2 ceil mode on odd 7x9", (2, 2, 7, 9), 2, None, 0, {"ceil_mode": True}),
    ("max", "3x3 stride 2 padding 1 ceil mode on 8x10", (1, 2, 8, 10), 3, 2, 1, {"ceil_mode": True}),
    ("max", "3x3 dilation 2 stride 2 ceil mode", (1, 2, 10, 11), 3, 2, 1, {"ceil_mode": True, "dilation": 2}),
    ("avg", "3x3 stride 2 ceil mode on 8x10", (1, 2, 8, 10), 3, 2, 0, {"ceil_mode": True}),
    ("avg", "3x3 stride 2 padding 1 ceil mode on 8x10", (1, 2, 8, 10), 3, 2, 1, {"ceil_mode": True}),
    ("avg", "3x3 padding 1 without padding in the divisor", (2, 2, 7, 9), 3, 2, 1, {"count_include_pad": False}),
    ("avg", "2x2 ceil mode on odd 7x9 without padding in the divisor", (2, 2, 7, 9), 2, None, 0, {"ceil_mode": True, "count_include_pad": False}),
]
# torch keyword -> normlab option name
KEYS = {"dilation": "dilation", "ceil_mode": "ceilMode", "count_include_pad": "countIncludePad"}
# (name, x shape, output size)
ADAPTIVE = [
    ("7x9 to 3x4 (uneven bins)", (2, 3, 7, 9), (3, 4)),
    ("8x8 to 1x1 (global)", (2, 4, 8, 8), (1, 1)),
    ("5x5 to 7x7 (upsampling bins)", (1, 2, 5, 5), (7, 7)),
    ("6x6 to 3x3 (exact)", (2, 2, 6, 6), (3, 3)),
]


def make():
    gen = torch.Generator().manual_seed(4321)
    cases = []
    for op, name, xs, k, s, p, extra in WINDOWED:
        x = leaf(xs, gen)
        params = {"op": op, "kernel": k, "stride": s, "padding": p, **{KEYS[key]: v for key, v in extra.items()}}
        if op == "max":
            y, idx = F.max_pool2d(x, k, stride=s, padding=p, return_indices=True, **extra)
        else:
            y = F.avg_pool2d(x, k, stride=s, padding=p, **extra)
        gy = torch.randn(*y.shape, generator=gen)
        y.backward(gy)
        tensors = dict(x=x, y=y, gy=gy, gx=x.grad)
        if op == "max":
            tensors["indices"] = idx
        cases.append(case(f"{op} {name}", params, **tensors))
    for name, xs, size in ADAPTIVE:
        x = leaf(xs, gen)
        y = F.adaptive_avg_pool2d(x, size)
        gy = torch.randn(*y.shape, generator=gen)
        y.backward(gy)
        cases.append(case(f"adaptive {name}", {"op": "adaptive", "outputSize": size}, x=x, y=y, gy=gy, gx=x.grad))
    return cases
