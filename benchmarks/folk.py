"""The folk model: trained on every built-in corpus in notated keys, with controls and filling in,
beside its two twins, each to its plateau; then what issue 28 asks of it, measured.

Runs (runs/folk/, each resumed where an interrupted one stopped):

- ``folk-lstm``: the recipe ``folk-lstm`` (tunelab.study.recipes): controls, ``--infill 0.5``;
- ``ltr``: the same, left to right only (``--infill 0``): what filling in costs;
- ``plain``: the same, left to right and without controls (``--controls none``): what the
  controls gain.

    python benchmarks/folk.py train [--threads 1]
    python benchmarks/folk.py measure        # writes benchmarks/results/folk.md and .json

Long work: run it niced in the background, logged to a file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RUNS = ROOT / "runs" / "folk"
RESULTS = HERE / "results"


def variants() -> dict[str, dict]:
    from tunelab.study.recipes import RECIPES

    base = RECIPES["folk-lstm"].spec()
    return {
        "folk-lstm": base,
        "ltr": {**base, "infill": 0.0},
        "plain": {**base, "infill": 0.0, "controls": "none"},
    }


def train_all(threads: int) -> None:
    from tunelab.training import TrainConfig, train
    from tunelab.training.checkpoint import read_config

    for name, fields in variants().items():
        out = RUNS / name
        state = read_config(out)["status"].get("state") if (out / "config.json").exists() else None
        t0 = time.perf_counter()
        if state == "finished":
            print(f"{name}: finished already", flush=True)
            continue
        if state == "training" and (out / "resume.pt").exists():
            print(f"{name}: resuming", flush=True)
            train({"out": str(out)} | read_config(out)["train"], resume=True, threads=threads, progress=False)
        else:
            print(f"{name}: training", flush=True)
            train(TrainConfig(out=str(out), threads=threads, progress=False, **fields))
        print(f"{name}: done in {(time.perf_counter() - t0) / 60:.1f} min", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("phase", choices=["train", "measure"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--per-condition", type=int, default=200, help="melodies per condition (measure)")
    ap.add_argument("--fills", type=int, default=200, help="fills whose seams are measured (measure)")
    ap.add_argument("--out", type=Path, default=RESULTS / "folk", help="results file stem (measure)")
    args = ap.parse_args(argv)
    if args.phase == "train":
        train_all(args.threads)
        return 0
    from folk_measure import measure, report

    result = measure(RUNS, threads=args.threads, per_condition=args.per_condition, fills=args.fills)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(report(result))
    print(f"wrote {args.out.with_suffix('.md')} and .json")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main())
