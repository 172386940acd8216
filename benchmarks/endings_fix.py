"""Do tunelab's own attention models end their melodies? (issue 31, item 4)

The shipped study models read a 64-token window and ramble (issue 31: note-count overlap with
real songs 0.54 for the Transformer and 0.44 for the Hybrid at T=0.7; 8 of 32 demo Hybrid
melodies at the step cap). tunelab's own models see the whole song (sequence mode), and can be
told its length (the ``bars`` control, which the grammar then keeps). Four runs on Deutschl as
the study prepares it (``--corpus deutschl --prep study``: C major / A minor, the 16th grid, its
durations; read from the kern files, so the meters are kept, which a bar count needs: the
study's own split is grid text without meters), the same recipes (small-transformer,
small-hybrid) and the same training tokens: with meter and bar count as controls, and without
any control (whole-song context alone). Each writes 1,000 melodies from scratch at temperature
0.7 (the model samples its own bar count when it has the control), counted for the step cap,
and ``tunelab evaluate --suite distribution --reference deutschl`` (the study preset's test
songs) gives the note-count overlap (OA). The shipped models' rows: their 752 melodies by the
study's protocol against the study split's 752 test songs.

    python benchmarks/endings_fix.py [--tokens 8e6] [--n 1000]   # resumable; writes results/endings_fix.md
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPLIT = HERE.parent.parent / "shared" / "data" / "study-split"
VARIANTS = {  # name -> (recipe, controls)
    "transformer, bar count": ("small-transformer", "meter,bars"),
    "hybrid, bar count": ("small-hybrid", "meter,bars"),
    "transformer, whole song only": ("small-transformer", "none"),
    "hybrid, whole song only": ("small-hybrid", "none"),
}
SHIPPED = (
    "study-lstm",
    "study-transformer",
    "study-hybrid",
)  # their 752 T=0.7 melodies (benchmarks/discriminator.py)


def tunelab(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "tunelab", *args], check=True)


def slug(name: str) -> str:
    return name.replace(", ", "-").replace(" ", "-")


def one(name: str, recipe: str, controls: str, args) -> dict:
    run, gen, ev = (args.runs / slug(name), args.runs / f"{slug(name)}-gen", args.runs / f"{slug(name)}-eval")
    if not (run / "done").exists():
        resume = ["--resume"] if (run / "config.json").exists() else []
        tunelab("train", "--recipe", recipe, "--corpus", "deutschl", "--prep", "study", "--controls", controls, "--max-tokens",
                str(int(args.tokens)), "--threads", "1", "--no-progress", "--out", str(run), *resume)  # fmt: skip
        (run / "done").write_text(time.strftime("%F %T"))
    if not (gen / "melodies.jsonl").exists():
        t0 = time.perf_counter()
        tunelab("generate", "--model", str(run), "--n", str(args.n), "--seed", "1", "--temperature", "0.7",
                "--formats", "mid", "--threads", "1", "--out", str(gen))  # fmt: skip
        (gen / "seconds").write_text(f"{time.perf_counter() - t0:.0f}")
    if not (ev / "metrics.json").exists():
        tunelab("evaluate", str(gen / "mid"), "--reference", "deutschl", "--suite", "distribution",
                "--out", str(ev))  # fmt: skip
    stops = Counter(json.loads(line)["stop"] for line in (gen / "melodies.jsonl").open())
    found = json.loads((ev / "metrics.json").read_text())
    log = (run / "train_log.csv").read_text().splitlines()
    return {"recipe": recipe, "controls": controls, "stops": dict(stops), "epochs": len(log) - 1,
            "metrics": found, "generate_seconds": float((gen / "seconds").read_text())}  # fmt: skip


def shipped(model: str, args) -> dict | None:
    """The shipped model's 752 melodies by the study's protocol (its seeds, T=0.7), measured alike."""
    gen, ev = Path("runs/discriminator") / f"{model}-T0.7", args.runs / f"{model}-eval"
    if not (gen / "melodies.jsonl").exists():
        return None
    if not (ev / "metrics.json").exists():
        tunelab("evaluate", str(gen / "mid"), "--reference", str(SPLIT / "test.txt"), "--suite", "distribution",
                "--out", str(ev))  # fmt: skip
    stops = Counter(json.loads(line)["stop"] for line in (gen / "melodies.jsonl").open())
    return {"stops": dict(stops), "metrics": json.loads((ev / "metrics.json").read_text())}


def note_count_oa(metrics: dict) -> float | None:
    """The note-count OA from an evaluate metrics.json, wherever the suite keeps it."""
    stack = [metrics]
    while stack:
        m = stack.pop()
        if isinstance(m, dict):
            for k, v in m.items():
                if k == "note_count" and isinstance(v, dict) and "oa" in v:
                    return float(v["oa"])
                stack.append(v)
    return None


def report(rows: dict, args) -> str:
    out = ["# Endings: tunelab's own attention models (benchmarks/endings_fix.py)", "",
           f"Deutschl as the study prepares it; recipes small-transformer / small-hybrid, {args.tokens:,.0f} "
           f"training tokens each (one thread); {args.n} melodies from scratch at T=0.7 (the model samples its bar count where it has the "
           "control). The shipped study models: their 752 melodies by the study's protocol (its seeds, T=0.7, "
           "at most 1,500 steps). Note-count OA (`tunelab evaluate --suite distribution`) against the test songs: the study "
           "preset's for tunelab's runs, the study split's 752 for the shipped models.", "",
           "| model | context | at the step cap | note-count OA |", "|---|---|---:|---:|"]  # fmt: skip
    for name, r in rows.items():
        n, oa = sum(r["stops"].values()), note_count_oa(r["metrics"])
        if name in SHIPPED:
            what, context = f"{name} (shipped)", "64-token window"
        else:
            what = f"{name} ({r['epochs']} epochs)"
            context = "whole song" + (", meter and bar count as controls" if "bars" in r["controls"] else "")
        out.append(f"| {what} | {context} | {r['stops'].get('max_steps', 0)} of {n} | {oa:.3f} |")
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=float, default=8e6, help="training tokens a run (equal compute)")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--only", nargs="*", default=list(VARIANTS))
    ap.add_argument("--runs", type=Path, default=Path("runs/endings"))
    ap.add_argument("--results", type=Path, default=HERE / "results")
    args = ap.parse_args()
    args.runs.mkdir(parents=True, exist_ok=True)
    rows = {m: r for m in SHIPPED if (r := shipped(m, args)) is not None}
    for name in args.only:
        rows[name] = one(name, *VARIANTS[name], args)
        (args.results / "endings_fix.json").write_text(json.dumps(rows, indent=1, default=str) + "\n")
        (args.results / "endings_fix.md").write_text(report(rows, args))
        print(report(rows, args), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
