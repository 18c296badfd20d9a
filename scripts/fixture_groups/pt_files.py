"""PyTorch checkpoint files (torch.save's zip format) for `normlab import`, and what each holds.

Each case names a file under test/fixtures/pt/ and lists, per tensor, the dtype, the shape and the
SHA-256 of the tensor's contiguous little-endian bytes as PyTorch sees them, so the importer is
checked byte for byte. The files are small: the ResNet-18 layout file saves every tensor as a
stride-0 expansion of a one-element storage (torchvision's names, shapes and dtypes, 36 KB);
the values of a full random-init ResNet-18 are checked against live PyTorch by the test itself
when Debian's python3-torch is installed.
"""
import collections
import hashlib
import os
import pickle

import torch
import torchvision

GROUP = "pt_files"

SAFETENSORS_DTYPE = {
    torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


def describe(tensors):
    return {
        name: {
            "dtype": SAFETENSORS_DTYPE[t.dtype],
            "shape": list(t.shape),
            "sha256": hashlib.sha256(t.contiguous().view(-1).view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 else t.contiguous().numpy().tobytes()).hexdigest(),
        }
        for name, t in tensors.items()
    }


class SmallNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, bias=False)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).mean((2, 3)))


class Shell:
    """An object whose unpickling would run a shell command: the importer must refuse it."""

    def __reduce__(self):
        return (os.system, ("echo this-should-never-run",))


def make():
    from fixture_lib import ROOT

    out = os.path.join(ROOT, "test", "fixtures", "pt")
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(23)
    cases = []

    net = SmallNet()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
        net.bn.running_mean.copy_(torch.randn(4, generator=gen))
        net.bn.running_var.copy_(torch.rand(4, generator=gen) + 0.5)
        net.bn.num_batches_tracked.fill_(37)
    sd = net.state_dict()
    torch.save(sd, os.path.join(out, "small_net.pt"))
    cases.append({"name": "small_net", "params": {"file": "small_net.pt", "tensors": describe(sd)}, "tensors": {}})

    # One storage shared by several views (offsets), a transposed (non-contiguous) view, a
    # stride-0 expansion, a 0-d tensor and every dtype safetensors has.
    base = torch.arange(24, dtype=torch.float32) * 0.5 - 3
    mixed = collections.OrderedDict(
        [
            ("whole", base.view(4, 6)),
            ("rows_2_3", base.view(4, 6)[2:4]),
            ("transposed", base.view(4, 6).t()),
            ("column", base.view(4, 6)[:, 1]),
            ("expanded", torch.tensor([1.25]).expand(3, 5)),
            ("scalar", torch.tensor(2.5, dtype=torch.float64)),
            ("f64", torch.randn(3, 2, generator=gen, dtype=torch.float64)),
            ("f16", torch.randn(5, generator=gen).half()),
            ("bf16", torch.randn(5, generator=gen).bfloat16()),
            ("i64", torch.tensor([-(2**40), 0, 7], dtype=torch.int64)),
            ("i32", torch.tensor([[-5, 6]], dtype=torch.int32)),
            ("i16", torch.tensor([-300, 300], dtype=torch.int16)),
            ("i8", torch.tensor([-7, 8], dtype=torch.int8)),
            ("u8", torch.tensor([0, 255], dtype=torch.uint8)),
            ("bool", torch.tensor([True, False, True])),
            ("param", torch.nn.Parameter(torch.randn(2, 2, generator=gen))),
        ]
    )
    torch.save(mixed, os.path.join(out, "views_and_dtypes.pt"))
    cases.append({"name": "views_and_dtypes", "params": {"file": "views_and_dtypes.pt", "tensors": describe({k: v.detach() for k, v in mixed.items()})}, "tensors": {}})

    # A training checkpoint: the state dict under "model" next to an epoch, an optimizer state
    # and a string.
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(2, 1, 5, 5, generator=gen)).sum().backward()
    opt.step()
    torch.save({"epoch": 3, "arch": "small", "model": net.state_dict(), "optimizer": opt.state_dict()}, os.path.join(out, "checkpoint.pt"))
    cases.append({"name": "checkpoint", "params": {"file": "checkpoint.pt", "key": "model", "tensors": describe(net.state_dict())}, "tensors": {}})

    # torchvision's ResNet-18: names, shapes and dtypes, values replaced by one number each.
    torch.manual_seed(0)
    rn = torchvision.models.resnet18().state_dict()
    layout = collections.OrderedDict((k, torch.full((1,), 0.5 if v.is_floating_point() else 1, dtype=v.dtype).expand(v.shape) if v.dim() > 0 else v.clone()) for k, v in rn.items())
    torch.save(layout, os.path.join(out, "resnet18_layout.pt"))
    cases.append({"name": "resnet18_layout", "params": {"file": "resnet18_layout.pt", "tensors": describe(layout)}, "tensors": {}})

    torch.save({"weight": torch.ones(2), "payload": Shell()}, os.path.join(out, "runs_code.pt"))
    torch.save(sd, os.path.join(out, "legacy_format.pt"), _use_new_zipfile_serialization=False)
    return cases
