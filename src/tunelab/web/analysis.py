"""Statistics of a listening test.

Per condition and scale: mean, median, a 95% bootstrap interval of the mean that resamples
listeners (their ratings are not independent of each other), and how many listeners and ratings.
Between conditions, per scale, on each listener's mean rating of each condition: Friedman's test
(listeners as blocks) with Kendall's W, then Wilcoxon signed-rank tests for each pair with Holm's
correction and the matched-pairs rank-biserial correlation; where too few listeners rated every
condition, Kruskal-Wallis with Mann-Whitney pairs and Cliff's delta. Agreement between listeners:
Krippendorff's alpha (interval) per scale, melodies as units. A/B preferences: per pair of
conditions, the share of choices for each, a Wilson 95% interval and a two-sided binomial test,
and how often the melody heard first won (an order bias check).
References: Friedman 1937; Kendall & Babington Smith 1939; Wilcoxon 1945; Kerby 2014;
Krippendorff 2011; Wilson 1927; Holm 1979.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from itertools import combinations

import numpy as np

from tunelab.metrics.stats import cliffs_delta, holm

Z95 = 1.959963984540054


def summary(rows: list[dict], scales, conditions, *, n_boot: int = 2000, seed: int = 0) -> dict:
    """``{scale: {condition: {mean, median, ci, listeners, ratings}}}`` from rating rows."""
    out = {}
    for scale in scales:
        out[scale] = {}
        for cond in conditions:
            got = [r for r in rows if r["scale"] == scale and r["set_name"] == cond]
            values = np.array([r["value"] for r in got], dtype=float)
            by_listener = defaultdict(list)
            for r in got:
                by_listener[r["listener"]].append(r["value"])
            out[scale][cond] = {
                "mean": float(values.mean()) if len(values) else float("nan"),
                "median": float(np.median(values)) if len(values) else float("nan"),
                "ci": cluster_bootstrap(list(by_listener.values()), n_boot=n_boot, seed=seed),
                "listeners": len(by_listener),
                "ratings": len(values),
            }
    return out


def cluster_bootstrap(groups: list, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> list[float]:
    """Percentile interval of the pooled mean, resampling whole groups (listeners) with replacement."""
    if not groups:
        return [float("nan"), float("nan")]
    sums = np.array([np.sum(g) for g in groups], dtype=float)
    counts = np.array([len(g) for g in groups], dtype=float)
    idx = np.random.default_rng(seed).integers(0, len(groups), size=(n_boot, len(groups)))
    means = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    tail = (1 - level) / 2 * 100
    return [float(v) for v in np.percentile(means, [tail, 100 - tail])]


def listener_means(rows: list[dict], scale: str, conditions) -> tuple[np.ndarray, list]:
    """(listeners x conditions) mean ratings on ``scale``; NaN where a listener rated none."""
    cells = defaultdict(list)
    for r in rows:
        if r["scale"] == scale:
            cells[r["listener"], r["set_name"]].append(r["value"])
    listeners = sorted({k[0] for k in cells})
    m = np.full((len(listeners), len(conditions)), np.nan)
    for i, who in enumerate(listeners):
        for j, cond in enumerate(conditions):
            if (who, cond) in cells:
                m[i, j] = np.mean(cells[who, cond])
    return m, listeners


def friedman(m: np.ndarray) -> dict:
    """Friedman's chi-square for complete blocks (rows), ties averaged and corrected for; Kendall's W."""
    from scipy import stats

    n, k = m.shape
    ranks = np.apply_along_axis(stats.rankdata, 1, m)
    r = ranks.sum(axis=0)
    chi2 = 12.0 / (n * k * (k + 1)) * np.sum(r**2) - 3.0 * n * (k + 1)
    ties = sum(np.sum(c**3 - c) for c in (np.unique(row, return_counts=True)[1] for row in m))
    correction = 1 - ties / (n * k * (k * k - 1))
    chi2 = chi2 / correction if correction > 0 else float("nan")
    return {
        "test": "friedman",
        "chi2": float(chi2),
        "df": k - 1,
        "p": float(stats.chi2.sf(chi2, k - 1)),
        "kendalls_w": float(chi2 / (n * (k - 1))),
        "listeners": n,
    }


def rank_biserial(d) -> float:
    """Matched-pairs rank-biserial correlation (Kerby 2014): (T+ - T-) / (T+ + T-), zeros dropped."""
    from scipy import stats

    d = np.asarray(d, dtype=float)
    d = d[d != 0]
    if not len(d):
        return 0.0
    ranks = stats.rankdata(np.abs(d))
    return float((ranks[d > 0].sum() - ranks[d < 0].sum()) / ranks.sum())


def wilcoxon_p(x, y) -> float:
    """Two-sided Wilcoxon signed-rank p: exact without ties or zero differences, else the normal
    approximation with tie correction (scipy's default there is a permutation test: seconds a pair)."""
    from scipy import stats

    d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)
    if not np.any(d != 0):
        return 1.0
    ties = np.any(d == 0) or len(np.unique(np.abs(d))) < len(d)
    return float(stats.wilcoxon(x, y, method="approx" if ties else "exact").pvalue)


def compare(rows: list[dict], scale: str, conditions) -> dict:
    """The omnibus test and the pairwise tests between conditions on one scale."""
    from scipy import stats

    m, _ = listener_means(rows, scale, conditions)
    complete = m[~np.isnan(m).any(axis=1)] if len(m) else m
    pairs = list(combinations(range(len(conditions)), 2))
    if len(conditions) < 2:
        return {"omnibus": None, "pairs": []}
    if len(complete) >= 3:
        omnibus = friedman(complete)
        tests = []
        for a, b in pairs:
            d = complete[:, a] - complete[:, b]
            p = wilcoxon_p(complete[:, a], complete[:, b])
            tests.append({"a": conditions[a], "b": conditions[b], "test": "wilcoxon", "p": p,
                          "effect": rank_biserial(d), "effect_name": "rank-biserial r"})  # fmt: skip
    else:
        groups = [m[:, j][~np.isnan(m[:, j])] for j in range(len(conditions))]
        if sum(len(g) > 0 for g in groups) < 2 or len(np.unique(np.concatenate(groups))) < 2:
            return {"omnibus": None, "pairs": []}
        h = stats.kruskal(*[g for g in groups if len(g)])
        omnibus = {
            "test": "kruskal-wallis",
            "H": float(h.statistic),
            "df": len(groups) - 1,
            "p": float(h.pvalue),
        }
        tests = []
        for a, b in pairs:
            ga, gb = groups[a], groups[b]
            p = float(stats.mannwhitneyu(ga, gb).pvalue) if len(ga) and len(gb) else float("nan")
            tests.append({"a": conditions[a], "b": conditions[b], "test": "mann-whitney", "p": p,
                          "effect": cliffs_delta(ga, gb), "effect_name": "Cliff's delta"})  # fmt: skip
    for t, adjusted in zip(tests, holm([t["p"] for t in tests])):
        t["p_holm"] = float(adjusted)
    return {"omnibus": omnibus, "pairs": tests}


def krippendorff_interval(units: list) -> float:
    """Krippendorff's alpha, interval metric; ``units``: per unit, the values its raters gave."""
    units = [np.asarray(u, dtype=float) for u in units if len(u) >= 2]  # only pairable values count
    if not units:
        return float("nan")
    values = np.concatenate(units)
    n = len(values)
    observed = sum(2 * (len(u) * np.sum(u**2) - np.sum(u) ** 2) / (len(u) - 1) for u in units) / n
    expected = 2 * (n * np.sum(values**2) - np.sum(values) ** 2) / (n * (n - 1))
    return float(1 - observed / expected) if expected > 0 else float("nan")


def agreement(rows: list[dict], scales) -> dict:
    """Per scale: Krippendorff's alpha over the melodies rated by two or more listeners."""
    out = {}
    for scale in scales:
        units = defaultdict(list)
        for r in rows:
            if r["scale"] == scale:
                units[r["item"]].append(r["value"])
        out[scale] = {
            "alpha": krippendorff_interval(list(units.values())),
            "units": sum(len(u) >= 2 for u in units.values()),
        }
    return out


def wilson(k: int, n: int, z: float = Z95) -> list[float]:
    """Wilson score interval of a proportion k / n."""
    if n == 0:
        return [float("nan"), float("nan")]
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return [float(centre - half), float(centre + half)]


def preferences(choices: list[dict], conditions) -> dict:
    """Per pair of conditions (in ``conditions`` order): how often the first was chosen."""
    from scipy import stats

    order = {c: i for i, c in enumerate(conditions)}
    tally = defaultdict(lambda: [0, 0])
    first_won = 0
    for c in choices:
        x, y = sorted((c["a_set"], c["b_set"]), key=order.get)
        chosen_set = c["a_set"] if c["chosen_idx"] == c["a_idx"] else c["b_set"]
        tally[x, y][0] += chosen_set == x
        tally[x, y][1] += 1
        first_won += c["chosen_idx"] == c["a_idx"]
    pairs = []
    for (x, y), (k, n) in tally.items():
        pairs.append({
            "a": x, "b": y, "n": n, "a_chosen": k, "rate": k / n, "ci": wilson(k, n),
            "p": float(stats.binomtest(k, n, 0.5).pvalue),
        })  # fmt: skip
    n = len(choices)
    return {"pairs": pairs, "first_heard_won": first_won / n if n else float("nan"), "n": n}


def analyse(store, test_id: str, *, n_boot: int = 2000, seed: int = 0) -> dict:
    """Everything above for one stored test."""
    test = store.test(test_id)
    design = test["design"]
    rows, choices = store.ratings(test_id), store.choices(test_id)
    scales, conditions = design["scales"], design["conditions"]
    return {
        "test": {"id": test_id, "name": test["name"], **store.counts(test_id)},
        "scales": scales,
        "conditions": conditions,
        "summary": summary(rows, scales, conditions, n_boot=n_boot, seed=seed),
        "compare": {s: compare(rows, s, conditions) for s in scales},
        "agreement": agreement(rows, scales),
        "preferences": preferences(choices, conditions),
    }


def markdown(result: dict) -> str:
    """The analysis as Markdown tables."""
    t = result["test"]
    lines = [f"# {t['name']} ({t['id']})", "",
             f"{t['listeners']} listeners ({t['finished']} finished), {t['responses']} answers.", ""]  # fmt: skip
    lines += ["| scale | condition | mean | median | 95% CI (listener bootstrap) | listeners | ratings |",
              "|---|---|---|---|---|---|---|"]  # fmt: skip
    for scale, per in result["summary"].items():
        for cond, s in per.items():
            lines.append(f"| {scale} | {cond} | {s['mean']:.2f} | {s['median']:.1f} | "
                         f"{s['ci'][0]:.2f} - {s['ci'][1]:.2f} | {s['listeners']} | {s['ratings']} |")  # fmt: skip
    lines += [
        "",
        "| scale | omnibus | statistic | p | Kendall's W | Krippendorff's alpha |",
        "|---|---|---|---|---|---|",
    ]
    for scale, c in result["compare"].items():
        o, alpha = c["omnibus"], result["agreement"][scale]["alpha"]
        if o is None:
            lines.append(f"| {scale} | - | - | - | - | {alpha:.3f} |")
        else:
            stat = o.get("chi2", o.get("H"))
            lines.append(
                f"| {scale} | {o['test']} | {stat:.3f} | {o['p']:.4g} | {o.get('kendalls_w', float('nan')):.3f} | {alpha:.3f} |"
            )
    lines += ["", "| scale | pair | test | p (Holm) | effect |", "|---|---|---|---|---|"]
    for scale, c in result["compare"].items():
        for p in c["pairs"]:
            lines.append(f"| {scale} | {p['a']} vs {p['b']} | {p['test']} | {p['p_holm']:.4g} | "
                         f"{p['effect_name']} {p['effect']:+.3f} |")  # fmt: skip
    prefs = result["preferences"]
    if prefs["n"]:
        lines += ["", "| A/B pair | choices | first chosen | rate | 95% CI (Wilson) | p (binomial) |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for p in prefs["pairs"]:
            lines.append(f"| {p['a']} vs {p['b']} | {p['n']} | {p['a_chosen']} | {p['rate']:.3f} | "
                         f"{p['ci'][0]:.3f} - {p['ci'][1]:.3f} | {p['p']:.4g} |")  # fmt: skip
        lines.append(
            f"\nThe melody heard first was chosen in {prefs['first_heard_won']:.1%} of {prefs['n']} choices."
        )
    return "\n".join(lines) + "\n"


def export_csv(store, test_id: str) -> str:
    """Ratings, then A/B choices, one row each, as CSV."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["kind", "listener", "expertise", "position", "set", "item", "scale", "value", "other_set",
                "chosen_set", "played_s", "comment", "created"])  # fmt: skip
    for r in store.ratings(test_id):
        w.writerow(["rating", r["listener"], r["expertise"] or "", r["position"], r["set_name"], r["item"],
                    r["scale"], r["value"], "", "", r["played_s"], r["comment"] or "", r["created"]])  # fmt: skip
    for c in store.choices(test_id):
        chosen = c["a_set"] if c["chosen_idx"] == c["a_idx"] else c["b_set"]
        w.writerow(["choice", c["listener"], "", c["position"], c["a_set"], c["a_idx"], "", "", c["b_set"],
                    chosen, c["played_s"], "", c["created"]])  # fmt: skip
    return out.getvalue()


def finite(x):
    """NaN and infinities as null, for JSON."""
    if isinstance(x, float):
        return x if x == x and abs(x) != float("inf") else None
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite(v) for v in x]
    return x
