"""Activation statistics: numpy/scipy values for streaming per-channel and per-layer statistics.

Each case holds activations x ([N, C, H, W] or [N, C], float32) and, in params, exact statistics
computed in float64 from the float32 values: per channel, pooled over channels, and pooled after
standardizing each channel by its own mean/std (seed 000's ResNet mode).
"""
import numpy as np
from scipy import stats

GROUP = "stats"
QS = [0.01, 0.25, 0.5, 0.75, 0.99]


def summary(v, k=3.0):
    v = np.asarray(v, dtype=np.float64)
    mean, std = v.mean(), v.std()
    q = np.quantile(v, QS)
    return {
        "count": int(v.size),
        "mean": float(mean),
        "std": float(std),
        "min": float(v.min()),
        "max": float(v.max()),
        "p1": float(q[0]), "q1": float(q[1]), "median": float(q[2]), "q3": float(q[3]), "p99": float(q[4]),
        "kurtosis": float(stats.kurtosis(v, fisher=True, bias=True)),
        "beyond_k": float(np.mean(np.abs(v - mean) > k * std)),
    }


def channels(x):
    """Values of each channel: x[:, c, ...] flattened."""
    return [x[:, c].astype(np.float64).ravel() for c in range(x.shape[1])]


def make():
    from fixture_lib import case

    rng = np.random.default_rng(3)
    cases = []
    conv = np.stack([
        rng.normal(0.5, 2.0, (12, 4, 5)),
        rng.standard_t(3, (12, 4, 5)) * 0.3 + 1.0,
        np.maximum(rng.normal(0.0, 1.0, (12, 4, 5)), 0.0),
    ], axis=1).astype(np.float32)
    conv[7, 1, 2, 3] = 25.0  # an outlier activation
    fc = (rng.lognormal(0.0, 0.7, (200, 4)) * np.array([1.0, 10.0, 0.1, 3.0])).astype(np.float32)
    for name, x in [("conv_nchw", conv), ("fc_nc", fc)]:
        ch = channels(x)
        z = np.concatenate([(v - v.mean()) / v.std() for v in ch])
        counts, edges = np.histogram(np.concatenate(ch), bins=10)
        params = {
            "channels": [summary(v) for v in ch],
            "pooled": summary(np.concatenate(ch)),
            "standardized": summary(z),
            "hist_counts": [int(c) for c in counts],
            "hist_edges": [float(e) for e in edges],
        }
        cases.append(case(name, params, x=x))
    return cases
