"""Losses: cross-entropy (label smoothing, ignore_index, reductions, batch 1), NLL, MSE,
BCE-with-logits. Class indices are stored as int64 under `target`."""
import torch
import torch.nn.functional as F

from fixture_lib import leaf, op_case

GROUP = "loss"


def targets(n, c, gen):
    return torch.randint(0, c, (n,), generator=gen)


def make():
    g = torch.Generator().manual_seed(5)
    cases = []
    ce = [
        ("plain", 6, 5, {}),
        ("label smoothing 0.1", 6, 5, {"labelSmoothing": 0.1}),
        ("label smoothing 0.3 odd C", 7, 11, {"labelSmoothing": 0.3}),
        ("batch 1", 1, 4, {}),
        ("batch 1 smoothing", 1, 4, {"labelSmoothing": 0.2}),
        ("ignore index", 8, 5, {"ignoreIndex": 2}),
        ("ignore index smoothing", 8, 5, {"ignoreIndex": 1, "labelSmoothing": 0.15}),
        ("reduction sum", 5, 3, {"reduction": "sum"}),
        ("reduction none smoothing", 5, 3, {"reduction": "none", "labelSmoothing": 0.1}),
        ("many classes", 4, 100, {}),
    ]
    for name, n, c, opts in ce:
        t = targets(n, c, g)
        kw = {"label_smoothing": opts.get("labelSmoothing", 0.0), "ignore_index": opts.get("ignoreIndex", -100),
              "reduction": opts.get("reduction", "mean")}
        x = leaf((n, c), g, 2.0)
        cases.append(op_case(f"crossEntropy {name}", "crossEntropy", lambda x, t=t, kw=kw: F.cross_entropy(x, t, **kw),
                             [x], g, opts, {"target": t}))
    x = leaf((4, 6), g, 40.0)
    t = targets(4, 6, g)
    cases.append(op_case("crossEntropy large logits", "crossEntropy", lambda x, t=t: F.cross_entropy(x, t), [x], g, {}, {"target": t}))
    for name, n, c, opts in [("plain", 6, 5, {}), ("ignore", 6, 4, {"ignoreIndex": 0}), ("sum", 3, 3, {"reduction": "sum"}),
                             ("none", 4, 3, {"reduction": "none"})]:
        t = targets(n, c, g)
        lp = torch.log_softmax(torch.randn(n, c, generator=g), 1).detach().requires_grad_(True)
        kw = {"ignore_index": opts.get("ignoreIndex", -100), "reduction": opts.get("reduction", "mean")}
        cases.append(op_case(f"nllLoss {name}", "nllLoss", lambda x, t=t, kw=kw: F.nll_loss(x, t, **kw), [lp], g, opts, {"target": t}))
    cases.append(op_case("mseLoss", "mseLoss", F.mse_loss, [leaf((4, 7), g), leaf((4, 7), g)], g))
    cases.append(op_case("mseLoss 4-D", "mseLoss", F.mse_loss, [leaf((2, 3, 2, 2), g), leaf((2, 3, 2, 2), g).detach()], g))
    y = torch.rand(5, 3, generator=g).requires_grad_(True)
    cases.append(op_case("bceWithLogits", "bceWithLogits", F.binary_cross_entropy_with_logits, [leaf((5, 3), g, 3.0), y], g))
    xb = torch.tensor([[-100.0, -20.0, -1.0, 0.0], [0.5, 3.0, 20.0, 100.0]]).requires_grad_(True)
    yb = torch.tensor([[0.0, 1.0, 0.3, 1.0], [0.0, 1.0, 0.0, 1.0]])
    cases.append(op_case("bceWithLogits extreme logits", "bceWithLogits", F.binary_cross_entropy_with_logits, [xb, yb], g))
    return cases
