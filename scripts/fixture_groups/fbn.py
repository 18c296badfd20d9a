"""Filtered BN (seed 000) against a float64 reference of the seed's algorithm: per channel mu0 and
the unbiased var0 over all values, z = (x - mu0) / sqrt(var0 + 1e-10), keep -T < z < T, the
mean and biased variance of the kept values normalize all values. The mask is computed without
gradient (a constant of the batch); autograd in float64 gives the reference gradients.
Inputs are redrawn until no |z| lies within 1e-3 of T, so float32 and float64 masks agree."""
import torch

from fixture_lib import case

GROUP = "fbn"
EPS = 1e-5


def stat_dims(x, pooled):
    return [d for d in range(x.dim()) if pooled or d != 1]


def reference(x, w, b, T, pooled):
    """float64 FBN forward; returns y, filtered mean, biased var, kept counts and |z|."""
    dims = stat_dims(x, pooled)
    with torch.no_grad():
        mu0 = x.mean(dims, keepdim=True)
        var0 = x.var(dims, unbiased=True, keepdim=True)
        z = (x - mu0) / torch.sqrt(var0 + 1e-10)
        mask = ((z > -T) & (z < T)).double()
    m = mask.sum(dims, keepdim=True)
    mu = (x * mask).sum(dims, keepdim=True) / m
    var = (((x - mu) ** 2) * mask).sum(dims, keepdim=True) / m
    y = (x - mu) / torch.sqrt(var + EPS)
    shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
    if w is not None:
        y = y * w.reshape(shape) + b.reshape(shape)
    return y, mu.flatten(), var.flatten(), m.flatten(), z.abs()


def draw(shape, g, outliers, scale, shift, T):
    while True:
        x = torch.randn(*shape, generator=g) * scale + shift
        for (idx, value) in outliers:
            x[idx] = value
        _, _, _, _, az = reference(x.double(), None, None, T, False)
        if (az - T).abs().min() > 1e-3:
            return x


def make():
    g = torch.Generator().manual_seed(3)
    cases = []
    specs = [
        ((4, 3, 5, 7), 1.0, [], False),
        ((4, 3, 5, 7), 2.0, [], False),
        ((4, 3, 5, 7), 3.0, [((0, 1, 2, 3), 60.0), ((3, 1, 0, 0), -45.0), ((2, 2, 4, 6), 80.0)], False),
        ((4, 3, 5, 7), 4.0, [((1, 0, 1, 1), 90.0), ((2, 2, 3, 3), -70.0)], False),
        ((2, 1, 5, 7), 2.0, [((1, 0, 4, 6), 40.0)], False),
        ((16, 4), 2.0, [((3, 2), 30.0)], False),
        ((8, 3, 6), 3.0, [((5, 1, 2), 50.0)], False),
        ((16, 5), 3.0, [((7, 3), 40.0)], True),
    ]
    for shape, T, outliers, pooled in specs:
        C = shape[1]
        w = (1 + 0.5 * torch.randn(C, generator=g)).double()
        b = torch.randn(C, generator=g).double()
        xs = [draw(shape, g, outliers if k == 0 else [], 1 + k, k, T) for k in range(3)]
        rm = torch.zeros(C, dtype=torch.float64)
        rv = torch.ones(C, dtype=torch.float64)
        out = {}
        for k, xk in enumerate(xs):
            x = xk.double().requires_grad_(k == 0)
            wk = w.clone().requires_grad_(k == 0)
            bk = b.clone().requires_grad_(k == 0)
            y, mu, var, m, _ = reference(x, wk, bk, T, pooled)
            if k == 0:
                gy = torch.randn(*shape, generator=g)
                y.backward(gy.double())
                out.update(y0=y, gy=gy, gx=x.grad, gw=wk.grad, gb=bk.grad, kept=m / (x.numel() / (1 if pooled else C)))
            unbiased = var * m / (m - 1)
            rm = 0.9 * rm + 0.1 * mu.expand(C)
            rv = 0.9 * rv + 0.1 * unbiased.expand(C)
        xe = draw(shape, g, [], 1.5, 0.5, T)
        scale = w / torch.sqrt(rv + EPS)
        bshape = [1, C] + [1] * (len(shape) - 2)
        ye = xe.double() * scale.reshape(bshape) + (b - rm * scale).reshape(bshape)
        ye_batch = reference(xe.double(), w, b, T, pooled)[0]
        name = f"FBN {list(shape)} T={T} outliers={len(outliers)}{' pooled' if pooled else ''}"
        cases.append(case(name, dict(shape=list(shape), threshold=T, pooled=pooled, outliers=[list(i) for i, _ in outliers]),
                          x0=xs[0], x1=xs[1], x2=xs[2], weight=w, bias=b, xe=xe, ye=ye, ye_batch=ye_batch,
                          running_mean=rm, running_var=rv, **out))
    return cases
