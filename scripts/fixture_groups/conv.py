"""conv2d: forward and gradients of input, weight and bias for a random upstream gradient."""
import torch
import torch.nn.functional as F

from fixture_lib import case, leaf

GROUP = "conv"

# The ResNet-like case uses 32 channels: a 64->64 3x3 weight and its gradient alone would take
# ~390 KB of base64, over the fixture size budget; the 64-channel layer is checked against a
# float64 reference in test/ops/conv.test.ts instead.
# (name, x shape, weight shape, stride, padding, dilation, groups, bias)
SHAPES = [
    ("odd 7x9 3x3", (2, 3, 7, 9), (4, 3, 3, 3), 1, 0, 1, 1, True),
    ("stride 2 padding 1", (2, 3, 7, 9), (5, 3, 3, 3), 2, 1, 1, 1, True),
    ("rectangular kernel, stride and padding", (2, 2, 8, 7), (3, 2, 3, 2), (2, 1), (1, 0), 1, 1, True),
    ("dilation 2 padding 2", (2, 2, 9, 8), (3, 2, 3, 3), 1, 2, 2, 1, True),
    ("groups 2", (2, 4, 6, 6), (6, 2, 3, 3), 1, 1, 1, 2, True),
    ("depthwise stride 2", (2, 4, 7, 7), (4, 1, 3, 3), 2, 1, 1, 4, True),
    ("batch 1", (1, 3, 6, 5), (2, 3, 3, 3), 1, 1, 1, 1, True),
    ("1x1", (2, 6, 4, 5), (5, 6, 1, 1), 1, 0, 1, 1, True),
    ("1x1 stride 2", (2, 4, 5, 6), (3, 4, 1, 1), 2, 0, 1, 1, True),
    ("no bias", (2, 3, 6, 6), (4, 3, 3, 3), 1, 1, 1, 1, False),
    ("MNIST-like 1->16 5x5 28x28", (1, 1, 28, 28), (16, 1, 5, 5), 1, 0, 1, 1, True),
    ("ResNet-like 3x3 pad 1, 32 channels", (1, 32, 4, 4), (32, 32, 3, 3), 1, 1, 1, 1, True),
    ("batch larger than the weight-gradient chunk count", (11, 2, 4, 4), (2, 2, 3, 3), 1, 1, 1, 1, True),
]


def make():
    gen = torch.Generator().manual_seed(1234)
    cases = []
    for name, xs, ws, stride, padding, dilation, groups, has_bias in SHAPES:
        x = leaf(xs, gen)
        w = leaf(ws, gen, 0.3)
        b = leaf((ws[0],), gen) if has_bias else None
        y = F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
        gy = torch.randn(*y.shape, generator=gen)
        y.backward(gy)
        params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups, "bias": has_bias}
        tensors = dict(x=x, w=w, y=y, gy=gy, gx=x.grad, gw=w.grad)
        if has_bias:
            tensors.update(b=b, gb=b.grad)
        cases.append(case(name, params, **tensors))
    return cases
