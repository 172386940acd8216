"""``tunelab study ablation``: the study's ablation grid on the Hybrid (reference/study-setup.md,
Ablations), each variant trained in the same time box and scored with the study's test
accuracy, in the study's table shape.

The base is the study's Hybrid in causal form (:data:`tunelab.study.recipes.STUDY_SIZE`, or the
small Hybrid with ``size="small"``) with the study's regularisation: dropout 0.1 and L2 0.01 on
the first LSTM layer's input kernel. Each variant changes one thing.
"""

from __future__ import annotations

import copy
from pathlib import Path

from tunelab.study import published
from tunelab.study.pipeline import Plan, preset_for, run
from tunelab.study.recipes import SMALL, STUDY_SIZE

L2_KERNEL = "rnn.weight_ih_l0"  # the hybrid's first LSTM layer's input kernel
# variant -> (what changes in model_options, what changes in the training config), the study's value
VARIANTS = {
    "base": ({}, {}, None),
    "1 encoder layer": ({"encoder_layers": 1}, {}, 0.7818),
    "4 heads": ({"n_heads": 4}, {}, 0.7846),
    "no dropout": ({"dropout": 0.0}, {}, 0.5086),
    "single LSTM layer": ({"n_layers": 1}, {}, 0.7737),
    "LSTM 128 units": ({"hidden_size": 128}, {}, 0.7761),
    "no embedding (one-hot)": ({"embedding": "onehot"}, {}, 0.8461),
    "+ positional encoding": ({"positional": "sinusoidal"}, {}, 0.7770),
    **{f"L2 {c:g}": ({}, {"l2": {L2_KERNEL: c}}, acc)
       for c, acc in ((0.0, 0.5035), (0.1, 0.7921), (0.001, 0.7874), (1e-4, 0.8129), (1e-5, 0.5035), (1.0, 0.5035))},
}  # fmt: skip
STUDY_BASE = published.TEST_ACCURACY["hybrid"]  # the study's Hybrid: L2 0.01, dropout 0.1


def variants(size: str = "study", vocab_size: int = 46) -> dict[str, dict]:
    """TrainConfig fields per variant."""
    base = copy.deepcopy(STUDY_SIZE["hybrid"] if size == "study" else SMALL["hybrid"])
    if size == "small":  # the study's base in shape (no positions, 8 heads, >1 block), at demo width
        base["model_options"].update(encoder_layers=2, n_heads=8, positional="none")
    base["model_options"]["dropout"] = 0.1
    base["l2"] = {L2_KERNEL: 0.01}
    out = {}
    for name, (model, train, _) in VARIANTS.items():
        spec = copy.deepcopy(base)
        spec["model_options"].update(model)
        if model.get("embedding") == "onehot":
            spec["model_options"]["d_model"] = vocab_size  # one-hot ids are as wide as the vocabulary
            spec["model_options"].setdefault("head_dim", base["model_options"].get("d_model", 128) // 8)
        spec.update(train)
        out[name] = spec
    return out


def ablation(
    out="ablation",
    *,
    data: str = "deutschl",
    minutes: float = 5.0,
    size: str = "study",
    only: list[str] | None = None,
    score_subsample: int = 16,
    threads: int | None = None,
) -> Path:
    """Train the variants (``only`` a subset), score them, write results.json and ablation.md."""
    from tunelab.io.atomic import atomic_write_text

    specs = variants(size, _vocab(data))
    if only:
        specs = {k: v for k, v in specs.items() if k in only}
    plan = Plan(
        data=data, corpus_preset=preset_for(data), out=Path(out), models=specs, minutes=minutes, generate=False,
        score_subsample=score_subsample, threads=threads, title="tunelab study ablation",
    )  # fmt: skip
    results = run(plan)
    atomic_write_text(Path(out) / "ablation.md", table(results, minutes, size))
    print((Path(out) / "ablation.md").resolve())
    return Path(out) / "ablation.md"


def _vocab(data: str) -> int:
    """The grid vocabulary of the corpus's training songs, padding included."""
    import tunelab.corpus
    import tunelab.tokenizers

    train = tunelab.corpus.load(data, preset_for(data), verbose=False).split("train")
    return tunelab.tokenizers.get("grid", controls=()).fit(train).vocab_size  # the study's grid


def table(results: dict, minutes: float, size: str) -> str:
    lines = [
        "# The study's ablations on the Hybrid (tunelab study ablation)",
        "",
        f"Each variant trained for {minutes:g} minutes ({size} size, causal form), best validation loss kept; test "
        "accuracy by the study's protocol (64-token windows of the test stream, one in "
        f"{results['plan']['score_subsample']} at random). The study's column: its reported test accuracy "
        f"(its base Hybrid: {STUDY_BASE}).",
        "",
        "| variant | params | epochs | val loss | test acc | test acc, unseen songs | study's test acc |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results["models"].items():
        t = r.get("test", {})
        study = VARIANTS.get(name, (None, None, None))[2]
        study = STUDY_BASE if name == "base" else study
        lines.append(
            f"| {name} | {r['parameters']:,} | {r.get('epochs_seen', r['epochs'])} | {r.get('val_loss') or float('nan'):.4f} | "
            f"{t.get('study_accuracy_all', float('nan')):.4f} | {t.get('study_accuracy', float('nan')):.4f} | "
            f"{study if study is not None else '–'} |"
        )
    return "\n".join(lines) + "\n"
