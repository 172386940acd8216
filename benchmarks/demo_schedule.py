"""The demo's small recipes at the demo's budget (one minute of tokens each on a free 2-core
machine): their plateau schedule against a warm-up and a cosine to the end of the budget.

A plateau schedule lowers the rate only after a validation epoch fails to improve, which a
1-epoch budget never reaches; a cosine anneals within the budget. Validation split only.

    python benchmarks/demo_schedule.py [--minutes 1.0]

Writes benchmarks/results/demo_schedule.md.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VARIANTS = {
    "plateau (recipe)": {},
    "cosine, warm-up 30": {"schedule": "cosine", "warmup": 30, "min_lr": 1e-5},
}


def run(recipe: str, changes: dict, tokens: int) -> dict:
    from tunelab.study.recipes import RECIPES
    from tunelab.training import TrainConfig, train

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        out = train(TrainConfig(corpus="deutschl", corpus_preset="study", out=f"{tmp}/run", epochs=1000,
                                patience=0, max_tokens=tokens, progress=False,
                                **{**RECIPES[recipe].fields, **changes}))  # fmt: skip
        seconds = time.perf_counter() - t0
        with open(Path(out) / "train_log.csv") as f:
            last = list(csv.DictReader(f))[-1]
    return {
        "val_accuracy": float(last["val_accuracy"]),
        "val_loss": float(last["val_loss"]),
        "seconds": seconds,
    }


def main() -> None:
    from tunelab.study.recipes import RECIPES
    from tunelab.threads import use

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=1.0)
    args = ap.parse_args()
    use(None)
    rows = []
    for recipe in ("small-lstm", "small-transformer", "small-hybrid"):
        tokens = int(RECIPES[recipe].tokens_per_minute * args.minutes)
        for name, changes in VARIANTS.items():
            r = run(recipe, changes, tokens)
            print(recipe, name, r, flush=True)
            rows.append(f"| {recipe} | {tokens / 1e6:.2f} M | {name} | {r['val_loss']:.4f} | {r['val_accuracy']:.4f} "
                        f"| {r['seconds']:.0f} s |\n")  # fmt: skip
    text = (
        "# The demo's schedules at the demo's budget (benchmarks/demo_schedule.py)\n\n"
        f"{args.minutes:g} minute(s) of tokens per recipe (tokens_per_minute in src/tunelab/study/recipes.py), "
        "deutschl with the study's preparation, validation split, the last validation of the run.\n\n"
        "| recipe | tokens | schedule | val loss | val accuracy | wall |\n|---|---|---|---|---|---|\n"
        + "".join(rows)
    )
    (HERE / "results" / "demo_schedule.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
