"""Train on the study's split in a fixed time box and report the study-compatible test accuracy.

The study (reference/study-setup.md) trained on train.txt, selected on val.txt and reported
next-token accuracy over every 64-token window of the test stream (each song followed by 64 "/").
This script trains one tunelab configuration for ``--minutes`` on ``--threads`` CPU threads,
keeps the weights with the best validation loss, and scores test.txt twice: as it is
(comparable with the study) and without the 140 test songs that also occur in train.txt.

    python benchmarks/train_study.py --name lstm --minutes 20 --set model=lstm size=small
    python benchmarks/train_study.py --table      # rewrite results/train_study.md from the JSON

Results merge by ``--name`` into benchmarks/results/train_study.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "train_study.json"
STUDY = {"lstm": 0.8536, "transformer": 0.8482, "hybrid": 0.7756}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", help="row name, e.g. lstm")
    ap.add_argument("--data", default=str(HERE.parent.parent / "shared" / "data" / "study-split"))
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", default="runs/bench", help="where run directories go")
    ap.add_argument("--results", default=str(RESULTS))
    ap.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=VALUE", help="TrainConfig fields (JSON values)"
    )
    ap.add_argument("--score-device", default="cpu", help="device for the final scoring")
    ap.add_argument("--table", action="store_true", help="only rewrite the Markdown table")
    args = ap.parse_args()
    results = Path(args.results)
    if args.table:
        write_table(results)
        return
    if not Path(args.data, "train.txt").exists():
        sys.exit(f"{args.data}: the study split is missing (../shared/data/study-split); nothing to measure")
    import torch

    from tunelab.training import TrainConfig, train
    from tunelab.training.score import score

    torch.set_num_threads(args.threads)
    fields = {}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            fields[key] = json.loads(value)
        except json.JSONDecodeError:
            fields[key] = value
    run = Path(args.runs) / args.name
    config = TrainConfig(
        corpus=args.data,
        out=str(run),
        max_minutes=args.minutes,
        threads=args.threads,
        **{"epochs": 1000, "progress": False, **fields},
    )
    t0 = time.perf_counter()
    train(config)
    wall = time.perf_counter() - t0
    meta = json.loads((run / "config.json").read_text())
    log = _read_log(run / "train_log.csv")
    t1 = time.perf_counter()
    test = score(run, args.data, device=args.score_device)
    unseen = score(run, args.data, protocol="study", unseen=True, device=args.score_device)
    test["study_accuracy"] = unseen["study_accuracy_all"]
    score_seconds = time.perf_counter() - t1
    row = {
        "name": args.name,
        "config": {k: v for k, v in meta["train"].items() if k not in ("corpus", "out", "progress")},
        "model": meta["model"],
        "parameters": meta["parameters"],
        "epochs": meta["status"]["epochs_done"],
        "best_epoch": meta["status"]["best_epoch"],
        "training_seconds": meta["status"]["training_seconds"],
        "wall_seconds": round(wall, 1),
        "score_seconds": round(score_seconds, 1),
        "tokens_per_s": round(sum(float(r["tokens_per_s"]) for r in log) / max(len(log), 1)),
        "val_accuracy": max(float(r.get("val_accuracy", 0)) for r in log),
        "log": log,
        "test": {k: test[k] for k in ("study_accuracy", "masked_accuracy", "nll_per_token", "songs")},
        "test_unseen": {
            k: unseen[k] for k in ("study_accuracy", "masked_accuracy", "nll_per_token", "songs")
        },
        "machine": f"{platform.node()} {platform.machine()}, {args.threads} threads, torch {torch.__version__}",
        "cpus": os.cpu_count(),
    }
    data = json.loads(results.read_text()) if results.exists() else {}
    data[args.name] = row
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(data, indent=1) + "\n")
    write_table(results)
    print(json.dumps(row, indent=1))


def _read_log(path: Path) -> list[dict]:
    import csv

    with open(path) as f:
        return list(csv.DictReader(f))


def write_table(results: Path) -> None:
    data = json.loads(results.read_text())
    lines = [
        "# Study accuracy in a time box (benchmarks/train_study.py)",
        "",
        "Trained on ../shared/data/study-split/train.txt, best validation loss on val.txt, scored on",
        "test.txt with the study's protocol (every 64-token window of the stream, each song followed",
        "by 64 `/`, every target counts). `unseen`: the 612 test songs that are not also in train.txt.",
        "",
        "| run | model | params | mode | minutes | epochs (best) | tokens/s | test acc | study | unseen acc |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in data.items():
        model = r["model"].get("preset") or _describe(r["model"]["config"])
        family = name.split("-")[0]
        lines.append(
            f"| {name} | {model} | {r['parameters']:,} | {r['config']['mode']} | "
            f"{r['training_seconds'] / 60:.1f} | {r['epochs']} ({r['best_epoch']}) | {r['tokens_per_s']:,} | "
            f"**{r['test']['study_accuracy']:.4f}** | {STUDY.get(family, float('nan')):.4f} | "
            f"{r['test_unseen']['study_accuracy']:.4f} |"
        )
    lines += ["", f"Machine: {next(iter(data.values()))['machine']}." if data else ""]
    results.with_suffix(".md").write_text("\n".join(lines) + "\n")


def _describe(c: dict) -> str:
    if c["family"] in ("transformer", "linear-transformer"):
        return f"{c['family']} {c['n_layers']}x{c['d_model']} ff{c['d_ff']}"
    if c["family"] == "hybrid":
        return f"hybrid {c['encoder_layers']} blocks {c['d_model']} + {c['cell']} {c['n_layers']}x{c['hidden_size']}"
    return f"{c['family']} {c['n_layers']}x{c['hidden_size']}"


if __name__ == "__main__":
    main()
