"""The normalization layers beyond the seeds' with a PyTorch counterpart: BatchNorm3d,
InstanceNorm1d/3d, LazyBatchNorm2d, torchvision's FrozenBatchNorm2d (its formula), LocalResponseNorm
(odd and even windows), spectral_norm on Linear and Conv2d, timm's LayerNorm2d (permute +
layer_norm, as timm computes it), BatchNormAct2d and GroupNormAct (norm then ReLU, as timm).

Each case: the initial state dict (i_<name>), a training forward on x with its output and the
gradients of sum(gy * out) for x (gx) and every parameter (g_<name>), a second training forward
on x2, the state dict after (s_<name>), and an eval forward on x3 (out_eval)."""
import torch
import torch.nn.functional as F

from fixture_lib import case

GROUP = "norm_layers"


class FrozenBN(torch.nn.Module):
    """torchvision.ops.FrozenBatchNorm2d's forward, written out (torchvision is not installed)."""

    def __init__(self, n, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(n))
        self.register_buffer("bias", torch.zeros(n))
        self.register_buffer("running_mean", torch.zeros(n))
        self.register_buffer("running_var", torch.ones(n))

    def forward(self, x):
        w = self.weight.reshape(1, -1, 1, 1)
        b = self.bias.reshape(1, -1, 1, 1)
        rv = self.running_var.reshape(1, -1, 1, 1)
        rm = self.running_mean.reshape(1, -1, 1, 1)
        scale = w * (rv + self.eps).rsqrt()
        return x * scale + (b - rm * scale)


class LayerNorm2d(torch.nn.LayerNorm):
    """timm.layers.LayerNorm2d."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Act(torch.nn.Module):
    def __init__(self, norm):
        super().__init__()
        self.norm = norm

    def forward(self, x):
        return torch.relu(self.norm(x))


def randomize(m, g):
    with torch.no_grad():
        for name, t in m.state_dict().items():
            if t.dtype != torch.float32:
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif name.endswith("weight") or name.endswith("weight_orig"):
                t.copy_(torch.randn(t.shape, generator=g) * 0.5 + (1.0 if t.ndim == 1 else 0.0))
            elif not (name.endswith("_u") or name.endswith("_v")):
                t.copy_(torch.randn(t.shape, generator=g) * 0.3)


def run(name, m, shape, g, params, lazy_init=None):
    if lazy_init is None:
        randomize(m, g)
    # A lazy module has no state before its first call.
    init = {} if lazy_init else {k: v.detach().clone() for k, v in m.state_dict().items()}
    x = (torch.randn(shape, generator=g) * 1.5 + 0.3).requires_grad_(True)
    x2 = torch.randn(shape, generator=g) * 0.7 - 0.2
    x3 = torch.randn(shape, generator=g)
    m.train()
    out = m(x)
    gy = torch.randn(out.shape, generator=g)
    names = [n for n, _ in m.named_parameters()]
    ps = [p for _, p in m.named_parameters()]
    grads = torch.autograd.grad(out, [x] + ps, gy)
    with torch.no_grad():
        m(x2)
        m.eval()
        out_eval = m(x3)
    tensors = dict(x=x.detach(), gy=gy, out=out.detach(), gx=grads[0], x2=x2, x3=x3, out_eval=out_eval)
    for n, gr in zip(names, grads[1:]):
        tensors["g_" + n] = gr
    for k, v in init.items():
        tensors["i_" + k] = v
    for k, v in m.state_dict().items():
        tensors["s_" + k] = v
    return case(name, params, **tensors)


def make():
    g = torch.Generator().manual_seed(22)
    torch.manual_seed(22)
    cases = [
        run("BatchNorm3d", torch.nn.BatchNorm3d(3), (2, 3, 3, 4, 5), g, dict(kind="BatchNorm3d")),
        run("BatchNorm3d momentum None", torch.nn.BatchNorm3d(2, momentum=None), (3, 2, 2, 3, 2), g, dict(kind="BatchNorm3d", momentum=None)),
        run("InstanceNorm1d affine tracked", torch.nn.InstanceNorm1d(3, affine=True, track_running_stats=True), (4, 3, 7), g,
            dict(kind="InstanceNorm1d", affine=True, track=True)),
        run("InstanceNorm3d affine tracked", torch.nn.InstanceNorm3d(2, affine=True, track_running_stats=True), (2, 2, 3, 3, 4), g,
            dict(kind="InstanceNorm3d", affine=True, track=True)),
        run("InstanceNorm3d plain", torch.nn.InstanceNorm3d(2), (2, 2, 3, 2, 3), g, dict(kind="InstanceNorm3d", affine=False, track=False)),
        run("LazyBatchNorm2d", torch.nn.LazyBatchNorm2d(), (4, 5, 3, 3), g, dict(kind="LazyBatchNorm2d"), lazy_init=True),
        run("FrozenBatchNorm2d", FrozenBN(4), (3, 4, 5, 5), g, dict(kind="FrozenBatchNorm2d")),
        run("LocalResponseNorm size 5", torch.nn.LocalResponseNorm(5, alpha=0.05, beta=0.75, k=2.0), (2, 7, 4, 3), g,
            dict(kind="LocalResponseNorm", size=5, alpha=0.05, beta=0.75, k=2.0)),
        run("LocalResponseNorm size 4", torch.nn.LocalResponseNorm(4, alpha=0.1, beta=0.6, k=1.0), (2, 6, 3, 3), g,
            dict(kind="LocalResponseNorm", size=4, alpha=0.1, beta=0.6, k=1.0)),
        run("LayerNorm2d", LayerNorm2d(5, eps=1e-6), (2, 5, 4, 3), g, dict(kind="LayerNorm2d")),
        run("BatchNormAct2d", Act(torch.nn.BatchNorm2d(4)), (3, 4, 3, 5), g, dict(kind="BatchNormAct2d")),
        run("GroupNormAct", Act(torch.nn.GroupNorm(2, 6)), (2, 6, 3, 4), g, dict(kind="GroupNormAct", groups=2)),
    ]
    lin = torch.nn.utils.spectral_norm(torch.nn.Linear(5, 4))
    cases.append(run("spectral_norm Linear", lin, (6, 5), g, dict(kind="spectralNormLinear")))
    conv = torch.nn.utils.spectral_norm(torch.nn.Conv2d(3, 4, 3, padding=1), n_power_iterations=2)
    cases.append(run("spectral_norm Conv2d", conv, (2, 3, 5, 5), g, dict(kind="spectralNormConv", iters=2)))
    return cases
