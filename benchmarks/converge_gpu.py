"""The study-size attention models to their plateau on one GPU, scored and packed (issue 30).

study-transformer and study-hybrid are shipped from 15 M-token boxes on 2 CPU cores, still rising
(window accuracy 0.8230 / 0.8366 against the converged LSTM's 0.8565). On a GPU each trains until
the study's window NLL on validation has not improved for ``PATIENCE`` epochs (the learning rate
cut by 5 after each epoch without improvement), under a wall-clock cap per model so that both fit
one 10-minute call; then each is scored on the study's unseen test songs by the study's protocol
(every window, ``subsample`` 1) and packed in 8 bits. Everything goes under ``--out``:

    OUT/runs/{transformer,hybrid}/   the runs (checkpoints, train_log.csv)
    OUT/packs/study-{transformer,hybrid}/   the packs, to copy into src/tunelab/pretrained/
    OUT/converge_gpu.json            per model: epochs, tokens, minutes, test scores, why it stopped

    python benchmarks/converge_gpu.py --plan            # CPU: tokens/s of both, the expected GPU time
    python benchmarks/converge_gpu.py --out $OUT        # the GPU run (benchmarks/converge_gpu.sh)
    python benchmarks/converge_gpu.py --tiny --corpus DIR --out DIR   # the CPU test's run

The plan's GPU minutes are an estimate from FLOPs (6 x parameters + attention, per training
token) at an assumed share of an H100's bf16 peak that small models reach, with a floor from the
time a step takes however small; the run itself reports what the GPU did.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPLIT = HERE.parent.parent / "shared" / "data" / "study-split"
MODELS = ("transformer", "hybrid")
PATIENCE = 3
PLATEAU_TOKENS = 120e6  # what the plan assumes a run needs: 8x the CPU box, where the curve still rose
H100_BF16 = 989e12  # dense bf16 FLOP/s of an H100 SXM
SMALL_MODEL_SHARE = (
    0.05  # the share of that peak a 3-5 M-parameter model with 64-token windows reaches (assumed)
)
STEP_FLOOR_S = (
    0.012  # a training step of a 4-layer model cannot take less on a GPU: launches, optimizer (assumed)
)


def fields(model: str, tiny: bool, device: str, minutes: float) -> dict:
    """TrainConfig fields of one run: the shipped recipe's architecture and regularisation, trained
    to plateau with a larger batch (a GPU is idle at 32 x 64 tokens) under a time cap."""
    from tunelab.study.recipes import RECIPES

    spec = RECIPES[f"box-{model}"].spec()
    spec.pop("tokens_per_minute", None)
    spec.pop("max_tokens", None)
    spec |= {
        "device": device, "batch_size": 256, "lr": 1e-3, "optimizer": "adamw", "schedule": "plateau",
        "plateau_factor": 0.2, "plateau_patience": 1, "min_lr": 1e-5, "warmup": 200, "patience": PATIENCE,
        "epochs": 200, "select": "study_nll", "select_subsample": 8, "max_minutes": minutes,
        "threads": 1 if device == "cpu" else None, "progress": False,
    }  # fmt: skip
    if tiny:  # the CPU test: the same code path on a model and data small enough for seconds
        spec |= {"batch_size": 8, "epochs": 2, "precision": "fp32", "select_subsample": 1, "warmup": 0}
        spec["model_options"] = {**spec["model_options"], "d_model": 16, "n_heads": 2, "head_dim": 8,
                                 "d_ff": 32, "hidden_size": 16, "n_layers": 1}  # fmt: skip
        spec["model_options"] |= {"encoder_layers": 1} if model == "hybrid" else {}
    return spec


def flops_per_token(meta: dict) -> float:
    """Training FLOPs a token: 6 x parameters (forward and backward), plus attention's scores and
    sums over the window (12 x layers x width x window)."""
    opts, train = meta["train"]["model_options"], meta["train"]
    layers = (
        opts.get("n_layers", 0) if meta["train"]["model"] == "transformer" else opts.get("encoder_layers", 0)
    )
    width = opts.get("n_heads", 1) * opts.get(
        "head_dim", opts.get("d_model", 0) // max(1, opts.get("n_heads", 1))
    )
    return 6 * meta["parameters"] + 12 * layers * width * train["seq_len"]


def plan(corpus: str, out: Path) -> dict:
    """A short CPU run of each model (its measured tokens/s) and what the GPU run should take."""
    from tunelab.training import TrainConfig, train
    from tunelab.training.checkpoint import read_config

    rows = {}
    for model in MODELS:
        f = fields(model, False, "cpu", minutes=1.0) | {"epochs": 1, "steps_per_epoch": 12, "batch_size": 32,
                                                        "threads": 2, "select": "loss"}  # fmt: skip
        run = train(TrainConfig(corpus=corpus, out=str(out / "plan" / model), **f))
        meta = read_config(run)
        with open(run / "train_log.csv") as fh:
            log = [r for r in csv.DictReader(fh) if r.get("tokens_per_s")]
        cpu_rate = float(log[-1]["tokens_per_s"])
        per_token = flops_per_token(meta)
        batch_tokens = 256 * meta["train"]["seq_len"]
        gpu_rate = min(H100_BF16 * SMALL_MODEL_SHARE / per_token, batch_tokens / STEP_FLOOR_S)
        rows[model] = {
            "parameters": meta["parameters"], "flops_per_token": per_token, "cpu_tokens_per_s": round(cpu_rate),
            "assumed_plateau_tokens": PLATEAU_TOKENS, "cpu_hours_to_plateau": round(PLATEAU_TOKENS / cpu_rate / 3600, 1),
            "expected_gpu_tokens_per_s": round(gpu_rate), "expected_gpu_minutes": round(PLATEAU_TOKENS / gpu_rate / 60, 1),
        }  # fmt: skip
    return rows


def run_one(model: str, corpus: str, out: Path, tiny: bool, device: str, minutes: float) -> dict:
    from tunelab.pretrained.pack import pack
    from tunelab.training import TrainConfig, train
    from tunelab.training.checkpoint import read_config
    from tunelab.training.score import score

    t0 = time.perf_counter()
    run = train(
        TrainConfig(corpus=corpus, out=str(out / "runs" / model), **fields(model, tiny, device, minutes))
    )
    meta = read_config(run)
    test = score(run, corpus, split="test", protocol="study", unseen=True, device=device, subsample=1,
                 precision="fp32")  # fmt: skip
    packed = pack(run, f"study-{model}", into=out / "packs")
    with open(run / "train_log.csv") as fh:
        log = [r for r in csv.DictReader(fh) if r.get("status") == "epoch"]
    return {
        "parameters": meta["parameters"], "epochs": len(log), "best_epoch": meta["status"].get("best_epoch"),
        "stopped": meta["status"].get("stopped", ""), "tokens": int(float(log[-1]["tokens_seen"])) if log else 0,
        "train_minutes": round(meta["status"]["training_seconds"] / 60, 2),
        "wall_minutes": round((time.perf_counter() - t0) / 60, 2),
        "study_accuracy": test.get("study_accuracy"), "study_nll": test.get("study_nll"),
        "masked_accuracy": test["masked_accuracy"], "bits_per_note": test["bits_per_note"],
        "pack": str(packed.relative_to(out)),
        "curve": [{k: float(r[k]) for k in ("epoch", "tokens_seen", "val_loss", "val_study_accuracy") if r.get(k)}
                  for r in log],
    }  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--corpus", default=str(SPLIT))
    ap.add_argument("--device", default="auto")
    ap.add_argument(
        "--minutes", type=float, default=3.5, help="training cap per model (two models, one call)"
    )
    ap.add_argument("--tiny", action="store_true", help="a tiny model and budget: the CPU test")
    ap.add_argument(
        "--plan", action="store_true", help="measure CPU tokens/s and print the expected GPU time"
    )
    args = ap.parse_args(argv)
    if not Path(args.corpus).exists():
        print(f"converge_gpu: {args.corpus}: no such corpus (the study's split is ../shared/data/study-split)",
              file=sys.stderr)  # fmt: skip
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    if args.plan:
        rows = plan(args.corpus, args.out)
        print(json.dumps(rows, indent=1))
        total = sum(r["expected_gpu_minutes"] for r in rows.values())
        print(f"expected on one H100: {total:.1f} minutes for both to {PLATEAU_TOKENS / 1e6:.0f} M tokens each "
              f"(capped at {args.minutes} minutes each)")  # fmt: skip
        return 0
    result = {}
    for model in MODELS:
        print(f"{model}: training to plateau (cap {args.minutes} min)...", flush=True)
        result[model] = run_one(model, args.corpus, args.out, args.tiny, args.device, args.minutes)
        print(json.dumps({k: v for k, v in result[model].items() if k != "curve"}), flush=True)
        (args.out / "converge_gpu.json").write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
