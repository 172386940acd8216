"""Training throughput of every family at the ``small`` preset, and the share of the machine's
float32 matrix-multiply rate it achieves (model FLOPs utilisation).

FLOPs per trained token follow the usual convention (Kaplan et al. 2020; PaLM's MFU):
6 x the weights that multiply (every matrix, the embedding tables excluded: forward 2, backward 4)
plus, for attention, 12 x layers x context x width. The machine's rate is the best of several
2048 x 2048 float32 products on the same threads. Run on a quiet machine:

    python benchmarks/throughput.py --threads 2
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from torch import nn

from tunelab.models import FAMILIES, build
from tunelab.training.losses import token_nll

HERE = Path(__file__).resolve().parent
V = 46  # the study's 45 symbols and padding


def matmul_rate(n: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def flops_per_token(model: nn.Module, seq_len: int) -> float:
    """6 x multiplying weights + 12 x layers x context x width for attention layers."""
    weights = sum(
        p.numel()
        for m in model.modules()
        if not isinstance(m, nn.Embedding)
        for p in m.parameters(recurse=False)
        if p.dim() >= 2
    )
    attention = 0
    c = model.config
    if c.family in ("transformer", "hybrid"):
        layers = c.n_layers if c.family == "transformer" else c.encoder_layers
        attention = 12 * layers * seq_len * c.d_model
    elif c.family == "linear-transformer":  # running sums: d x d per head per token, no context term
        attention = 12 * c.n_layers * c.d_model * (c.d_model // c.n_heads)
    elif c.family == "attention-rnn":
        attention = 12 * c.attn_window * c.hidden_size
    return 6 * weights + attention


def measure(family: str, batch: int, seq_len: int, steps: int) -> dict:
    torch.manual_seed(0)
    model = build(family, V, preset="small")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randint(1, V, (batch, seq_len + 1))

    def step():
        logits, _ = model(x[:, :-1])
        loss = token_nll(logits, x[:, 1:]).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    seconds = _timed(lambda: [step() for _ in range(steps)])
    tokens_s = steps * batch * seq_len / seconds
    f = flops_per_token(model, seq_len)
    return {
        "family": family,
        "parameters": sum(p.numel() for p in model.parameters()),
        "batch": batch,
        "seq_len": seq_len,
        "tokens_per_s": tokens_s,
        "flops_per_token": f,
        "gflops_per_s": tokens_s * f / 1e9,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--seq-len", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    peak = matmul_rate()
    rows = []
    for family in FAMILIES:
        for batch in args.batch:
            row = measure(family, batch, args.seq_len, args.steps)
            row["share_of_matmul_rate"] = row["gflops_per_s"] * 1e9 / peak
            rows.append(row)
            print(
                f"{family:18s} batch {batch:4d}: {row['tokens_per_s']:9,.0f} tokens/s "
                f"{row['gflops_per_s']:6.1f} GFLOP/s = {row['share_of_matmul_rate']:.0%} of matmul"
            )
    out = {
        "machine": f"{platform.node()} {platform.machine()}, {args.threads} threads, torch {torch.__version__}",
        "matmul_gflops": peak / 1e9,
        "rows": rows,
    }
    (HERE / "results" / "throughput.json").write_text(json.dumps(out, indent=1) + "\n")
    lines = [
        "# Training throughput at the small preset (benchmarks/throughput.py)",
        "",
        f"{out['machine']}; float32 2048x2048 matmul: {peak / 1e9:.0f} GFLOP/s (best of 10).",
        "FLOPs per token: 6 x multiplying weights + attention (12 x layers x context x width).",
        f"Sequences of {args.seq_len} tokens, Adam, forward + backward + step.",
        "",
        "| family | parameters | batch | tokens/s | GFLOP/s | share of matmul rate |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['family']} | {r['parameters']:,} | {r['batch']} | {r['tokens_per_s']:,.0f} | "
            f"{r['gflops_per_s']:.1f} | {r['share_of_matmul_rate']:.0%} |"
        )
    (HERE / "results" / "throughput.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
