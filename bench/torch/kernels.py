#!/usr/bin/python3
"""PyTorch twins of bench/kernel_cases.ts: one line {name, threads, ms, load} per case name
(ms null where PyTorch has no counterpart). Outputs are preallocated (out= or in-place) where
PyTorch offers it. Backward kernels call the aten backward op autograd would call.

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/torch/kernels.py [threads=1,2] [reps=7] [filter]
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

aten = torch.ops.aten
LARGE = [128, 64, 32, 32]
SMALL = [8, 16, 8, 8]


def sname(s):
    return "x".join(str(d) for d in s)


def prod(s):
    return math.prod(s)


def time_call(fn, reps):
    """Median ms per call, batches of calls lasting >= 0.2 ms (as bench/kernels.ts)."""
    fn()
    t0 = time.perf_counter()
    fn()
    once = max((time.perf_counter() - t0) * 1e3, 1e-4)
    batch = max(1, math.ceil(0.2 / once))
    samples = max(reps, min(200, int(150 / (once * batch))))
    for _ in range(batch):
        fn()
    times = []
    for _ in range(samples):
        a = time.perf_counter()
        for _ in range(batch):
            fn()
        times.append((time.perf_counter() - a) * 1e3 / batch)
    times.sort()
    return times[len(times) // 2]


def rnd(shape, lo=-1.0, hi=1.0):
    return torch.rand(shape) * (hi - lo) + lo


def cases(threads):
    """(name, setup) pairs; setup() returns the call to time, or None (no counterpart)."""
    c = []

    def add(name, setup):
        c.append((name, setup))

    add("getNumThreads", lambda: torch.get_num_threads)
    add("setNumThreads", lambda: (lambda: torch.set_num_threads(threads)))
    cap = getattr(torch.backends.cpu, "get_cpu_capability", None) if hasattr(torch.backends, "cpu") else None
    add("getIsa", lambda: cap)
    add("setIsa", lambda: None)
    add("supportedIsas", lambda: None)

    for n in (64, 512):
        def s(n=n):
            a, b, o = rnd((n, n)), rnd((n, n)), torch.empty(n, n)
            return lambda: torch.mm(a, b, out=o)
        add(f"sgemm {n}x{n}x{n}", s)

    for tag, shape, bshape in (("large", LARGE, [1, 64, 1, 1]), ("small", [64, 10], [10])):
        def s_add(shape=shape, bshape=bshape):
            a, b, o = rnd(shape), rnd(bshape), torch.empty(shape)
            return lambda: torch.add(a, b, out=o)
        add(f"binary add {sname(shape)}+{sname(bshape)}", s_add)

        def s_mul(shape=shape):
            a, b, o = rnd(shape), rnd(shape), torch.empty(shape)
            return lambda: torch.mul(a, b, out=o)
        add(f"binary mul {sname(shape)}*{sname(shape)}", s_mul)
        for op, fn in (("relu", None), ("exp", torch.exp), ("sigmoid", torch.sigmoid)):
            def s_un(shape=shape, op=op, fn=fn):
                x, y = rnd(shape), torch.empty(shape)
                if op == "relu":
                    return lambda: torch.clamp_min(x, 0, out=y)
                return lambda: fn(x, out=y)
            add(f"unary {op} {sname(shape)} {tag}", s_un)
        for op in ("relu", "sigmoid"):
            def s_ub(shape=shape, op=op):
                x, y, gy = rnd(shape), rnd(shape, 0, 1), rnd(shape)
                gx = torch.empty(shape)
                if op == "relu":
                    return lambda: aten.threshold_backward.grad_input(gy, x, 0, grad_input=gx)
                return lambda: aten.sigmoid_backward.grad_input(gy, y, grad_input=gx)
            add(f"unaryBackward {op} {sname(shape)} {tag}", s_ub)

        def s_sts(shape=shape, bshape=bshape):
            g = rnd(shape)
            dims = [i for i in range(len(shape)) if i >= len(shape) - len(bshape) and bshape[i - len(shape) + len(bshape)] == shape[i]]
            red = [i for i in range(len(shape)) if i not in dims]
            keep = len(bshape) == len(shape)
            o = torch.empty(bshape)
            return lambda: torch.sum(g, red, keepdim=keep, out=o)
        add(f"sumToShape {sname(shape)}->{sname(bshape)}", s_sts)

        def s_mmb(shape=shape):
            a, b, g = rnd(shape), rnd(shape), rnd(shape)
            b.view(-1)[::4] = a.view(-1)[::4]
            ga, gb = torch.empty(shape), torch.empty(shape)

            def run():
                # maximum's gradient: g where a wins, g / 2 on ties (as the kernel).
                torch.where(a > b, g, torch.where(a == b, g * 0.5, 0), out=ga)
                torch.sub(g, ga, out=gb)
            return run
        add(f"minMaxBackward max {sname(shape)}", s_mmb)

    reductions = [
        ("sum()", LARGE, None, "sum"), ("sum([0,2,3])", LARGE, [0, 2, 3], "sum"), ("var()", LARGE, None, "var"),
        ("std([0,2,3])", LARGE, [0, 2, 3], "std"), ("mean(1)", LARGE, [1], "mean"), ("max(1)", LARGE, 1, "max"),
        ("sum(1)", [64, 10], [1], "sum"), ("max(1)", [64, 10], 1, "max"),
    ]
    for label, shape, dims, op in reductions:
        def s_red(shape=shape, dims=dims, op=op):
            x = rnd(shape, -1, 3)
            d = list(range(len(shape))) if dims is None else dims
            if op == "max":
                v, i = torch.max(x, d)
                return lambda: torch.max(x, d, out=(v, i))
            fn = {"sum": torch.sum, "mean": torch.mean}.get(op)
            if fn is not None:
                o = fn(x, d)
                return lambda: fn(x, d, out=o)
            fn = torch.var if op == "var" else torch.std
            o = fn(x, d, unbiased=True)
            return lambda: fn(x, d, unbiased=True, out=o)
        add(f"reduce {label} {sname(shape)}", s_red)
    for label, shape, dims, by_index in (
        ("max(1) index", LARGE, [1], True), ("amax([0,2,3]) ties", LARGE, [0, 2, 3], False), ("max(1) index", [64, 10], [1], True),
    ):
        def s_eb(shape=shape, dims=dims, by_index=by_index):
            x, gx = rnd(shape), torch.empty(shape)
            if by_index:
                v, i = torch.max(x, dims[0], keepdim=True)
                g = rnd(v.shape)
                return lambda: gx.zero_().scatter_(dims[0], i, g)
            v = torch.amax(x, dims, keepdim=True)
            g = rnd(v.shape)

            def run():
                mask = x == v
                torch.mul(mask, g / mask.sum(dims, keepdim=True), out=gx)
            return run
        add(f"extremeBackward {label} {sname(shape)}", s_eb)
    for shape in (LARGE, SMALL):
        def s_perm(shape=shape):
            x = rnd(shape)
            o = torch.empty([shape[0], shape[2], shape[3], shape[1]])
            return lambda: o.copy_(x.permute(0, 2, 3, 1))
        add(f"permute(0,2,3,1) {sname(shape)}", s_perm)

        def s_copy(shape=shape):
            x, o = rnd(shape), torch.empty(shape)
            return lambda: o.copy_(x)
        add(f"copyFloats {sname(shape)}", s_copy)
        half = [shape[0], shape[1] // 2, shape[2], shape[3]]
        padded = [shape[0], shape[1], shape[2] + 2, shape[3] + 2]

        def s_cat(shape=shape, half=half):
            x, o = rnd(half), torch.empty(shape)
            return lambda: o[:, half[1]:].copy_(x)
        add(f"copyRegion concat channels {sname(half)}->{sname(shape)}", s_cat)

        def s_pad(shape=shape, padded=padded):
            x, o = rnd(shape), torch.empty(padded)
            return lambda: o[:, :, 1:-1, 1:-1].copy_(x)
        add(f"copyRegion pad 1 {sname(shape)}->{sname(padded)}", s_pad)

    for n in (1 << 20, 1 << 10):
        tag = "1M" if n > 4096 else "1k"
        for kname, make in (
            ("sgdStep momentum", lambda p: torch.optim.SGD([p], lr=0.01, momentum=0.9)),
            ("adamStep", lambda p: torch.optim.Adam([p], lr=1e-3)),
            ("rmspropStep", lambda p: torch.optim.RMSprop([p], lr=0.01, alpha=0.99, eps=1e-8)),
        ):
            def s_opt(n=n, make=make):
                p = torch.nn.Parameter(rnd((n,)))
                p.grad = rnd((n,))
                opt = make(p)
                return opt.step
            add(f"{kname} {tag}", s_opt)

    for rows, cols in ((4096, 1024), (256, 10), (64, 10)):
        def s_sm(rows=rows, cols=cols):
            x, y = rnd((rows, cols), -4, 4), torch.empty(rows, cols)
            return lambda: aten._softmax.out(x, -1, False, out=y)
        add(f"softmaxForward {rows}x{cols}", s_sm)

        def s_smb(rows=rows, cols=cols):
            y, gy, gx = rnd((rows, cols), 0, 1 / cols), rnd((rows, cols)), torch.empty(rows, cols)
            return lambda: aten._softmax_backward_data.out(gy, y, -1, torch.float32, grad_input=gx)
        add(f"softmaxBackward {rows}x{cols}", s_smb)
        target = torch.tensor([(i * 7) % cols for i in range(rows)], dtype=torch.long)

        def s_ce(rows=rows, cols=cols, target=target):
            x = rnd((rows, cols), -4, 4)
            return lambda: F.cross_entropy(x, target)
        add(f"crossEntropyForward {rows}x{cols}", s_ce)

        def s_ceb(rows=rows, cols=cols, target=target):
            x = rnd((rows, cols), -4, 4)
            lsm = torch.log_softmax(x, 1)
            _, total = aten.nll_loss_forward(lsm, target, None, 1, -100)
            g = torch.tensor(1.0)

            def run():
                gl = aten.nll_loss_backward(g, lsm, target, None, 1, -100, total)
                return aten._log_softmax_backward_data(gl, lsm, 1, torch.float32)
            return run
        add(f"crossEntropyBackward {rows}x{cols}", s_ceb)

        def s_nll(rows=rows, cols=cols, target=target):
            x = rnd((rows, cols), -5, 0)
            return lambda: F.nll_loss(x, target)
        add(f"nllLossForward {rows}x{cols}", s_nll)

        def s_nllb(rows=rows, cols=cols, target=target):
            x = rnd((rows, cols), -5, 0)
            _, total = aten.nll_loss_forward(x, target, None, 1, -100)
            g = torch.tensor(1.0)
            return lambda: aten.nll_loss_backward(g, x, target, None, 1, -100, total)
        add(f"nllLossBackward {rows}x{cols}", s_nllb)

        def s_ct(rows=rows, target=target):
            values = target.to(torch.float32)
            return lambda: values.to(torch.long)
        add(f"classTargets {rows}x{cols}", s_ct)

    for n in (prod(LARGE), 640):
        tag = sname(LARGE) if n > 4096 else "64x10"

        def s_mse(n=n):
            a, b = rnd((n,)), rnd((n,))
            return lambda: F.mse_loss(a, b)
        add(f"mseLossForward {tag}", s_mse)

        def s_mseb(n=n):
            a, b, g, o = rnd((n,)), rnd((n,)), torch.tensor(1.0), torch.empty(n)
            return lambda: aten.mse_loss_backward.grad_input(g, a, b, 1, grad_input=o)
        add(f"mseLossBackward {tag}", s_mseb)

        def s_bce(n=n):
            x, y = rnd((n,), -4, 4), rnd((n,), 0, 1)
            return lambda: F.binary_cross_entropy_with_logits(x, y)
        add(f"bceWithLogitsForward {tag}", s_bce)

        def s_bceb(n=n):
            # PyTorch 1.13 differentiates the composite: grad * (sigmoid(x) - y) / n.
            x, y, o = rnd((n,), -4, 4), rnd((n,), 0, 1), torch.empty(n)
            g = torch.tensor(1.0 / n)

            def run():
                torch.sigmoid(x, out=o)
                return o.sub_(y).mul_(g)
            return run
        add(f"bceWithLogitsBackward {tag}", s_bceb)

        def s_drop(n=n):
            m = torch.empty(n)
            return lambda: m.bernoulli_(0.5).div_(0.5)
        add(f"dropoutMask {tag}", s_drop)

    for N, C, H in ((8, 16, 16), (32, 64, 32)):
        xs, ws = [N, C, H, H], [C, C, 3, 3]
        nm = f"{sname(xs)} w{sname(ws)}"

        def s_cf(xs=xs, ws=ws):
            x, w = rnd(xs), rnd(ws, -0.1, 0.1)
            return lambda: F.conv2d(x, w, None, 1, 1)
        add(f"conv2dForward {nm}", s_cf)

        def s_cbi(xs=xs, ws=ws):
            x, w, dy = rnd(xs), rnd(ws, -0.1, 0.1), rnd(xs)
            return lambda: aten.convolution_backward(dy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [True, False, False])
        add(f"conv2dBackwardInput {nm}", s_cbi)

        def s_cbw(xs=xs, ws=ws):
            x, w, dy = rnd(xs), rnd(ws, -0.1, 0.1), rnd(xs)
            return lambda: aten.convolution_backward(dy, x, w, [ws[0]], [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [False, True, True])
        add(f"conv2dBackwardWeight {nm}", s_cbw)

    for xs in (LARGE, SMALL):
        os_ = [xs[0], xs[1], xs[2] // 2, xs[3] // 2]

        def s_mpf(xs=xs):
            x = rnd(xs)
            return lambda: F.max_pool2d(x, 2, 2, return_indices=True)
        add(f"maxPool2dForward 2x2 {sname(xs)}", s_mpf)

        def s_mpb(xs=xs, os_=os_):
            x = rnd(xs)
            _, idx = F.max_pool2d(x, 2, 2, return_indices=True)
            dy, dx = rnd(os_), torch.empty(xs)
            return lambda: aten.max_pool2d_with_indices_backward.grad_input(dy, x, [2, 2], [2, 2], [0, 0], [1, 1], False, idx, grad_input=dx)
        add(f"maxPool2dBackward 2x2 {sname(xs)}", s_mpb)

        def s_apf(xs=xs, os_=os_):
            x, y = rnd(xs), torch.empty(os_)
            return lambda: aten.avg_pool2d.out(x, [2, 2], [2, 2], [0, 0], False, True, None, out=y)
        add(f"avgPool2dForward 2x2 {sname(xs)}", s_apf)

        def s_apb(xs=xs, os_=os_):
            x, dy, dx = rnd(xs), rnd(os_), torch.empty(xs)
            return lambda: aten.avg_pool2d_backward.grad_input(dy, x, [2, 2], [2, 2], [0, 0], False, True, None, grad_input=dx)
        add(f"avgPool2dBackward 2x2 {sname(xs)}", s_apb)

        def s_aaf(xs=xs):
            x = rnd(xs)
            return lambda: F.adaptive_avg_pool2d(x, 1)
        add(f"adaptiveAvgPool2dForward 1x1 {sname(xs)}", s_aaf)

        def s_aab(xs=xs):
            x, dy = rnd(xs), rnd([xs[0], xs[1], 1, 1])
            return lambda: aten._adaptive_avg_pool2d_backward(dy, x)
        add(f"adaptiveAvgPool2dBackward 1x1 {sname(xs)}", s_aab)

    for xs in (LARGE, SMALL):
        N, C = xs[0], xs[1]
        HW = xs[2] * xs[3]
        G = C // 2

        def s_bnf(xs=xs, C=C):
            x, w, b = rnd(xs), torch.ones(C), torch.zeros(C)
            return lambda: aten.native_batch_norm(x, w, b, None, None, True, 0.1, 1e-5)
        add(f"batchNormForward {sname(xs)}", s_bnf)

        def s_bnb(xs=xs, C=C):
            x, w, b, dy = rnd(xs), torch.ones(C), torch.zeros(C), rnd(xs)
            _, mean, invstd = aten.native_batch_norm(x, w, b, None, None, True, 0.1, 1e-5)
            return lambda: aten.native_batch_norm_backward(dy, x, w, None, None, mean, invstd, True, 1e-5, [True, True, True])
        add(f"batchNormBackward {sname(xs)}", s_bnb)

        # BatchNormAct2d's step in PyTorch: the BN kernel, then relu and its backward separately.
        def s_bnaf(xs=xs, C=C):
            x, w, b = rnd(xs), torch.ones(C), torch.zeros(C)
            return lambda: torch.relu(aten.native_batch_norm(x, w, b, None, None, True, 0.1, 1e-5)[0])
        add(f"batchNormForward relu {sname(xs)}", s_bnaf)

        def s_bnab(xs=xs, C=C):
            x, w, b, dy = rnd(xs), torch.ones(C), torch.zeros(C), rnd(xs)
            y0, mean, invstd = aten.native_batch_norm(x, w, b, None, None, True, 0.1, 1e-5)
            y = torch.relu(y0)

            def step():
                g = aten.threshold_backward(dy, y, 0)
                return aten.native_batch_norm_backward(g, x, w, None, None, mean, invstd, True, 1e-5, [True, True, True])
            return step
        add(f"batchNormBackward relu {sname(xs)}", s_bnab)

        def s_aff(xs=xs, C=C):
            x, w, b, rm, rv = rnd(xs), rnd((C,)), rnd((C,)), torch.zeros(C), torch.ones(C)
            return lambda: F.batch_norm(x, rm, rv, w, b, False)
        add(f"normChannelAffine {sname(xs)}", s_aff)

        def s_gnf(xs=xs, N=N, C=C, HW=HW, G=G):
            x, w, b = rnd(xs), torch.ones(C), torch.zeros(C)
            return lambda: aten.native_group_norm(x, w, b, N, C, HW, G, 1e-5)
        add(f"groupNormForward G{G} {sname(xs)}", s_gnf)

        def s_gnb(xs=xs, N=N, C=C, HW=HW, G=G):
            x, w, b, dy = rnd(xs), torch.ones(C), torch.zeros(C), rnd(xs)
            _, mean, rstd = aten.native_group_norm(x, w, b, N, C, HW, G, 1e-5)
            return lambda: aten.native_group_norm_backward(dy, x, mean, rstd, w, N, C, HW, G, [True, True, True])
        add(f"groupNormBackward G{G} {sname(xs)}", s_gnb)

        # GroupNormAct's step in PyTorch: the GN kernel, then relu and its backward separately.
        def s_gnaf(xs=xs, N=N, C=C, HW=HW, G=G):
            x, w, b = rnd(xs), torch.ones(C), torch.zeros(C)
            return lambda: torch.relu(aten.native_group_norm(x, w, b, N, C, HW, G, 1e-5)[0])
        add(f"groupNormForward relu G{G} {sname(xs)}", s_gnaf)

        def s_gnab(xs=xs, N=N, C=C, HW=HW, G=G):
            x, w, b, dy = rnd(xs), torch.ones(C), torch.zeros(C), rnd(xs)
            y0, mean, rstd = aten.native_group_norm(x, w, b, N, C, HW, G, 1e-5)
            y = torch.relu(y0)

            def step():
                g = aten.threshold_backward(dy, y, 0)
                return aten.native_group_norm_backward(g, x, mean, rstd, w, N, C, HW, G, [True, True, True])
            return step
        add(f"groupNormBackward relu G{G} {sname(xs)}", s_gnab)

        # timm's formulas for the batch-independent norms (PyTorch 1.13 has no such layer); the
        # backward lines time autograd through the same graph, as a timm user's step runs them.
        v = (1, -1, 1, 1)
        Ge = C // 32 if C >= 32 else 1

        def f_ln2d(x, w, b):
            return F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), w, b, 1e-6).permute(0, 3, 1, 2)

        def f_frn(x, w, b):
            y = x * x.square().mean(dim=(2, 3), keepdim=True).add(1e-5).rsqrt()
            return torch.maximum(y * w.view(v) + b.view(v), torch.zeros_like(w).view(v))

        def f_s0(x, w, b, Ge=Ge):
            n, c, h, wd = x.shape
            std = x.reshape(n, Ge, c // Ge, h, wd).var(dim=(2, 3, 4), unbiased=False, keepdim=True).add(1e-5).sqrt()
            y = x * (x * w.view(v)).sigmoid()
            return (y.reshape(n, Ge, c // Ge, h, wd) / std).reshape(n, c, h, wd) * w.view(v) + b.view(v)

        def f_b0(x, w, b):
            left = torch.ones_like(w).view(v).expand_as(x)
            right = x * w.view(v) + x.var(dim=(2, 3), unbiased=False, keepdim=True).add(1e-3).sqrt()
            return x / left.max(right) * w.view(v) + b.view(v)

        for kname, fn, gname in [("channelNorm", f_ln2d, ""), ("frn", f_frn, ""), ("evoNormS0", f_s0, f"G{Ge} "),
                                 ("evoNormB0", f_b0, "")]:
            def s_fwd(xs=xs, C=C, fn=fn):
                x, w, b = rnd(xs), torch.ones(C), torch.zeros(C)
                return lambda: fn(x, w, b)
            add(f"{kname}Forward {gname}{sname(xs)}", s_fwd)

            def s_bwd(xs=xs, C=C, fn=fn):
                x, w, b, dy = rnd(xs).requires_grad_(), torch.ones(C, requires_grad=True), torch.zeros(C, requires_grad=True), rnd(xs)
                with torch.enable_grad():
                    y = fn(x, w, b)
                return lambda: torch.autograd.grad(y, (x, w, b), dy, retain_graph=True)
            add(f"{kname}Backward {gname}{sname(xs)}", s_bwd)

        def s_lrnf(xs=xs):
            x = rnd(xs)
            return lambda: F.local_response_norm(x, 5, 1e-4, 0.75, 1.0)
        add(f"localResponseNormForward size5 {sname(xs)}", s_lrnf)

        # PyTorch composes LRN of pad, avg_pool3d and pow: the backward line is autograd through it.
        def s_lrnb(xs=xs):
            x, dy = rnd(xs).requires_grad_(), rnd(xs)
            with torch.enable_grad():
                y = F.local_response_norm(x, 5, 1e-4, 0.75, 1.0)
            return lambda: torch.autograd.grad(y, (x,), dy, retain_graph=True)
        add(f"localResponseNormBackward size5 {sname(xs)}", s_lrnb)
    return c


def op_cases():
    """Twins of opCases() in bench/kernel_cases.ts: the public API, outputs allocated."""
    c = []

    def add(name, setup):
        c.append((name, setup))

    x = lambda: rnd(LARGE, -1, 3)  # noqa: E731
    add("op x.sum() 128x64x32x32", lambda: (lambda t: (lambda: t.sum()))(x()))
    add("op x.sum([0,2,3]) 128x64x32x32", lambda: (lambda t: (lambda: t.sum([0, 2, 3])))(x()))
    add("op x.var() 128x64x32x32", lambda: (lambda t: (lambda: t.var()))(x()))
    add("op x.max(1) 128x64x32x32", lambda: (lambda t: (lambda: t.max(1)))(x()))
    add("op x.mean(1) 128x64x32x32", lambda: (lambda t: (lambda: t.mean(1)))(x()))
    for rows, cols in ((4096, 1024), (256, 10), (64, 10)):
        add(f"op softmax(m,-1) {rows}x{cols}", lambda rows=rows, cols=cols: (lambda m: (lambda: torch.softmax(m, -1)))(rnd((rows, cols), -4, 4)))

        def s_ce(rows=rows, cols=cols):
            m = rnd((rows, cols), -4, 4).requires_grad_(True)
            target = torch.tensor([(i * 7) % cols for i in range(rows)], dtype=torch.long)

            def run():
                m.grad = None
                F.cross_entropy(m, target).backward()
            return run
        add(f"op cross_entropy fwd+bwd {rows}x{cols}", s_ce)
    add("op relu(x) 128x64x32x32", lambda: (lambda t: (lambda: torch.relu(t)))(x()))
    add("op x.add(bias[1,64,1,1]) 128x64x32x32", lambda: (lambda t, b: (lambda: t.add(b)))(x(), rnd([1, 64, 1, 1])))
    add("op exp(x) 128x64x32x32", lambda: (lambda t: (lambda: torch.exp(t)))(x()))
    add("op sigmoid(x) 128x64x32x32", lambda: (lambda t: (lambda: torch.sigmoid(t)))(x()))
    add("op x.permute(0,2,3,1) copy 128x64x32x32", lambda: (lambda t: (lambda: t.permute(0, 2, 3, 1).contiguous()))(x()))
    add("op matmul 512x512x512", lambda: (lambda a, b: (lambda: a.matmul(b)))(rnd((512, 512)), rnd((512, 512))))

    def s_loss():
        y, g = rnd(LARGE).requires_grad_(True), rnd(LARGE)

        def run():
            y.grad = None
            y.mul(g).sum().backward()
        return run
    add("op y.mul(g).sum().backward() 128x64x32x32", s_loss)
    return c


def main():
    threads = [int(t) for t in sys.argv[1].split(",")] if len(sys.argv) > 1 else [1, 2]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    filt = sys.argv[3] if len(sys.argv) > 3 else ""
    torch.manual_seed(0)
    for t in threads:
        torch.set_num_threads(t)
        for name, setup in cases(t) + op_cases():
            if filt not in name:
                continue
            ms = None
            try:
                fn = setup()
                if fn is not None:
                    with torch.set_grad_enabled(name.startswith("op ")):
                        ms = time_call(fn, reps)
            except Exception as e:  # a missing aten overload: report no counterpart
                print(f"kernels.py: {name}: {e}", file=sys.stderr)
            print(json.dumps({"name": name, "threads": t, "ms": ms, "load": os.getloadavg()[0]}), flush=True)


if __name__ == "__main__":
    main()
