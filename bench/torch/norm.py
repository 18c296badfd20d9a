#!/usr/bin/python3
"""PyTorch twins of bench/norm.ts: prints {name, threads, ms} JSON lines (median of reps)."""
import json
import sys
import time

import torch


def median_ms(fn, reps, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def fwd_bwd(mod, x, gy):
    def run():
        x.grad = None
        mod.zero_grad(set_to_none=True)
        mod(x).backward(gy)
    return run


class Formula(torch.nn.Module):
    """timm's formulas for layers PyTorch 1.13 lacks, written in torch ops (as timm runs them)."""

    def __init__(self, kind, c):
        super().__init__()
        self.kind = kind
        self.weight = torch.nn.Parameter(torch.ones(c))
        self.bias = torch.nn.Parameter(torch.zeros(c))
        self.extra = torch.nn.Parameter(torch.zeros(c) if kind == "frn" else torch.ones(c))
        self.register_buffer("running_var", torch.ones(c))

    def forward(self, x):
        v = (1, -1, 1, 1)
        w, b, e = self.weight.view(v), self.bias.view(v), self.extra.view(v)
        if self.kind == "rms2d":
            return x * x.square().mean(1, keepdim=True).add(1e-6).rsqrt() * w
        if self.kind == "ln2d":
            x = x.permute(0, 2, 3, 1)
            x = torch.nn.functional.layer_norm(x, (x.shape[-1],), self.weight, self.bias, 1e-6)
            return x.permute(0, 3, 1, 2)
        if self.kind == "frn":
            x = x * x.square().mean(dim=(2, 3), keepdim=True).add(1e-5).rsqrt()
            return torch.maximum(x * w + b, e)
        if self.kind == "b0":
            var = x.var(dim=(0, 2, 3), unbiased=False)
            left = var.add(1e-3).sqrt().view(v).expand_as(x)
            right = x * e + x.var(dim=(2, 3), unbiased=False, keepdim=True).add(1e-3).sqrt()
            return x / left.max(right) * w + b
        if self.kind == "s0":
            n, c, h, wd = x.shape
            std = x.reshape(n, 32, c // 32, h, wd).var(dim=(2, 3, 4), unbiased=False, keepdim=True).add(1e-5).sqrt()
            y = x * (x * e).sigmoid()
            return (y.reshape(n, 32, c // 32, h, wd) / std).reshape(n, c, h, wd) * w + b
        raise ValueError(self.kind)


class FrozenBN(torch.nn.Module):
    """torchvision.ops.FrozenBatchNorm2d's forward."""

    def __init__(self, c):
        super().__init__()
        for k, v in [("weight", 1.0), ("bias", 0.0), ("running_mean", 0.0), ("running_var", 1.0)]:
            self.register_buffer(k, torch.full((c,), v))

    def forward(self, x):
        scale = self.weight * (self.running_var + 1e-5).rsqrt()
        bias = self.bias - self.running_mean * scale
        return x * scale.reshape(1, -1, 1, 1) + bias.reshape(1, -1, 1, 1)


def then_relu(m):
    return torch.nn.Sequential(m, torch.nn.ReLU())


def main():
    threads = [int(t) for t in sys.argv[1].split(",")] if len(sys.argv) > 1 else [1, 2]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    g = torch.Generator().manual_seed(0)
    x4 = torch.randn(128, 64, 32, 32, generator=g).requires_grad_(True)
    gy4 = torch.randn(128, 64, 32, 32, generator=g)
    x2 = torch.randn(8192, 512, generator=g).requires_grad_(True)
    gy2 = torch.randn(8192, 512, generator=g)
    for t in threads:
        torch.set_num_threads(t)
        bn = torch.nn.BatchNorm2d(64)
        out = {
            "bn2d_fwd_bwd": median_ms(fwd_bwd(bn, x4, gy4), reps),
            "gn32_fwd_bwd": median_ms(fwd_bwd(torch.nn.GroupNorm(32, 64), x4, gy4), reps),
            "ln512_fwd_bwd": median_ms(fwd_bwd(torch.nn.LayerNorm([512]), x2, gy2), reps),
        }
        x5 = x4.detach().reshape(128, 64, 16, 8, 8).requires_grad_(True)
        gy5 = gy4.reshape(128, 64, 16, 8, 8)
        for name, mod, x, gy in [
            ("bn3d_fwd_bwd", torch.nn.BatchNorm3d(64), x5, gy5),
            ("in3d_fwd_bwd", torch.nn.InstanceNorm3d(64, affine=True), x5, gy5),
            ("frozenbn2d_fwd_bwd", FrozenBN(64), x4, gy4),
            ("rmsnorm2d_fwd_bwd", Formula("rms2d", 64), x4, gy4),
            ("layernorm2d_fwd_bwd", Formula("ln2d", 64), x4, gy4),
            ("lrn5_fwd_bwd", torch.nn.LocalResponseNorm(5), x4, gy4),
            ("frn_tlu_fwd_bwd", Formula("frn", 64), x4, gy4),
            ("evonorm_b0_fwd_bwd", Formula("b0", 64), x4, gy4),
            ("evonorm_s0_fwd_bwd", Formula("s0", 64), x4, gy4),
            ("bnact2d_fwd_bwd", then_relu(torch.nn.BatchNorm2d(64)), x4, gy4),
            ("gnact32_fwd_bwd", then_relu(torch.nn.GroupNorm(32, 64)), x4, gy4),
        ]:
            out[name] = median_ms(fwd_bwd(mod, x, gy), reps)
        bn.eval()
        with torch.no_grad():
            xd = x4.detach()
            out["bn2d_eval"] = median_ms(lambda: bn(xd), reps)
        for name, ms in out.items():
            print(json.dumps({"name": name, "threads": t, "ms": ms}), flush=True)


if __name__ == "__main__":
    main()
