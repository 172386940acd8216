"""The study's claim re-tested: does the Hybrid come closer to the real songs than both
baselines, metric by metric (local, global, structure)? Each melody's distance from the real
songs is its absolute deviation from their median; the Hybrid's distances against each
baseline's, Mann-Whitney U with Holm's correction, Cliff's delta."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tunelab.metrics.study17 import GLOBAL, LOCAL
from tunelab.study import published

REAL = "test songs"
STRUCTURE = ("ssm_structureness", "ssm_repetition", "pitch_deviation", "mean_interval", "beat_alignment")


def peers(results: dict) -> list[str]:
    """The models compared with each other: those trained in this run when some are shipped
    models set beside them (the demo), else all (a run of shipped models alone compares them)."""
    models, specs = list(results["models"]), results.get("plan", {}).get("models", {})
    trained = [k for k in models if "pretrained" not in specs.get(k, {})]
    return trained or models


def coherence_tests(
    values: dict[str, dict[str, np.ndarray]], challenger: str = published.CHALLENGER
) -> list[dict]:
    """Is ``challenger`` closer to the real songs than each other model, metric by metric?

    ``values``: set -> metric -> per-melody values, the real songs under :data:`REAL`. Each
    melody's distance from the real songs is its absolute deviation from their median; the
    challenger's distances are compared with each baseline's by a two-sided Mann-Whitney U
    test, Holm-corrected over all metrics and baselines, with Cliff's delta (negative: the
    challenger's melodies lie closer to the real songs' median)."""
    from scipy.stats import mannwhitneyu

    from tunelab.metrics.stats import cliffs_delta, holm

    baselines = [k for k in values if k not in (REAL, challenger)]
    rows, pvalues = [], []
    for group, names in (
        ("local (study 1-11)", LOCAL),
        ("global (study 12-17)", GLOBAL),
        ("structure", STRUCTURE),
    ):
        for m in names:
            if m not in values[REAL]:
                continue
            med = np.median(values[REAL][m])
            dev = {k: np.abs(values[k][m] - med) for k in (challenger, *baselines)}
            row = {
                "group": group,
                "metric": m,
                "median_deviation": {k: float(np.median(v)) for k, v in dev.items()},
            }
            for b in baselines:
                same = np.ptp(np.concatenate([dev[challenger], dev[b]])) == 0
                p = 1.0 if same else float(mannwhitneyu(dev[challenger], dev[b]).pvalue)
                row[b] = {"delta": cliffs_delta(dev[challenger], dev[b]), "p": p}
                pvalues.append(p)
            rows.append(row)
    adjusted = iter(holm(pvalues)) if pvalues else iter(())
    for row in rows:
        for b in baselines:
            row[b]["p_holm"] = float(next(adjusted))
        closer = [row[b]["delta"] < 0 and row[b]["p_holm"] < 0.05 for b in baselines]
        farther = [row[b]["delta"] > 0 and row[b]["p_holm"] < 0.05 for b in baselines]
        row["verdict"] = (
            f"{challenger} closer than all"
            if all(closer)
            else "a baseline closer"
            if any(farther)
            else "no clear difference"
        )
    return rows


def read_per_item(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """evaluation/per_item.csv -> set -> metric -> values (the text columns, such as the nearest
    training song, left out)."""
    import csv

    out: dict[str, dict[str, list]] = {}
    text: set[str] = set()
    with open(path) as f:
        for r in csv.DictReader(f):
            d = out.setdefault(r.pop("set"), {})
            r.pop("item")
            for k, v in r.items():
                try:
                    d.setdefault(k, []).append(float(v))
                except ValueError:
                    text.add(k)
    return {k: {m: np.array(v) for m, v in d.items() if m not in text} for k, d in out.items()}
