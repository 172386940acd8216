"""Bits per note of real songs under the shipped models (issue 19): the information content of
the test songs, total / notes, split into pitch and the rest (tunelab.training.surprise), on
deutschl's test split (the study preset) and on the study's own test songs, all and unseen
(not also in the split the model trained on). And a picture: surprise along one unseen song.

    python benchmarks/bits_per_note.py [--models study-lstm deutschl-lstm ...] [--threads 1]

Writes benchmarks/results/bits_per_note.md and docs/results/surprise/surprise.png (+ .csv).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPLIT = HERE.parents[1] / "shared" / "data" / "study-split"
PLOT = HERE.parent / "docs" / "results" / "surprise"
PARTS = ("bits_per_note", "pitch_bits_per_note", "rhythm_bits_per_note")


def main() -> None:
    import torch

    from tunelab.pretrained import aliases, names
    from tunelab.training.score import score

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--models",
        nargs="+",
        default=[n for n in names() if n.startswith(("study-", "deutschl-")) and n not in aliases()],
    )
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if not SPLIT.exists():
        sys.exit(f"{SPLIT} is absent: this benchmark needs the study's split files")
    torch.set_num_threads(args.threads)
    rows, curves = [], {}
    for model in args.models:
        for data in ("deutschl", str(SPLIT)):
            t = time.perf_counter()
            csv_path = Path(f"/tmp/surprise-{model}-{Path(data).name}.csv")
            preset = "study" if data == "deutschl" else None  # as the study prepared its split
            s = score(model, data, split="test", unseen=True, preset=preset, surprise_csv=csv_path)
            seconds = time.perf_counter() - t
            label = "deutschl test (study preset)" if data == "deutschl" else "the study's test.txt"
            rows.append(
                f"| {model} | {label} | {s['songs'] + s['left_out']['also_in_train']} / {s['songs']} | "
                + " | ".join(_cell(s, every) for every in ("_all", ""))
                + f" | {seconds:.0f} |\n"
            )
            if data != "deutschl":
                curves[model] = csv_path
            print(rows[-1], end="", flush=True)
    text = (
        "# Bits per note of real songs under the shipped models (benchmarks/bits_per_note.py)\n\n"
        "Information content of the test songs under each model, total bits / notes, as pitch + the rest "
        "(when a note starts, holds, rests, the song's end; the chain rule splits a pitch token's "
        "surprise into 'a note starts here' and 'this pitch'). Each target is read with at least half the "
        "model's training chunk before it (tunelab.training.surprise). Unseen: the test songs not also in "
        "the split the model trained on (the study's train.txt for every shipped model).\n\n"
        "| model | test songs | songs (all / unseen) | all: total (pitch + rest) | unseen: total (pitch + rest) | seconds |\n"
        "|---|---|---|---|---|---|\n" + "".join(rows) + f"\nMachine: {args.threads} CPU thread(s), torch "
        f"{torch.__version__}. IDyOM (Pearce 2005) reports 2.1-2.7 bits per note for pitch on eight "
        "Essen-style folk sets (2.48 on average); docs/results.md section 8 says what differs.\n"
    )
    (HERE / "results" / "bits_per_note.md").write_text(text)
    print(text)
    if curves:
        plot(curves)


def _cell(s: dict, every: str) -> str:
    total, pitch, rest = (s[f"{k}{every}"] for k in PARTS)
    return f"{total:.3f} ({pitch:.3f} + {rest:.3f})"


def plot(curves: dict[str, Path], song: str | None = None) -> None:
    """Surprise along one unseen test song under each model: bits per target, pitch part darker."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = {m: list(csv.DictReader(p.open())) for m, p in curves.items()}
    first = next(iter(tables.values()))
    song = song or first[0]["song"]
    PLOT.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(len(tables), 1, figsize=(12, 2.2 * len(tables)), sharex=True, squeeze=False)
    for ax, (model, rows) in zip(axes[:, 0], tables.items()):
        mine = [r for r in rows if r["song"] == song]
        x = range(len(mine))
        total = [float(r["bits"]) for r in mine]
        pitch = [float(r["pitch_bits"]) for r in mine]
        ax.bar(
            x, [t - p for t, p in zip(total, pitch)], color="#9cc3e6", label="when (onset, hold, rest, end)"
        )
        ax.bar(x, pitch, bottom=[t - p for t, p in zip(total, pitch)], color="#1f5f99", label="pitch")
        ax.set_ylabel("bits", fontsize=8)
        ax.set_title(f"{model}: {sum(total):.0f} bits over the song", fontsize=9)
        ax.set_xticks(list(x), [r["token"] for r in mine], fontsize=6, rotation=90)
    axes[0, 0].legend(fontsize=8, loc="upper right")
    axes[-1, 0].set_xlabel(f"the grid tokens of {song} (16th-note steps)", fontsize=8)
    fig.tight_layout()
    fig.savefig(PLOT / "surprise.png", dpi=90)
    with open(PLOT / "surprise.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "song", "target", "token", "bits", "pitch_bits"])
        for model, rows in tables.items():
            w.writerows([model, *r.values()] for r in rows if r["song"] == song)


if __name__ == "__main__":
    main()
