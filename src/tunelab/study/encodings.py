"""``tunelab study encodings``: grid vs REMI vs CP vs NB, each with a GRU, an LSTM, a
linear-attention Transformer and a Transformer of the ``small`` size (parameter counts differ
only by the encodings' vocabularies and field heads), with cross-entropy and focal loss.

Per run: tokens per song, masked accuracy (padding, ignore and CONTI left out), NLL per token
and per note (the whole test split's NLL divided by its notes, so that encodings of different
lengths compare fairly), generation speed in notes per second (melodies from scratch at the
study's temperature), and how close those melodies come to the test songs (mean overlapping
area of the 17 metrics' distributions, and of the distribution features).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tunelab.study.pipeline import Plan, preset_for, run
from tunelab.study.recipes import SMALL

ENCODINGS = ("grid", "remi", "cp", "nb")
FAMILIES = ("gru", "lstm", "linear-transformer", "transformer")
LOSSES = ("ce", "focal")


def specs(
    encodings=ENCODINGS, families=FAMILIES, losses=LOSSES, size="small", options=None
) -> dict[str, dict]:
    """TrainConfig fields per run name ``encoding/family/loss`` (``options`` override them)."""
    out = {}
    for enc in encodings:
        for fam in families:
            base = SMALL.get(fam, {"model": fam, "size": "small", "lr": 1e-3, "schedule": "plateau"})
            for loss in losses:
                out[f"{enc}/{fam}/{loss}"] = {
                    **base,
                    "model": fam,
                    "size": size,
                    "encoding": enc,
                    "loss": loss,
                    "gap": 1
                    if enc == "grid"
                    else 0,  # one `/` between grid songs; the others carry their own ends
                    "model_options": {**base.get("model_options", {}), "dropout": 0.0}
                    if size == "small"
                    else {},
                    **(options or {}),
                }
    return out


def encodings(
    out="encodings",
    *,
    data: str = "deutschl",
    minutes: float = 3.0,
    n: int = 200,
    encodings=ENCODINGS,
    families=FAMILIES,
    losses=LOSSES,
    threads: int | None = None,
    size: str = "small",
    train_options: dict | None = None,
) -> Path:
    """Train, score, generate and evaluate every run; write results.json and encodings.md."""
    from tunelab.io.atomic import atomic_write_text

    plan = Plan(
        data=data, corpus_preset=preset_for(data), out=Path(out), models=specs(encodings, families, losses, size, train_options),
        minutes=minutes, n=n, protocol=None, formats=("mid",), gallery=0, threads=threads,
        title="tunelab study encodings",
    )  # fmt: skip
    results = run(plan)
    atomic_write_text(Path(out) / "encodings.md", table(results, minutes))
    print((Path(out) / "encodings.md").resolve())
    return Path(out) / "encodings.md"


def table(results: dict, minutes: float) -> str:
    ev = results.get("evaluation", {})
    dist = ev.get("distribution", {})
    lines = [
        "# Encodings compared (tunelab study encodings)",
        "",
        f"Each run trained for {minutes:g} minutes (small size, dropout 0), best validation loss kept, scored on "
        "the test split. NLL per note = the split's total NLL / its notes. Melodies from scratch (temperature "
        "0.7, stop at the end of a song, at most 1,500 steps). OA: mean overlapping area with the test songs "
        "(1 = as close as real songs are to each other), over the 17 metrics and over the distribution features.",
        "",
        "| encoding | model | loss | params | tokens / song | masked acc | NLL / token | NLL / note | notes/s "
        "generated | OA, 17 metrics | OA, features |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["models"].items():
        enc, fam, loss = name.split("/")
        t, g = r.get("test", {}), r.get("generation", {})
        d = dist.get(name, {})
        metric_oa = [v["oa"] for k, v in d.items() if k.startswith("metric:") and np.isfinite(v["oa"])]
        feature_oa = [v["oa"] for k, v in d.items() if not k.startswith("metric:") and np.isfinite(v["oa"])]
        lines.append(
            f"| {enc} | {fam} | {loss} | {r['parameters']:,} | {r.get('tokens_per_song', float('nan')):.1f} | "
            f"{t.get('masked_accuracy', float('nan')):.4f} | {t.get('nll_per_token', float('nan')):.4f} | "
            f"{t.get('nll_per_note', float('nan')):.4f} | {g.get('notes_per_s', 0):,} | "
            f"{np.mean(metric_oa) if metric_oa else float('nan'):.3f} | "
            f"{np.mean(feature_oa) if feature_oa else float('nan'):.3f} |"
        )
    return "\n".join(lines) + "\n"
