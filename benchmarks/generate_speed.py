"""Generation speed under the study's protocol: tunelab's batched sampler against the study's way.

The study's protocol (reference/study-setup.md, Generation): 1,000 seeds from
../shared/data/study-split/seeds.txt, a context of 64 `/` plus the seed, temperature 0.7, stop
at `/` or after 1,500 steps. The study's way: one melody at a time, the last 64 tokens run
through the model at every step. tunelab's way: all melodies in one batch, recurrent state or
KV cache carried (attention looks back 64 tokens, like the study's window), finished melodies
leave the batch; models without a causal mask (the study's own Transformer and Hybrid) still
recompute their window, but for the whole batch at once. The causal Transformer and Hybrid have
the study's sizes (heads 256 wide, as its Keras layers); their caches hold each block's
normalised input instead of keys and values (see models/transformer.py).

Weights are untrained (speed is the point), so the length of a melody is set by the workload:
no `/` before 180 sampled tokens, then `/` as the model draws it (about 230 tokens a melody,
near the study's published LSTM mean of 223). Both ways generate the same lengths. The study's
way is timed on the first ``--baseline`` melodies and scaled to the full run's tokens; faithful
window models are timed on ``--window-melodies`` and scaled the same way (the tables say so).

    python benchmarks/generate_speed.py            # results/generate_speed.{json,md}
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from tunelab.models import ModelConfig, build
from tunelab.sampling import Settings, boundary, sample, study_settings
from tunelab.sampling.filters import Filters, draw
from tunelab.sampling.prompts import from_seeds
from tunelab.tokenizers import get

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "study-split"
RESULTS = Path(__file__).resolve().parent / "results"
MIN_STEPS = 180


def models(vocab: int) -> dict:
    """name -> (model, how far attention looks back). The causal Transformer and Hybrid have the
    study's sizes: 8 heads 256 wide each at d_model 256, as its Keras layers (10.54 M and 8.18 M
    parameters); one row shows the usual split of d_model into 8 heads of 32 for comparison."""
    study = {"vocab_size": vocab, "d_model": 256, "n_heads": 8, "head_dim": 256}
    transformer = {"family": "transformer", "n_layers": 4, "d_ff": 1024, "dropout": 0.2}
    hybrid = {"family": "hybrid", "encoder_layers": 3, "d_ff": 512, "hidden_size": 256, "n_layers": 2}
    return {
        "study-lstm": (build("study-lstm", vocab), None),
        "transformer, study size (sinusoidal)": (build(ModelConfig(**study, **transformer)), 64),
        "transformer, study size (relative)": (
            build(ModelConfig(**study, **transformer, positional="relative")),
            64,
        ),
        "hybrid, study size (no positions)": (build(ModelConfig(**study, **hybrid, positional="none")), 64),
        "transformer, 8 heads x 32 (sinusoidal)": (
            build(ModelConfig(**{**study, "head_dim": None}, **transformer)),
            64,
        ),
        "study-transformer (window)": (build("study-transformer", vocab), None),
        "study-hybrid (window)": (build("study-hybrid", vocab), None),
    }


def study_way(model, tok, prompt: np.ndarray, seed: int) -> int:
    """The study's loop for one melody: the last 64 tokens through the model every step.
    Returns the number of tokens generated."""
    gen = torch.Generator().manual_seed(seed)
    seq = [tok.end_id] * 64 + prompt.tolist()
    f = Filters(temperature=0.7)
    with torch.no_grad():
        for step in range(1500):
            logits = model(torch.tensor([seq[-64:]]))[0][:, -1]  # (1, V)
            logits[:, 0] = float("-inf")  # padding
            if step < MIN_STEPS:
                logits[:, tok.end_id] = float("-inf")
            token = int(draw(logits, f, gen)[0])
            seq.append(token)
            if token == tok.end_id:
                return step + 1
    return 1500


def run(args) -> dict:
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tok = get("grid").fit((DATA / "train.txt").read_text().splitlines())
    prompts = from_seeds(DATA / "seeds.txt", tok)[: args.n]
    rows = []
    for name, (model, lookback) in models(tok.vocab_size).items():
        if args.only and args.only not in name:
            continue
        model.eval()
        window = "window" in name
        n = min(args.window_melodies, len(prompts)) if window else len(prompts)
        s = study_settings(Settings(min_steps=MIN_STEPS, seed=0, batch_size=1000, lookback=lookback))
        t = time.perf_counter()
        out = sample(model, tok, prompts[:n], s, context=boundary(tok, 64))
        ours = time.perf_counter() - t
        tokens = sum(o.steps for o in out)
        t = time.perf_counter()
        base_tokens = sum(study_way(model, tok, p, i) for i, p in enumerate(prompts[: args.baseline]))
        base = time.perf_counter() - t
        per_token_base = base / base_tokens
        ours_1000 = ours * len(prompts) / n
        row = {
            "model": name,
            "parameters": sum(p.numel() for p in model.parameters()),
            "melodies_timed": n,
            "tokens": tokens,
            "mean_length": float(np.mean([len(o.ids) for o in out])),
            "seconds": round(ours, 2),
            "seconds_all": round(ours_1000, 1),
            "tokens_per_s": round(tokens / ours),
            "study_way_tokens_per_s": round(1 / per_token_base, 1),
            "study_way_seconds_all": round(per_token_base * tokens * len(prompts) / n, 1),
            "speedup": round(per_token_base * tokens / ours, 1),
            "syntax_errors": int(sum(tok.syntax_errors(o.ids) for o in out)),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    return {
        "machine": f"{platform.node()} {platform.machine()}, {args.threads} threads, torch {torch.__version__}",
        "melodies": len(prompts),
        "rows": rows,
    }


def table(result: dict) -> str:
    lines = [
        "# Generation speed, the study's protocol (benchmarks/generate_speed.py)",
        "",
        f"{result['melodies']} seeds from study-split/seeds.txt, 64 `/` + seed, temperature 0.7, stop at `/`"
        f" (none before {MIN_STEPS} tokens: untrained weights), at most 1,500 steps. Attention looks back 64"
        " tokens (the study's window). `all`: seconds for all melodies (scaled from `timed` melodies"
        " where fewer were timed). The study's way: one melody at a time, its last 64 tokens through"
        " the model every step, timed on a few melodies and scaled by tokens.",
        "",
        "| model | params | timed | mean length | tunelab s | tunelab s, all | tokens/s | study's way tokens/s"
        " | study's way s, all | speed-up | syntax errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['model']} | {r['parameters']:,} | {r['melodies_timed']} | {r['mean_length']:.0f} | {r['seconds']}"
            f" | **{r['seconds_all']}** | {r['tokens_per_s']:,} | {r['study_way_tokens_per_s']} |"
            f" {r['study_way_seconds_all']:,} | **{r['speedup']}x** | {r['syntax_errors']} |"
        )
    lines += ["", f"Machine: {result['machine']}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=1000, help="melodies (seeds)")
    p.add_argument("--baseline", type=int, default=8, help="melodies timed the study's way")
    p.add_argument("--window-melodies", type=int, default=100, help="melodies timed for window models")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", help="run the models whose name contains this")
    p.add_argument("--out", type=Path, default=RESULTS / "generate_speed")
    args = p.parse_args()
    if not (DATA / "seeds.txt").exists():
        raise SystemExit(f"needs {DATA}/seeds.txt and train.txt (../shared/data)")
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(table(result))
    print(table(result))


if __name__ == "__main__":
    main()
