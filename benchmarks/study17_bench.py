"""The study's 17 metrics: tunelab (numpy) vs music21 streams the way the study did, and the
reference rows for real songs that the study's table lacks.

Writes benchmarks/results/study17.md and .json.

    python benchmarks/study17_bench.py [--music21-every N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SPLIT = HERE.parents[1] / "shared" / "data" / "study-split"
sys.path.insert(0, str(HERE))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--music21-every", type=int, default=10, help="time music21 on every Nth melody")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "study17")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    if not SPLIT.exists():
        sys.exit(f"{SPLIT} is absent: this benchmark needs the study's split files")
    from tunelab.metrics import STUDY17_NAMES, study17_many

    test = (SPLIT / "test.txt").read_text().splitlines()
    train = (SPLIT / "train.txt").read_text().splitlines()
    melodies = (test + (SPLIT / "val.txt").read_text().splitlines() + train)[:1000]
    res: dict = {"melodies": len(melodies), "mean_steps": float(np.mean([len(m.split()) for m in melodies]))}

    t = time.perf_counter()
    ours = study17_many(melodies, jobs=1)
    res["tunelab_1proc_s"] = time.perf_counter() - t
    t = time.perf_counter()
    both = study17_many(melodies, jobs=None)
    res["tunelab_s"] = time.perf_counter() - t
    res["cores"] = os.cpu_count()
    assert np.array_equal(ours, both)

    import study17_music21

    sample = list(range(0, len(melodies), args.music21_every))
    t = time.perf_counter()
    theirs = np.array([study17_music21.metrics(melodies[i]) for i in sample])
    m21_s = time.perf_counter() - t
    res["music21_melodies_timed"] = len(sample)
    res["music21_s_per_melody"] = m21_s / len(sample)
    res["music21_s_for_all"] = m21_s / len(sample) * len(melodies)
    res["speedup"] = res["music21_s_for_all"] / res["tunelab_s"]
    diff = np.abs(ours[sample] - theirs)
    res["max_abs_difference"] = dict(zip(STUDY17_NAMES, diff.max(axis=0).tolist()))

    rows = {"study test.txt (752 songs, as published)": test}
    train_set = set(train)
    rows["study test.txt without the songs also in train.txt"] = [m for m in test if m not in train_set]
    import tunelab.corpus as tc
    from tunelab.io.gridtext import format_score

    rows["deutschl, study preset (music21's Essen ABC)"] = [
        format_score(s) for s in tc.load("deutschl", "study", verbose=False).scores
    ]
    res["reference"] = {
        name: _summary(study17_many(lines)) | {"count": len(lines)} for name, lines in rows.items()
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(res, indent=2) + "\n")
    md = _table(res, STUDY17_NAMES)
    args.out.with_suffix(".md").write_text(md)
    print(md)


def _summary(values: np.ndarray) -> dict:
    return {
        "mean": values.mean(axis=0).tolist(),
        "std": values.std(axis=0).tolist(),
        "median": np.median(values, axis=0).tolist(),
    }


def _table(r: dict, names) -> str:
    out = [
        "# The study's 17 metrics: speed, agreement, and reference rows for real songs",
        "",
        f"{r['melodies']} melodies of the study's own data (test, then validation, then train songs; "
        f"{r['mean_steps']:.0f} grid steps on average). Produced by `python benchmarks/study17_bench.py`.",
        "",
        "| implementation | time for all melodies | per melody | speed-up |",
        "|---|---:|---:|---:|",
        f"| music21 streams, as the study ({r['music21_melodies_timed']} melodies timed, extrapolated) | "
        f"{r['music21_s_for_all']:.0f} s | {1000 * r['music21_s_per_melody']:.0f} ms | 1x |",
        f"| tunelab `study17_many`, one process | {r['tunelab_1proc_s']:.2f} s | {1000 * r['tunelab_1proc_s'] / r['melodies']:.2f} ms | {r['music21_s_for_all'] / r['tunelab_1proc_s']:.0f}x |",
        f"| tunelab `study17_many`, {r['cores']} processes | {r['tunelab_s']:.2f} s | {1000 * r['tunelab_s'] / r['melodies']:.2f} ms | {r['speedup']:.0f}x |",
        "",
        f"Largest difference between the two on the {r['music21_melodies_timed']} melodies, over all 17 metrics: "
        f"{max(r['max_abs_difference'].values()):.1e}.",
        "",
        "Reference rows (mean, with std below it): the 'dataset' row the study's table lacks.",
        "",
        "| metric | " + " | ".join(r["reference"]) + " |",
        "|---|" + "---:|" * len(r["reference"]),
    ]
    for i, name in enumerate(names):
        cells = [f"{v['mean'][i]:.4f} ± {v['std'][i]:.4f}" for v in r["reference"].values()]
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    out.append("| songs | " + " | ".join(str(v["count"]) for v in r["reference"].values()) + " |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
