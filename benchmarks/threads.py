"""Training throughput against thread count on a machine that is not idle (issue 20).

The demo's small LSTM (src/tunelab/study/recipes.py, small-lstm) trains for a fixed time on
deutschl (the study preset) with 0, 1 and 2 other busy processes (a Python spin loop each) beside
it, with 1 thread, 2 threads, and the count tunelab chooses (tunelab.threads). Each measurement
is a fresh process; tokens/s are training steps only. Then the three small recipes alone with
the chosen threads: the tokens a minute that their demo budget assumes.

    python benchmarks/threads.py [--seconds 20]

Writes benchmarks/results/threads.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPIN = "while True: pass"


def one(recipe: str, threads: str, seconds: float, out: Path) -> None:
    """Train ``recipe`` for ``seconds`` into ``out`` (run in a fresh process)."""
    from tunelab.study.recipes import RECIPES
    from tunelab.training import TrainConfig, train

    fields = dict(RECIPES[recipe].fields)
    train(TrainConfig(corpus="deutschl", corpus_preset="study", out=str(out), epochs=1000, patience=0,
                      max_minutes=seconds / 60, threads=int(threads) if threads != "auto" else None,
                      progress=False, **fields))  # fmt: skip


def measure(recipe: str, threads: str, seconds: float) -> tuple[float, int]:
    """(tokens/s, threads used) of one fresh training process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, __file__, "--one", recipe, threads, str(seconds), str(out)]
        got = subprocess.run(cmd, capture_output=True, text=True, check=True)
        used = re.search(r"tunelab: (\d+) CPU thread", got.stderr)
        with open(out / "train_log.csv") as f:
            rows = list(csv.DictReader(f))
        seen = float(rows[-1]["tokens_seen"])
        elapsed = float(rows[-1]["elapsed_seconds"])
        return seen / elapsed, int(used.group(1)) if used else int(threads)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        recipe, threads, seconds, out = args.one
        one(recipe, threads, float(seconds), Path(out))
        return
    import tunelab.corpus

    tunelab.corpus.load("deutschl", "study", verbose=False)  # prepared once, before the clock
    rows, table = [], {}
    for busy in (0, 1, 2):
        spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(busy)]
        try:
            time.sleep(1.0)
            for threads in ("1", "2", "auto"):
                rate, used = measure("small-lstm", threads, args.seconds)
                table[(busy, threads)] = (rate, used)
                print(f"busy {busy}, threads {threads}: {rate:,.0f} tokens/s ({used} used)", flush=True)
        finally:
            for p in spinners:
                p.kill()
    for busy in (0, 1, 2):
        best = max(("1", "2"), key=lambda t: table[(busy, t)][0])
        rate, used = table[(busy, "auto")]
        rows.append(
            f"| {busy} | {table[(busy, '1')][0]:,.0f} | {table[(busy, '2')][0]:,.0f} | {used} | {rate:,.0f} | "
            f"{best} |\n"
        )
    alone = {}
    for recipe in ("small-lstm", "small-transformer", "small-hybrid"):
        rate, used = measure(recipe, "auto", args.seconds)
        alone[recipe] = (rate, used)
        print(f"{recipe} alone: {rate:,.0f} tokens/s ({used} threads)", flush=True)
    import torch

    text = (
        "# Training throughput against threads on a busy machine (benchmarks/threads.py)\n\n"
        f"The demo's small LSTM (recipe small-lstm) trained {args.seconds:g} s on deutschl per cell, a fresh "
        "process each; other busy processes are Python spin loops. tokens/s count training steps only.\n\n"
        "| other busy processes | 1 thread | 2 threads | tunelab chose | tokens/s with its choice | best |\n"
        "|---|---|---|---|---|---|\n" + "".join(rows) + "\n"
        "The small recipes alone with tunelab's choice (what the demo's budget in tokens assumes):\n\n"
        "| recipe | tokens/s | tokens a minute | threads |\n|---|---|---|---|\n"
        + "".join(f"| {k} | {r:,.0f} | {r * 60 / 1e6:.2f} M | {u} |\n" for k, (r, u) in alone.items())
        + f"\nMachine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}.\n"
    )
    (HERE / "results" / "threads.md").write_text(text)
    (HERE / "results" / "threads.json").write_text(
        json.dumps({"cells": {f"{b}/{t}": v for (b, t), v in table.items()}, "alone": alone}, indent=1) + "\n"
    )
    print(text)


if __name__ == "__main__":
    main()
