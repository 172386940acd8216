"""Copying of the training set (issue 19): real test songs against the study's train split,
beside the shipped study-lstm's melodies at the study's temperature and at 1.0 with top-p 0.95.

    tunelab generate --model study-lstm --protocol study --seeds ../shared/data/study-split/seeds.txt \\
        --n 1000 --temperature 0.7 --formats grid --out runs/nov/t07
    tunelab generate --model study-lstm --protocol study --seeds ../shared/data/study-split/seeds.txt \\
        --n 1000 --temperature 1.0 --top-p 0.95 --formats grid --out runs/nov/t10
    python benchmarks/novelty.py

Writes benchmarks/results/novelty.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SPLIT = HERE.parents[1] / "shared" / "data" / "study-split"
FLAGS = ("shares_2_bars", "shares_4_bars", "half_covered", "near_copy")  # tunelab Copying.flags
SETS = {
    "study-lstm T=0.7": Path("runs/nov/t07/grid.txt"),
    "study-lstm T=1.0 top-p 0.95": Path("runs/nov/t10/grid.txt"),
}


def main() -> None:
    from tunelab.io.gridtext import parse_line
    from tunelab.metrics.novelty import TrainingIndex

    if not SPLIT.exists():
        sys.exit(f"{SPLIT} is absent: this benchmark needs the study's split files")

    def read(lines):
        return [parse_line(line)[0] for line in lines if line.strip()]

    train_lines = (SPLIT / "train.txt").read_text().splitlines()
    test_lines = (SPLIT / "test.txt").read_text().splitlines()
    t = time.perf_counter()
    index = TrainingIndex(read(train_lines))
    build = time.perf_counter() - t
    seen = set(train_lines)
    sets = {
        "test songs (all 752)": read(test_lines),
        "test songs not in train.txt (612)": read([x for x in test_lines if x not in seen]),
    }
    sets |= {name: read(path.read_text().splitlines()) for name, path in SETS.items() if path.exists()}
    rows = []
    for name, melodies in sets.items():
        t = time.perf_counter()
        got = [index.match(m) for m in melodies]
        seconds = time.perf_counter() - t
        share = {k: np.mean([c.flags()[k] for c in got]) for k in FLAGS}
        rows.append(
            f"| {name} | {len(got):,} | {seconds:.2f} | {np.median([c.longest_run for c in got]):.0f} | "
            + " | ".join(f"{share[k]:.3f}" for k in FLAGS)
            + " |\n"
        )
    md = (
        "# Copying of the training set (tunelab.metrics.novelty)\n\n"
        f"Index of the study's {len(train_lines):,} train songs: {build:.2f} s. Shares of each set's melodies "
        "whose longest run shared with a training song (same intervals and rhythm, any transposition) "
        "spans 2 bars (8 quarters) or 4 bars (16), that have half their notes inside shared runs of a bar, "
        "and whose longest shared run is 95% of the melody and 2 bars long at least (a near copy). `python benchmarks/novelty.py`.\n\n"
        "| set | melodies | seconds | median longest run (notes) | run of 2 bars | run of 4 bars | half covered | near copy |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|\n" + "".join(rows)
    )
    (HERE / "results" / "novelty.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
