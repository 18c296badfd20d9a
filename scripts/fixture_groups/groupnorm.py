"""GroupNorm, LayerNorm and InstanceNorm: forward and gradients with a random upstream gradient
(InstanceNorm also with running statistics and num_batches_tracked over 3 steps, and eval)."""
import torch

from fixture_lib import case

GROUP = "groupnorm"


def fwd_bwd(mod, x, g):
    x = x.clone().requires_grad_(True)
    y = mod(x)
    gy = torch.randn(*y.shape, generator=g)
    y.backward(gy)
    out = dict(x=x.detach(), gy=gy, y=y, gx=x.grad)
    if getattr(mod, "weight", None) is not None:
        out.update(weight=mod.weight.detach(), bias=mod.bias.detach(), gw=mod.weight.grad, gb=mod.bias.grad)
    return out


def affine_init(mod, g):
    if getattr(mod, "weight", None) is not None:
        with torch.no_grad():
            mod.weight.copy_(1 + 0.5 * torch.randn(*mod.weight.shape, generator=g))
            mod.bias.copy_(torch.randn(*mod.bias.shape, generator=g))


def make():
    g = torch.Generator().manual_seed(2)
    cases = []
    for groups, shape, affine in [(2, (3, 4, 5, 7), True), (1, (2, 6, 3, 3), True), (6, (2, 6, 4, 4), False), (3, (4, 6), True), (2, (2, 4, 9), True)]:
        m = torch.nn.GroupNorm(groups, shape[1], affine=affine)
        affine_init(m, g)
        x = torch.randn(*shape, generator=g) * 3 + 1
        cases.append(case(f"GroupNorm({groups}, {shape[1]}) on {list(shape)} affine={affine}",
                          dict(kind="gn", groups=groups, shape=list(shape), affine=affine), **fwd_bwd(m, x, g)))
    for nshape, shape, affine in [([7], (5, 7), True), ([3, 5, 7], (2, 3, 5, 7), True), ([6], (2, 3, 6), False), ([4, 4], (3, 2, 4, 4), True)]:
        m = torch.nn.LayerNorm(nshape, elementwise_affine=affine)
        affine_init(m, g)
        x = torch.randn(*shape, generator=g) * 2 - 1
        cases.append(case(f"LayerNorm({nshape}) on {list(shape)} affine={affine}",
                          dict(kind="ln", normalizedShape=nshape, shape=list(shape), affine=affine), **fwd_bwd(m, x, g)))
    for shape, affine, track in [((3, 4, 5, 7), True, False), ((2, 1, 5, 7), False, False), ((4, 3, 9), True, False), ((3, 4, 5, 7), True, True), ((4, 3, 9), False, True)]:
        cls = torch.nn.InstanceNorm2d if len(shape) == 4 else torch.nn.InstanceNorm1d
        m = cls(shape[1], affine=affine, track_running_stats=track)
        affine_init(m, g)
        m.train()
        xs = [torch.randn(*shape, generator=g) * (1 + k) + k for k in range(3)]
        out = fwd_bwd(m, xs[0], g)
        for k in (1, 2):
            m(xs[k])
        m.eval()
        xe = torch.randn(*shape, generator=g)
        extra = dict(x1=xs[1], x2=xs[2], xe=xe, ye=m(xe))
        if track:
            # PyTorch's _InstanceNorm never increments num_batches_tracked (it stays 0 here).
            extra.update(running_mean=m.running_mean, running_var=m.running_var, num_batches_tracked=m.num_batches_tracked)
        cases.append(case(f"{cls.__name__}({shape[1]}) on {list(shape)} affine={affine} track={track}",
                          dict(kind="in", shape=list(shape), affine=affine, track=track), **out, **extra))
    return cases
