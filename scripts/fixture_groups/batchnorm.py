"""BatchNorm1d/2d: forward, gradients (random upstream gradient), running statistics after 3
training steps with different inputs, eval output; option combinations and odd shapes."""
import torch

from fixture_lib import case

GROUP = "batchnorm"

SHAPES = {"2d_odd": (4, 3, 5, 7), "2d_n2_c1": (2, 1, 5, 7), "1d_nc": (8, 4), "1d_ncl": (4, 3, 6)}
OPTIONS = [
    ("2d_odd", dict(momentum=0.1, affine=True, track=True, bn_weight=0.0)),
    ("2d_odd", dict(momentum=None, affine=True, track=True, bn_weight=0.0)),
    ("2d_odd", dict(momentum=0.1, affine=False, track=True, bn_weight=0.0)),
    ("2d_odd", dict(momentum=0.1, affine=True, track=False, bn_weight=0.0)),
    ("2d_odd", dict(momentum=0.1, affine=True, track=True, bn_weight=0.1)),
    ("2d_n2_c1", dict(momentum=0.1, affine=True, track=True, bn_weight=0.0)),
    ("1d_nc", dict(momentum=0.1, affine=True, track=True, bn_weight=0.0)),
    ("1d_ncl", dict(momentum=None, affine=False, track=True, bn_weight=0.0)),
]


def make():
    g = torch.Generator().manual_seed(1)
    cases = []
    for shape_name, o in OPTIONS:
        shape = SHAPES[shape_name]
        C = shape[1]
        cls = torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d
        bn = cls(C, eps=1e-5, momentum=o["momentum"], affine=o["affine"], track_running_stats=o["track"])
        if o["affine"]:
            with torch.no_grad():
                bn.weight.fill_(o["bn_weight"] if o["bn_weight"] > 0 else 1.0)
                # A non-trivial affine so gradients and outputs exercise it.
                bn.weight.add_(torch.rand(C, generator=g) * 0.5)
                bn.bias.copy_(torch.randn(C, generator=g))
        init = {}
        if o["affine"]:
            init = dict(weight=bn.weight.detach().clone(), bias=bn.bias.detach().clone())
        bn.train()
        xs = [torch.randn(*shape, generator=g) * (1 + k) + k for k in range(3)]
        x0 = xs[0].clone().requires_grad_(True)
        y0 = bn(x0)
        gy = torch.randn(*shape, generator=g)
        y0.backward(gy)
        grads = dict(gx=x0.grad)
        if o["affine"]:
            grads.update(gw=bn.weight.grad, gb=bn.bias.grad)
        for k in (1, 2):
            bn(xs[k])
        bn.eval()
        xe = torch.randn(*shape, generator=g) * 2 + 1
        ye = bn(xe)
        stats = {}
        if o["track"]:
            stats = dict(running_mean=bn.running_mean, running_var=bn.running_var,
                         num_batches_tracked=bn.num_batches_tracked.float().reshape(()))
        name = f"{cls.__name__} {shape_name} momentum={o['momentum']} affine={o['affine']} track={o['track']} bnWeight={o['bn_weight']}"
        params = dict(shape=list(shape), momentum=o["momentum"], affine=o["affine"], track=o["track"], bnWeight=o["bn_weight"])
        cases.append(case(name, params, x0=xs[0], x1=xs[1], x2=xs[2], gy=gy, y0=y0, xe=xe, ye=ye, **init, **grads, **stats))
    return cases
