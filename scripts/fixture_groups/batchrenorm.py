"""Batch Renorm against a float64 reference of its formulas (torch double autograd, r and d
detached), as Keras renorm=True: sigma_B = sqrt(var_B + eps) with the biased var_B,
r = clip(sigma_B / renorm_std, 1/rMax, rMax), d = clip((mean_B - renorm_mean) / renorm_std,
-dMax, dMax), y = ((x - mean_B) / sigma_B * r + d) * w + b; r = 1, d = 0 during warm-up;
renorm_mean/renorm_std move toward mean_B/sigma_B with renormMomentum; running_mean/var as BN."""
import torch

from fixture_lib import case

GROUP = "batchrenorm"
EPS = 1e-5


def make():
    g = torch.Generator().manual_seed(4)
    cases = []
    for shape, r_max, d_max, warmup, rmom in [((4, 3, 5, 7), 1.5, 0.5, 0, 0.5), ((4, 3, 5, 7), 3.0, 5.0, 1, 0.3), ((16, 4), 1.2, 0.2, 0, 0.5), ((2, 1, 5, 7), 2.0, 1.0, 2, 0.5)]:
        C = shape[1]
        dims = [d for d in range(len(shape)) if d != 1]
        bshape = [1, C] + [1] * (len(shape) - 2)
        w = (1 + 0.5 * torch.randn(C, generator=g)).double()
        b = torch.randn(C, generator=g).double()
        rm, rv = torch.zeros(C, dtype=torch.float64), torch.ones(C, dtype=torch.float64)
        mu_r, sd_r = torch.zeros(C, dtype=torch.float64), torch.ones(C, dtype=torch.float64)
        xs = [torch.randn(*shape, generator=g) * (1 + k) + 2 * k for k in range(3)]
        out = {}
        for k, xk in enumerate(xs):
            x = xk.double().requires_grad_(True)
            wk, bk = w.clone().requires_grad_(True), b.clone().requires_grad_(True)
            mean = x.mean(dims)
            var = ((x - mean.reshape(bshape)) ** 2).mean(dims)
            sigma = torch.sqrt(var + EPS)
            if k < warmup:
                r, d = torch.ones(C, dtype=torch.float64), torch.zeros(C, dtype=torch.float64)
            else:
                r = torch.clamp(sigma.detach() / sd_r, 1 / r_max, r_max)
                d = torch.clamp((mean.detach() - mu_r) / sd_r, -d_max, d_max)
            xhat = (x - mean.reshape(bshape)) / sigma.reshape(bshape)
            y = (xhat * r.reshape(bshape) + d.reshape(bshape)) * wk.reshape(bshape) + bk.reshape(bshape)
            gy = torch.randn(*shape, generator=g)
            y.backward(gy.double())
            out.update({f"y{k}": y, f"gy{k}": gy, f"gx{k}": x.grad, f"gw{k}": wk.grad, f"gb{k}": bk.grad})
            n = x.numel() / C
            with torch.no_grad():
                rm = 0.9 * rm + 0.1 * mean
                rv = 0.9 * rv + 0.1 * var * n / (n - 1)
                mu_r = (1 - rmom) * mu_r + rmom * mean
                sd_r = (1 - rmom) * sd_r + rmom * sigma
        xe = torch.randn(*shape, generator=g)
        ye = (xe.double() - rm.reshape(bshape)) / torch.sqrt(rv.reshape(bshape) + EPS) * w.reshape(bshape) + b.reshape(bshape)
        name = f"BatchRenorm {list(shape)} rMax={r_max} dMax={d_max} warmup={warmup}"
        cases.append(case(name, dict(shape=list(shape), rMax=r_max, dMax=d_max, warmupSteps=warmup, renormMomentum=rmom),
                          x0=xs[0], x1=xs[1], x2=xs[2], weight=w, bias=b, xe=xe, ye=ye, running_mean=rm, running_var=rv,
                          renorm_mean=mu_r, renorm_std=sd_r, **out))
    return cases
