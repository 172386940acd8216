"""``tunelab study encodings``: grid vs REMI vs CP vs NB, each with a GRU, an LSTM, a
linear-attention Transformer and a Transformer, with cross-entropy and focal loss. Every model is
widened or narrowed to one parameter count (``params``, default 1 M, within a few percent; see
:func:`match`), so that an encoding's vocabulary and per-field heads do not buy it capacity.

Per run: tokens per song, masked accuracy (padding, ignore and CONTI left out), NLL per token
and per note (the whole test split's NLL divided by its notes, so that encodings of different
lengths compare fairly), bits per note split into pitch and the rest (each target read with at
least half a training chunk before it; tunelab.training.surprise), generation speed in notes per second (melodies from scratch at the
study's temperature), how close those melodies come to the test songs (mean overlapping
area of the 17 metrics' distributions, and of the distribution features), and how much of them
is copied from the training songs (tunelab.metrics.novelty).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tunelab.errors import ConfigError
from tunelab.metrics.study17 import NAMES
from tunelab.models.registry import family_class
from tunelab.study.pipeline import Plan, preset_for, run
from tunelab.study.recipes import SMALL
from tunelab.tokenizers import tokenizer_class

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
            base = {
                k: v for k, v in base.items() if k != "tokens_per_minute"
            }  # a box of minutes, each the same
            for loss in losses:
                out[f"{enc}/{fam}/{loss}"] = {
                    **base,
                    "model": fam,
                    "size": size,
                    "encoding": enc,
                    "controls": "none",  # notes only, as the encodings compared are
                    "loss": loss,
                    # one separator between songs where the encoding has one (grid); the others end their own
                    "gap": int(tokenizer_class(enc).separator_id is not None),
                    "model_options": {**base.get("model_options", {}), "dropout": 0.0}
                    if size == "small"
                    else {},
                    **(options or {}),
                }
    return out


def match(specs: dict[str, dict], data: str, params: int) -> dict[str, dict]:
    """Each spec with the width (RNN state and embedding, or Transformer d_model, a multiple of
    its heads) whose model comes closest to ``params`` parameters for its encoding's vocabulary."""
    import tunelab.corpus
    import tunelab.tokenizers

    train = tunelab.corpus.load(data, preset_for(data), verbose=False).split("train")
    vocab = {}
    out = {}
    for name, spec in specs.items():
        enc = spec["encoding"]
        if enc not in vocab:
            tok = tunelab.tokenizers.get(enc, controls=spec.get("controls", "none"))
            vocab[enc] = tok.fit(train).vocab_size
        family = family_class(spec["model"])
        widths = range(16, 1024 + 1, family.width_step(spec["model_options"]))
        lo, hi = 0, len(widths) - 1  # the count grows with the width: bisect to the first above
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (mid + 1, hi) if _count(spec, vocab[enc], widths[mid]) < params else (lo, mid)
        best = min(widths[max(lo - 1, 0) : lo + 1], key=lambda w: abs(_count(spec, vocab[enc], w) - params))
        got = _count(spec, vocab[enc], best)
        if abs(got - params) > 0.1 * params:
            raise ConfigError(f"--params {params:,}: {name} comes no closer than {got:,} (width {best})")
        out[name] = {**spec, "model_options": _widened(spec, best)}
    return out


def _widened(spec: dict, width: int) -> dict:
    """The spec's model options at ``width`` (an RNN's embedding and state, a Transformer's d_model)."""
    return family_class(spec["model"]).scale_width(spec["model_options"], width)


def _count(spec: dict, vocab, width: int) -> int:
    from tunelab.models import build

    model = build(spec["model"], vocab, preset=spec["size"], **_widened(spec, width))
    return sum(p.numel() for p in model.parameters())


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
    params: int | None = 1_000_000,
    only: list[str] | None = None,
) -> Path:
    """Train, score, generate and evaluate every run (``only``: those named ``enc/family/loss``);
    write results.json and encodings.md."""
    from tunelab.io.atomic import atomic_write_text

    runs = specs(encodings, families, losses, size, train_options)
    if only:
        unknown = sorted(set(only) - set(runs))
        if unknown:
            raise ConfigError(f"--only: no run {', '.join(unknown)} (names are encoding/family/loss)")
        runs = {k: v for k, v in runs.items() if k in only}
    if params:
        runs = match(runs, data, params)
    plan = Plan(
        data=data, corpus_preset=preset_for(data), out=Path(out), models=runs,
        minutes=minutes, n=n, protocol=None, formats=("mid",), gallery=0, threads=threads,
        score_subsample=64,  # grid's study accuracy is a side note here (not comparable across encodings)
        max_steps=600,  # 3-12 songs' worth of tokens; beyond it a melody has run away (the study's cap: 1,500)
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
        f"Each run trained for {minutes:g} minutes (dropout 0; params: the model's parameter count), best validation "
        "loss kept, scored on the test songs not also in the training split (masked accuracy, NLL per token "
        "and per note: that split's total NLL / its notes) and on all test songs (bits per note: information "
        "content / notes, each target read with at least half a training chunk before it, as pitch + the rest). "
        "Melodies from scratch (temperature 0.7, stop at the end of a song, at most 600 steps). OA: mean "
        "overlapping area with the test songs (1 = as close as real songs are to each other), over the 17 "
        "metrics and over the distribution features. Copied: the melodies sharing a run of 4 bars with a "
        "training song, and near copies (95% of the melody in one shared run of 2 bars or more).",
        "",
        "| encoding | model | loss | params | tokens / song | masked acc | NLL / token | NLL / note | bits / note "
        "(pitch + rest) | notes/s generated | OA, 17 metrics | OA, features | copied 4 bars / near |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    means = ev.get("means", {})
    for name, r in results["models"].items():
        enc, fam, loss = name.split("/")
        t, g = r.get("test", {}), r.get("generation", {})
        d = dist.get(name, {})
        metric_oa = [
            d[f"metric:{m}"]["oa"] for m in NAMES if np.isfinite(d.get(f"metric:{m}", {}).get("oa", np.nan))
        ]
        feature_oa = [v["oa"] for k, v in d.items() if not k.startswith("metric:") and np.isfinite(v["oa"])]
        lines.append(
            f"| {enc} | {fam} | {loss} | {r['parameters']:,} | {r.get('tokens_per_song', float('nan')):.1f} | "
            f"{t.get('masked_accuracy', float('nan')):.4f} | {t.get('nll_per_token', float('nan')):.4f} | "
            f"{t.get('nll_per_note', float('nan')):.4f} | {_bits(t)} | {g.get('notes_per_s', 0):,} | "
            f"{np.mean(metric_oa) if metric_oa else float('nan'):.3f} | "
            f"{np.mean(feature_oa) if feature_oa else float('nan'):.3f} | {_copied(means.get(name, {}))} |"
        )
    return "\n".join(lines) + "\n"


def _bits(t: dict) -> str:
    if "bits_per_note_all" not in t:
        return "–"
    return f"{t['bits_per_note_all']:.3f} ({t['pitch_bits_per_note_all']:.3f} + {t['rhythm_bits_per_note_all']:.3f})"


def _copied(m: dict) -> str:
    return f"{m['shares_4_bars']:.1%} / {m['near_copy']:.1%}" if "near_copy" in m else "–"
