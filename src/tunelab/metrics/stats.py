"""Statistics between sets of melodies: is one model's metric distribution different from
another's, by how much, and how sure is its mean?

Per metric: Kruskal-Wallis across all sets; for each pair, Mann-Whitney U (two-sided) with
Holm's correction over the pairs, and Cliff's delta as the effect size; per set, a percentile
bootstrap 95% confidence interval of the mean. References: Kruskal & Wallis 1952; Mann &
Whitney 1947; Holm 1979; Cliff 1993; Efron & Tibshirani 1993.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np


def cliffs_delta(a, b) -> float:
    """(#(a_i > b_j) - #(a_i < b_j)) / (len(a) len(b)), in [-1, 1]; 0 if either is empty."""
    a, b = np.asarray(a, dtype=float), np.sort(np.asarray(b, dtype=float))
    if not len(a) or not len(b):
        return 0.0
    greater = np.searchsorted(b, a, side="left").sum()  # b_j < a_i
    less = (len(b) - np.searchsorted(b, a, side="right")).sum()  # b_j > a_i
    return float((greater - less) / (len(a) * len(b)))


def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1)."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p)
    m = len(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def bootstrap_ci(x, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean (seeded, so reports repeat)."""
    x = np.asarray(x, dtype=float)
    if not len(x):
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(n_boot, len(x)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return float(lo), float(hi)


def compare(sets: dict[str, np.ndarray], names, *, n_boot: int = 2000, seed: int = 0) -> dict:
    """Statistics for each metric column of ``sets`` (set name -> (n_items, n_metrics) values).

    Returns ``{metric: {"kruskal": {"H", "p"}, "pairs": [{"a", "b", "U", "p", "p_holm",
    "cliffs_delta"}], "ci": {set: [lo, hi]}}}``. Tests that cannot run (a set with fewer than
    two items, or all values equal) give NaN.
    """
    from scipy import stats

    labels = list(sets)
    out = {}
    for j, name in enumerate(names):
        cols = {k: np.asarray(sets[k], dtype=float).reshape(len(sets[k]), -1)[:, j] for k in labels}
        entry: dict = {"ci": {k: list(bootstrap_ci(v, n_boot=n_boot, seed=seed)) for k, v in cols.items()}}
        usable = [v for v in cols.values() if len(v) >= 2]
        varied = len(usable) >= 2 and np.ptp(np.concatenate(usable)) > 0
        h, p = stats.kruskal(*usable) if varied else (np.nan, np.nan)
        entry["kruskal"] = {"H": float(h), "p": float(p)}
        pairs = []
        for a, b in combinations(labels, 2):
            x, y = cols[a], cols[b]
            u, pu = (
                stats.mannwhitneyu(x, y, alternative="two-sided")
                if min(len(x), len(y)) >= 1 and np.ptp(np.concatenate([x, y])) > 0
                else (np.nan, np.nan)
            )
            pairs.append({"a": a, "b": b, "U": float(u), "p": float(pu), "cliffs_delta": cliffs_delta(x, y)})
        finite = [i for i, pr in enumerate(pairs) if np.isfinite(pr["p"])]
        adjusted = holm([pairs[i]["p"] for i in finite]) if finite else []
        for i, pr in enumerate(pairs):
            pr["p_holm"] = float(adjusted[finite.index(i)]) if i in finite else float("nan")
        entry["pairs"] = pairs
        out[name] = entry
    return out
