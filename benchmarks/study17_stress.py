"""The 17 metrics against the study's algorithm on melodies made to stress it.

Real songs are short and tidy; generated melodies are not. This draws melodies with long notes
and rests (up to 16 quarters, longer than a segment), long melodies (up to 1,500 grid steps, the
study's cap), rests on segment edges and endings mid-segment, and compares tunelab's
``study17_many`` with the music21-stream reference (benchmarks/study17_music21.py, the study's
algorithm) metric by metric.

    python benchmarks/study17_stress.py [--melodies 1000] [--jobs 2]

Writes benchmarks/results/study17_stress.md and .json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def stress_melody(rng: np.random.Generator) -> str:
    """A grid line: events of 1-64 steps (heavy-tailed), a rest in five, 8-1,500 steps."""
    target = int(
        rng.choice([int(rng.integers(8, 64)), int(rng.integers(64, 700)), int(rng.integers(700, 1500))])
    )
    tokens, pitch = [], int(rng.integers(55, 80))
    while len(tokens) < target:
        u = rng.random()
        steps = (
            int(rng.integers(1, 5))
            if u < 0.6
            else int(rng.integers(5, 17))
            if u < 0.85
            else int(rng.integers(17, 65))
        )
        if rng.random() < 0.1:  # land exactly on the next segment edge
            steps = 16 - len(tokens) % 16 or 16
        steps = min(steps, target - len(tokens))
        if rng.random() < 0.2:
            head = "r"
        else:
            pitch = int(np.clip(pitch + rng.integers(-7, 8), 36, 96))
            head = str(pitch)
        tokens += [head] + ["_"] * (steps - 1)
    return " ".join(tokens)


def _reference(lines: list[str]) -> list[list[float]]:
    import study17_music21

    warnings.simplefilter("ignore")
    return [study17_music21.metrics(line) for line in lines]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--melodies", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "study17_stress")
    args = ap.parse_args()
    from tunelab.metrics import STUDY17_NAMES, study17_many

    rng = np.random.default_rng(args.seed)
    lines = [stress_melody(rng) for _ in range(args.melodies)]
    steps = [len(line.split()) for line in lines]
    t = time.perf_counter()
    ours = study17_many(lines, jobs=1)
    ours_s = time.perf_counter() - t
    t = time.perf_counter()
    with mp.get_context("fork").Pool(args.jobs) as pool:
        parts = pool.map(_reference, [lines[i :: args.jobs] for i in range(args.jobs)])
    theirs = np.zeros_like(ours)
    for i, part in enumerate(parts):
        theirs[i :: args.jobs] = np.array(part)
    ref_s = time.perf_counter() - t
    diff = np.abs(ours - theirs)
    res = {
        "melodies": len(lines),
        "steps_mean": float(np.mean(steps)),
        "steps_max": int(max(steps)),
        "over_700_steps": int(sum(s > 700 for s in steps)),
        "tunelab_s": ours_s,
        "music21_s": ref_s,
        "melodies_differing": int((diff > 1e-9).any(axis=1).sum()),
        "per_metric": {
            name: {"differing": int((diff[:, j] > 1e-9).sum()), "max": float(diff[:, j].max())}
            for j, name in enumerate(STUDY17_NAMES)
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(res, indent=1) + "\n")
    md = (
        "# The 17 metrics on stress melodies, against the study's algorithm\n\n"
        f"`python benchmarks/study17_stress.py --melodies {args.melodies} --seed {args.seed}`: "
        f"{res['melodies']:,} melodies, {res['steps_mean']:.0f} grid steps on average, {res['over_700_steps']} over 700, "
        f"the longest {res['steps_max']:,}; tunelab {ours_s:.1f} s, music21 reference {ref_s:.0f} s ({args.jobs} processes).\n\n"
        f"Melodies with any metric more than 1e-9 from the reference: **{res['melodies_differing']}**.\n\n"
        "| metric | melodies differing | largest difference |\n|---|---:|---:|\n"
        + "".join(
            f"| {name} | {v['differing']} | {v['max']:.3g} |\n" for name, v in res["per_metric"].items()
        )
    )
    args.out.with_suffix(".md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
