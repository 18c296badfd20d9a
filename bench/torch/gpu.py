#!/usr/bin/python3
"""PyTorch CUDA twins of bench/gpu.ts: prints {name, ms} JSON lines (per iteration, median of 3
rounds of `reps` iterations, each round ended by torch.cuda.synchronize()), or one line
{"cuda": false, "reason": ...} when CUDA is unavailable. Argument: a JSON object with n, gemm,
convBatch, resnetBatch, lenetBatch, reps (bench/gpu.ts passes it)."""
import json
import sys
import time

import torch


def main():
    size = json.loads(sys.argv[1])
    if not torch.cuda.is_available():
        print(json.dumps({"cuda": False, "reason": "torch.cuda.is_available() is False (PyTorch %s)" % torch.__version__}))
        return
    dev = torch.device("cuda")
    reps = int(size["reps"])
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

    def cuda_ms(fn, n=reps):
        fn()
        torch.cuda.synchronize()
        rounds = []
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            torch.cuda.synchronize()
            rounds.append((time.perf_counter() - t0) * 1e3 / n)
        rounds.sort()
        return rounds[1]

    def emit(name, ms):
        print(json.dumps({"name": name, "ms": ms, "device": torch.cuda.get_device_name(0)}), flush=True)

    def fwd_bwd(mod, x, gy):
        def run():
            x.grad = None
            mod.zero_grad(set_to_none=True)
            mod(x).backward(gy)
        return run

    x = torch.randn(size["n"], 64, 32, 32, device=dev, requires_grad=True)
    gy = torch.randn(size["n"], 64, 32, 32, device=dev)
    emit("bn2d_fwd_bwd", cuda_ms(fwd_bwd(torch.nn.BatchNorm2d(64).to(dev), x, gy)))

    def fbn(x, threshold=4.0, eps=1e-5):
        # Seed 000's Filtered BN in torch ops: statistics of the values within T unbiased stds.
        mu0 = x.mean(dim=(0, 2, 3), keepdim=True)
        sd0 = x.var(dim=(0, 2, 3), keepdim=True, unbiased=True).add(1e-10).sqrt()
        keep = ((x - mu0).abs() < threshold * sd0).float()
        cnt = keep.sum(dim=(0, 2, 3), keepdim=True)
        mu = (x * keep).sum(dim=(0, 2, 3), keepdim=True) / cnt
        var = (((x - mu) ** 2) * keep).sum(dim=(0, 2, 3), keepdim=True) / cnt
        return (x - mu) / (var + eps).sqrt()

    def fbn_run():
        x.grad = None
        fbn(x).backward(gy)
    emit("fbn2d_fwd_bwd", cuda_ms(fbn_run))

    g = size["gemm"]
    a = torch.randn(g, g, device=dev)
    b = torch.randn(g, g, device=dev)
    emit("sgemm_%d" % g, cuda_ms(lambda: torch.mm(a, b)))

    conv = torch.nn.Conv2d(64, 64, 3, padding=1).to(dev)
    cx = torch.randn(size["convBatch"], 64, 32, 32, device=dev, requires_grad=True)
    cgy = torch.randn(size["convBatch"], 64, 32, 32, device=dev)
    emit("conv64_fwd_bwd", cuda_ms(fwd_bwd(conv, cx, cgy)))

    import torchvision
    resnet = torchvision.models.resnet18(num_classes=10)
    resnet.conv1 = torch.nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    resnet.maxpool = torch.nn.Identity()
    # createModel('lenet5'): BN after each conv and after the first two fc layers.
    lenet = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.BatchNorm2d(6), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.BatchNorm2d(16), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.BatchNorm1d(120), torch.nn.ReLU(),
        torch.nn.Linear(120, 84), torch.nn.BatchNorm1d(84), torch.nn.ReLU(), torch.nn.Linear(84, 10))
    for name, model, shape, batch in (("resnet18_cifar_step_b%d" % size["resnetBatch"], resnet, (3, 32, 32), size["resnetBatch"]),
                                      ("lenet5_step_b%d" % size["lenetBatch"], lenet, (1, 28, 28), size["lenetBatch"])):
        model = model.to(dev).train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        xs = torch.randn(batch, *shape, device=dev)
        ys = torch.arange(batch, device=dev) % 10

        def step():
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(xs), ys).backward()
            opt.step()
        emit(name, cuda_ms(step))


main()
