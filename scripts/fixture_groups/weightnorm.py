"""Weight norm (torch.nn.utils.weight_norm's reparameterization, torch._weight_norm): weight_g,
weight_v, the output of y = x @ w.reshape(out, -1).T and the gradients of g, v and x."""
import torch

from fixture_lib import case

GROUP = "weightnorm"


def make():
    g = torch.Generator().manual_seed(5)
    cases = []
    for wshape, dim in [((3, 5), 0), ((3, 5), 1), ((4, 2, 3, 3), 0), ((3, 5), -1)]:
        lin = torch.nn.Module()
        lin.weight = torch.nn.Parameter(torch.randn(*wshape, generator=g))
        torch.nn.utils.weight_norm(lin, "weight", dim=None if dim == -1 else dim)
        gparam, vparam = lin.weight_g, lin.weight_v
        wt = torch._weight_norm(vparam, gparam, dim)
        k = wt[0].numel()
        x = torch.randn(6, k, generator=g).requires_grad_(True)
        y = x @ wt.reshape(wshape[0], -1).t()
        gy = torch.randn(*y.shape, generator=g)
        y.backward(gy)
        cases.append(case(f"weightNorm weight {list(wshape)} dim={dim}", dict(wshape=list(wshape), dim=dim),
                          weight_v=vparam.detach(), weight_g=gparam.detach(), x=x.detach(), y=y, gy=gy,
                          gg=gparam.grad, gv=vparam.grad, gx=x.grad))
    return cases
