"""Optimizer steps: a parameter, three gradients, the parameter after each step (torch.optim)."""
import math

import torch

GROUP = "optim"

CONFIGS = [
    ("sgd_plain", torch.optim.SGD, dict(lr=0.1)),
    ("sgd_momentum", torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    ("sgd_momentum_dampening_wd", torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=1e-2)),
    ("sgd_nesterov_wd", torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)),
    ("adam", torch.optim.Adam, dict(lr=1e-2)),
    ("adam_wd", torch.optim.Adam, dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2)),
    ("adamw", torch.optim.AdamW, dict(lr=1e-2, weight_decay=0.1)),
    ("rmsprop", torch.optim.RMSprop, dict(lr=1e-2)),
    ("rmsprop_keras", torch.optim.RMSprop, dict(lr=1e-3, alpha=0.9, eps=1e-7)),
    ("rmsprop_momentum_centered_wd", torch.optim.RMSprop, dict(lr=1e-2, momentum=0.5, centered=True, weight_decay=1e-3)),
]


def make():
    from fixture_lib import case

    cases = []
    gen = torch.Generator().manual_seed(11)
    for name, cls, kw in CONFIGS:
        p0 = torch.randn(37, generator=gen)
        grads = torch.randn(3, 37, generator=gen)
        p = p0.clone().requires_grad_(True)
        opt = cls([p], **kw)
        after = []
        for g in grads:
            p.grad = g.clone()
            opt.step()
            after.append(p.detach().clone())
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()}
        params["optimizer"] = cls.__name__
        cases.append(case(name, params, p0=p0, grads=grads, after=torch.stack(after)))
    # Cosine schedule over 10 epochs from lr 0.1 and lr 0.001 (= 0.1 / c with c = 100).
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([{"params": [p], "lr": 0.1}, {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.001}], lr=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=1e-4)
    lrs = []
    for _ in range(10):
        opt.step()
        sched.step()
        lrs.append([g["lr"] for g in opt.param_groups])
    cases.append(case("cosine", {"tMax": 10, "etaMin": 1e-4}, lrs=torch.tensor(lrs, dtype=torch.float64).float()))
    return cases
