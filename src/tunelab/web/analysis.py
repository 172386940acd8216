"""Statistics of a listening test.

Per condition and scale: mean, median, a 95% bootstrap interval of the mean that resamples
listeners (their ratings are not independent of each other), and how many listeners and ratings.
Between conditions, per scale, on each listener's mean rating of each condition: Friedman's test
(listeners as blocks) with Kendall's W, then Wilcoxon signed-rank tests for each pair with Holm's
correction and the matched-pairs rank-biserial correlation; where too few listeners rated every
condition, Kruskal-Wallis with Mann-Whitney pairs and Cliff's delta. Agreement between listeners:
Krippendorff's alpha (interval) per scale, melodies as units. A/B preferences: per pair of
conditions, the share of choices for each, a Wilson 95% interval and a two-sided binomial test,
and how often the melody heard first won (an order bias check); and all pairs at once as a
Bradley-Terry ranking (:mod:`tunelab.web.pairwise`).
References: Friedman 1937; Kendall & Babington Smith 1939; Wilcoxon 1945; Kerby 2014;
Krippendorff 2011; Wilson 1927; Holm 1979.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from itertools import combinations

import numpy as np

from tunelab.metrics.stats import cliffs_delta, holm
from tunelab.web.pairwise import bradley_terry

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
    """Per pair of conditions (in ``conditions`` order): how often the first was chosen among
    the decisive answers ("no preference" counted apart), its Wilson interval and binomial p."""
    from scipy import stats

    order = {c: i for i, c in enumerate(conditions)}
    tally = defaultdict(lambda: [0, 0, 0])  # first chosen, decisive answers, no preference
    first_won = decisive = 0
    for c in choices:
        x, y = sorted((c["a_set"], c["b_set"]), key=order.get)
        if c["chosen_idx"] not in (c["a_idx"], c["b_idx"]):
            tally[x, y][2] += 1
            continue
        chosen_set = c["a_set"] if c["chosen_idx"] == c["a_idx"] else c["b_set"]
        tally[x, y][0] += chosen_set == x
        tally[x, y][1] += 1
        first_won += c["chosen_idx"] == c["a_idx"]
        decisive += 1
    pairs = []
    for (x, y), (k, n, ties) in tally.items():
        pairs.append({
            "a": x, "b": y, "n": n, "a_chosen": k, "no_preference": ties, "rate": k / n if n else float("nan"),
            "ci": wilson(k, n), "p": float(stats.binomtest(k, n, 0.5).pvalue) if n else float("nan"),
        })  # fmt: skip
    return {
        "pairs": pairs,
        "first_heard_won": first_won / decisive if decisive else float("nan"),
        "n": len(choices),
        "decisive": decisive,
    }


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
        "bradley_terry": bradley_terry(choices, conditions, n_boot=min(n_boot, 1000), seed=seed),
    }


def tables(result: dict) -> list[dict]:
    """The analysis as tables of text, ``{"title", "note", "header", "rows"}``: what the Markdown
    report, the HTML report and the admin page (``static/results.js``) all show."""
    out = []
    rows = [[scale, cond, f"{s['mean']:.2f}", f"{s['median']:.1f}", f"{s['ci'][0]:.2f} - {s['ci'][1]:.2f}",
             str(s["listeners"]), str(s["ratings"])]
            for scale, per in result["summary"].items() for cond, s in per.items()]  # fmt: skip
    out.append({"title": "Ratings", "note": "",
                "header": ["scale", "condition", "mean", "median", "95% CI (listener bootstrap)", "listeners", "ratings"],
                "rows": rows})  # fmt: skip
    rows = []
    for scale, c in result["compare"].items():
        o, alpha = c["omnibus"], result["agreement"][scale]["alpha"]
        if o is None:
            rows.append([scale, "-", "-", "-", "-", f"{alpha:.3f}"])
        else:
            stat = o.get("chi2", o.get("H"))
            rows.append([scale, o["test"], f"{stat:.3f}", f"{o['p']:.4g}", f"{o.get('kendalls_w', float('nan')):.3f}", f"{alpha:.3f}"])  # fmt: skip
    out.append({"title": "Between conditions", "note": "",
                "header": ["scale", "omnibus", "statistic", "p", "Kendall's W", "Krippendorff's alpha"], "rows": rows})  # fmt: skip
    rows = [[scale, f"{p['a']} vs {p['b']}", p["test"], f"{p['p_holm']:.4g}", f"{p['effect_name']} {p['effect']:+.3f}"]
            for scale, c in result["compare"].items() for p in c["pairs"]]  # fmt: skip
    out.append({"title": "Pairs of conditions", "note": "", "header": ["scale", "pair", "test", "p (Holm)", "effect"], "rows": rows})  # fmt: skip
    prefs = result["preferences"]
    if prefs["n"]:
        rows = [[f"{p['a']} vs {p['b']}", str(p["n"]), str(p["a_chosen"]), str(p["no_preference"]), f"{p['rate']:.3f}",
                 f"{p['ci'][0]:.3f} - {p['ci'][1]:.3f}", f"{p['p']:.4g}"] for p in prefs["pairs"]]  # fmt: skip
        note = (f"The melody heard first was chosen in {prefs['first_heard_won']:.1%} of {prefs['decisive']} "
                f"decisive choices ({prefs['n'] - prefs['decisive']} without a preference).")  # fmt: skip
        out.append({"title": "A/B preferences", "note": note,
                    "header": ["A/B pair", "decisive", "first chosen", "no preference", "rate", "95% CI (Wilson)", "p (binomial)"],
                    "rows": rows})  # fmt: skip
    bt = result.get("bradley_terry", {})
    if bt.get("n"):
        rows = []
        for name in bt["ranking"]:
            i = bt["conditions"].index(name)
            probs = ["–" if j == i else f"{q:.2f}" for j, q in enumerate(bt["win_probability"][i])]
            rows.append([name, str(bt["answers"][i]), f"{bt['strength'][i]:+.3f}",
                         f"{bt['ci'][i][0]:+.2f} to {bt['ci'][i][1]:+.2f}", *probs])  # fmt: skip
        note = (f"From {bt['n']} A/B answers ({bt['ties']} without a preference, counted half to each side) of "
                f"{bt['listeners']} listeners: centred log-strengths with 95% listener-bootstrap intervals, best first; "
                "P(beats X): the model's probability of being preferred to X. A condition in few answers sits "
                "near 0 by the fit's small prior: read its interval.")  # fmt: skip
        out.append({"title": "Bradley-Terry ranking", "note": note,
                    "header": ["condition", "answers", "strength", "95% CI", *(f"P(beats {c})" for c in bt["conditions"])],
                    "rows": rows})  # fmt: skip
    return out


def markdown(result: dict) -> str:
    """The analysis as Markdown tables."""
    t = result["test"]
    lines = [f"# {t['name']} ({t['id']})", "",
             f"{t['listeners']} listeners ({t['finished']} finished), {t['responses']} answers.", ""]  # fmt: skip
    for table in tables(result):
        lines += [f"## {table['title']}", ""] + ([table["note"], ""] if table["note"] else [])
        lines += ["| " + " | ".join(table["header"]) + " |", "|" + "---|" * len(table["header"])]
        lines += ["| " + " | ".join(row) + " |" for row in table["rows"]] + [""]
    return "\n".join(lines)


EXPORT_COLUMNS = ("kind", "listener", "expertise", "position", "set", "item", "scale", "value",
                  "other_set", "other_item", "chosen_set", "played_s", "comment", "created")  # fmt: skip
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def export_rows(store, test_id: str) -> list[dict]:
    """Every stored answer, one row per rating and per A/B choice, every field (comments and
    expertise of both kinds; ``chosen_set`` "none" for no preference)."""
    rows = []
    for r in store.ratings(test_id):
        rows.append({"kind": "rating", "listener": r["listener"], "expertise": r["expertise"],
                     "position": r["position"], "set": r["set_name"], "item": r["item"], "scale": r["scale"],
                     "value": r["value"], "other_set": None, "other_item": None, "chosen_set": None,
                     "played_s": r["played_s"], "comment": r["comment"], "created": r["created"]})  # fmt: skip
    for c in store.choices(test_id):
        chosen = {c["a_idx"]: c["a_set"], c["b_idx"]: c["b_set"]}.get(c["chosen_idx"], "none")
        rows.append({"kind": "choice", "listener": c["listener"], "expertise": c["expertise"],
                     "position": c["position"], "set": c["a_set"], "item": c["a_idx"], "scale": None,
                     "value": None, "other_set": c["b_set"], "other_item": c["b_idx"], "chosen_set": chosen,
                     "played_s": c["played_s"], "comment": c["comment"], "created": c["created"]})  # fmt: skip
    return [{k: _clean_text(v) for k, v in row.items()} for row in rows]


def _clean_text(v):
    """Free text without control characters (NUL, escapes; tab, newline and CR stay)."""
    return _CONTROL.sub("", v) if isinstance(v, str) else v


BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")  # marks that reorder what a cell shows
BLANK = " \t\r\n\u00a0\u200b\ufeff"  # what a spreadsheet may skip before it reads a formula


def _cell(v) -> str:
    """A CSV cell a spreadsheet will neither run nor show reordered: a text whose first character
    past any blank is = + - @ (or that starts with a blank control) gets a leading apostrophe
    (OWASP's advice), and each bidirectional control is written out as ``<U+202E>``."""
    if v is None:
        return ""
    if not isinstance(v, str):
        return str(v)
    v = BIDI.sub(lambda m: f"<U+{ord(m[0]):04X}>", v)
    if v.lstrip(BLANK)[:1] in ("=", "+", "-", "@") or v[:1] in ("\t", "\r", "\n"):
        return "'" + v
    return v


def export_csv(store, test_id: str) -> str:
    """:func:`export_rows` as CSV, formula-safe."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(EXPORT_COLUMNS)
    for row in export_rows(store, test_id):
        w.writerow([_cell(row[k]) for k in EXPORT_COLUMNS])
    return out.getvalue()


def export_json(store, test_id: str) -> str:
    """:func:`export_rows` as a JSON list (values as stored, control characters removed)."""
    import json

    return json.dumps(export_rows(store, test_id), indent=1) + "\n"


def finite(x):
    """NaN and infinities as null, for JSON."""
    if isinstance(x, float):
        return x if x == x and abs(x) != float("inf") else None
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite(v) for v in x]
    return x
