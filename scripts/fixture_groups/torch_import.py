"""State dicts written by PyTorch for normlab's loadStateDict: torchvision-style ResNet-18 CIFAR
and VGG-11-BN CIFAR (the architectures of fixture_groups/models.py), saved as safetensors with
F16 weights to keep the repository small (22 MB + 19 MB), plus a fixed input batch and
PyTorch's outputs computed with the same F16-rounded weights in float32, so that normlab's
outputs can be compared at the usual float32 tolerance."""
import os

import numpy as np
import torch

from fixture_groups.models import resnet_cifar, vgg_cifar
from fixture_groups.safetensors_file import write

GROUP = "torch_import"


def randomize_bn(m, gen):
    # Non-trivial running statistics and affine parameters, so eval BN is not the identity.
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            c = mod.num_features
            mod.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
            mod.running_var.copy_(torch.rand(c, generator=gen) * 0.5 + 0.75)
            mod.weight.data.copy_(torch.rand(c, generator=gen) * 0.5 + 0.75)
            mod.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)
            mod.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=gen)))


def save_f16(m, path):
    tensors = {}
    for name, t in m.state_dict().items():
        if t.dtype == torch.int64:
            tensors[name] = ("I64", t.numpy().astype("<i8"))
        else:
            tensors[name] = ("F16", t.numpy().astype("<f2"))
    write(path, tensors)
    # The model now holds exactly the values in the file (F16, widened to float32).
    with torch.no_grad():
        for t in m.state_dict().values():
            if t.dtype != torch.int64:
                t.copy_(t.half().float())


def make():
    from fixture_lib import ROOT, case

    gen = torch.Generator().manual_seed(11)
    cases = []
    x = torch.randn(4, 3, 32, 32, generator=gen)
    for name, model in (("resnet18", resnet_cifar(18)), ("vgg11", vgg_cifar(11))):
        randomize_bn(model, gen)
        fname = f"{name}_cifar_f16.safetensors"
        save_f16(model, os.path.join(ROOT, "test", "fixtures", fname))
        model.eval()
        with torch.no_grad():
            out_eval = model(x)
        tensors = {"x": x, "eval": out_eval}
        if name == "resnet18":
            # Train-mode BN (batch statistics); VGG's dropout would make this random.
            model.train()
            with torch.no_grad():
                tensors["train"] = model(x)
        cases.append(case(name, {"file": fname, "network": name}, **tensors))
    return cases
