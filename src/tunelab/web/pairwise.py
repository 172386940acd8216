"""Pairwise preferences as a ranking: the Bradley-Terry model.

Each condition i has a strength s_i; a listener prefers i to j with probability
exp(s_i) / (exp(s_i) + exp(s_j)) (Bradley & Terry 1952). The strengths are fitted by maximum
likelihood with ``choix`` (Maystre & Grossglauser 2015, iterative Luce spectral ranking), centred
on 0, with a small L2 prior (``alpha``) so that a condition that never lost still has a finite
strength. "No preference" counts as half a win for each side (every decisive answer is given
twice the weight of a tie, the usual way to fold ties into a model without a tie parameter).
Intervals: 95% percentile bootstrap that resamples listeners, since one listener's answers are
not independent of each other. Pairwise judgements are less noisy than rating scales
(Thurstone 1927; in music evaluation e.g. Yang & Lerch 2020), which is why a test can ask for
them beside the scales.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np


def comparisons(choices: list[dict], conditions) -> list[tuple[int, int, int, str]]:
    """(listener, condition of A, condition of B, outcome "A" / "B" / "none") per stored choice."""
    index = {c: i for i, c in enumerate(conditions)}
    out = []
    for c in choices:
        outcome = "A" if c["chosen_idx"] == c["a_idx"] else "B" if c["chosen_idx"] == c["b_idx"] else "none"
        out.append((c["listener"], index[c["a_set"]], index[c["b_set"]], outcome))
    return out


def _pairs(rows) -> list[tuple[int, int]]:
    """(winner, loser) tuples for choix: a decisive answer twice, a tie once each way."""
    data = []
    for _, a, b, outcome in rows:
        if outcome == "A":
            data += [(a, b), (a, b)]
        elif outcome == "B":
            data += [(b, a), (b, a)]
        else:
            data += [(a, b), (b, a)]
    return data


def fit(rows, n: int, alpha: float = 0.01) -> np.ndarray:
    """Centred Bradley-Terry strengths of ``n`` conditions from :func:`comparisons` rows."""
    import choix

    data = _pairs(rows)
    if not data:
        return np.full(n, np.nan)
    s = np.asarray(choix.ilsr_pairwise(n, data, alpha=alpha), dtype=float)
    return s - s.mean()


def win_matrix(strengths: np.ndarray) -> np.ndarray:
    """P[i, j]: the probability that condition i is preferred to condition j."""
    d = strengths[:, None] - strengths[None, :]
    return 1.0 / (1.0 + np.exp(-d))


def bradley_terry(
    choices: list[dict], conditions, *, n_boot: int = 1000, seed: int = 0, alpha: float = 0.01
) -> dict:
    """Strengths with listener-bootstrap 95% intervals, the rank order, and the win-probability
    matrix, from stored A/B answers."""
    rows = comparisons(choices, conditions)
    n = len(conditions)
    if not rows:
        return {"n": 0, "conditions": list(conditions)}
    strengths = fit(rows, n, alpha)
    by_listener = defaultdict(list)
    for r in rows:
        by_listener[r[0]].append(r)
    groups = list(by_listener.values())
    rng = np.random.default_rng(seed)
    boot = np.array(
        [
            fit([r for g in rng.integers(0, len(groups), len(groups)) for r in groups[g]], n, alpha)
            for _ in range(n_boot)
        ]
    )
    lo, hi = np.nanpercentile(boot, [2.5, 97.5], axis=0)
    ties = sum(r[3] == "none" for r in rows)
    answers = np.bincount([r[1] for r in rows] + [r[2] for r in rows], minlength=n)
    return {
        "answers": answers.tolist(),  # A/B answers each condition took part in
        "n": len(rows),
        "ties": ties,
        "listeners": len(groups),
        "conditions": list(conditions),
        "strength": strengths.tolist(),
        "ci": [[float(a), float(b)] for a, b in zip(lo, hi)],
        "ranking": [conditions[i] for i in np.argsort(-strengths)],
        "win_probability": win_matrix(strengths).tolist(),
    }
