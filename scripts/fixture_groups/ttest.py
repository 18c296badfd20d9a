"""Paired t-tests: scipy.stats.ttest_rel(new, base, alternative='greater') and t-quantile CIs.

Inputs and outputs are float64 numbers in params (non-finite values as the strings
'inf', '-inf', 'nan', since JSON has no such numbers).
"""
import math

import numpy as np
from scipy import stats

GROUP = "ttest"


def num(x):
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def make():
    from fixture_lib import case

    rng = np.random.default_rng(5)
    pairs = [
        # Seed 001's README example (ResNet accuracies with and without the change).
        ("seed001_readme", [91.7, 93.4, 92.2, 90.0, 91.9], [91.0, 92.7, 92.2, 90.1, 91.5]),
        ("worse", [1.0, 2.0, 3.0, 3.5], [2.0, 2.5, 3.5, 3.0]),
        ("two_pairs", [0.3, 0.9], [0.1, 0.2]),
        ("fifteen_pairs", list(rng.normal(0.5, 1.0, 15)), list(rng.normal(0.0, 1.0, 15))),
        ("two_hundred_pairs", list(rng.normal(0.1, 1.0, 200)), list(rng.normal(0.0, 1.0, 200))),
        ("far_tail", [10.0, 10.1, 10.2, 9.9, 10.05, 10.0], [0.0, 0.1, 0.0, 0.1, 0.0, 0.05]),
        ("equal_positive_differences", [2.0, 3.0, 4.0], [1.0, 2.0, 3.0]),
        ("equal_negative_differences", [1.0, 2.0, 3.0], [2.0, 3.0, 4.0]),
        ("identical", [2.0, 3.0, 4.0], [2.0, 3.0, 4.0]),
        ("nearly_equal_differences_in_float", [1.7, 2.7], [1.0, 2.0]),
    ]
    cases = []
    for name, new, base in pairs:
        r = stats.ttest_rel(new, base, alternative="greater")
        d = np.asarray(new, dtype=np.float64) - np.asarray(base, dtype=np.float64)
        n = len(d)
        se = math.sqrt(np.var(d, ddof=1) / n)
        half = stats.t.ppf(0.975, n - 1) * se
        params = {
            "new": [float(v) for v in new],
            "base": [float(v) for v in base],
            "t": num(r.statistic),
            "p": num(r.pvalue),
            "df": int(n - 1),
            "mean_diff": num(d.mean()),
            "ci": [num(d.mean() - half), num(d.mean() + half)],
            "lower_bound": num(d.mean() - stats.t.ppf(0.95, n - 1) * se),
        }
        cases.append(case(name, params))
    return cases
