"""``tunelab study efficiency``: the memory-vs-attention paper's cost figures for an RNN (LSTM),
an attention-RNN, a Transformer and the Hybrid, at the ``small`` sizes.

(a) training throughput (tokens/s of forward + backward) and activation memory (bytes autograd
    keeps for the backward pass, counted by a saved-tensors hook: the part of training memory
    that grows with the input) against input length;
(b) generation latency against context length, batch 1: reading the context, then each new
    step with carried state (RNN state, KV cache), and, for comparison, a step that recomputes
    the whole context (what a model without a cache pays);
(c) validation loss against training-set size: each model trained on 10 / 25 / 50 / 100% of
    the training songs for the same time box.

Writes ``efficiency.csv`` (one row per measurement), ``efficiency.md`` and a PNG per part.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import torch

from tunelab.io.atomic import atomic_write_bytes, atomic_write_text
from tunelab.study.pipeline import preset_for, say

FAMILIES = {
    "RNN (LSTM)": "lstm",
    "attention-RNN": "attention-rnn",
    "Transformer": "transformer",
    "Hybrid": "hybrid",
}
LENGTHS = (64, 128, 256, 512, 1024)
CONTEXTS = (64, 128, 256, 512, 1024)
FRACTIONS = (0.1, 0.25, 0.5, 1.0)


def run(
    out="efficiency",
    *,
    data: str = "deutschl",
    minutes: float = 1.0,
    lengths=LENGTHS,
    contexts=CONTEXTS,
    fractions=FRACTIONS,
    batch: int = 16,
    threads: int | None = None,
    parts: str = "abc",
    preset: str = "small",
    train_options: dict | None = None,
) -> Path:
    """Measure the parts asked for (``a``, ``b``, ``c``) and write the files; returns efficiency.md."""
    from tunelab.models import build

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    from tunelab.threads import use

    use(threads)
    vocab = 46  # the study's 45 grid symbols and padding
    rows = _read(out / "efficiency.csv")
    for label, family in FAMILIES.items():
        torch.manual_seed(0)
        model = build(family, vocab, preset=preset)
        params = sum(p.numel() for p in model.parameters())
        if "a" in parts:
            for L in lengths:
                tps, mem = throughput(model, vocab, L, batch)
                rows += [_row("a", label, params, "length", L, "tokens_per_s", tps),
                         _row("a", label, params, "length", L, "activation_mb", mem / 2**20)]  # fmt: skip
                say(f"[a] {label} length {L}: {tps:,.0f} tokens/s, {mem / 2**20:.1f} MB saved for backward")
        if "b" in parts:
            for C in contexts:
                read, step, recompute = latency(model, vocab, C)
                rows += [_row("b", label, params, "context", C, "read_ms", read * 1e3),
                         _row("b", label, params, "context", C, "step_ms", step * 1e3),
                         _row("b", label, params, "context", C, "recompute_step_ms", recompute * 1e3),
                         _row("b", label, params, "context", C, "melody_256_s", read + 256 * step)]  # fmt: skip
                say(
                    f"[b] {label} context {C}: read {read * 1e3:.1f} ms, step {step * 1e3:.2f} ms (recompute {recompute * 1e3:.1f} ms)"
                )
        if "c" in parts:
            for f in fractions:
                loss = data_size(out, data, family, f, minutes, threads, preset, train_options or {})
                rows.append(_row("c", label, params, "train_fraction", f, "val_loss", loss))
                say(f"[c] {label} {f:.0%} of the training songs: best validation loss {loss:.4f}")
        _write(out, rows)
    plots(out, rows)
    return out / "efficiency.md"


def _row(part, model, params, x_name, x, metric, value) -> dict:
    return {"part": part, "model": model, "parameters": params, "x_name": x_name, "x": x,
            "metric": metric, "value": float(value)}  # fmt: skip


def throughput(model, vocab: int, length: int, batch: int, repeats: int = 3) -> tuple[float, int]:
    """(tokens/s of forward + backward, bytes saved for backward) at one input length."""
    model.train()
    x = torch.randint(1, vocab, (batch, length))
    saved: dict[int, int] = {}

    def pack(t):
        saved.setdefault(t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        logits, _ = model(x)
    logits.float().logsumexp(-1).mean().backward()
    model.zero_grad(set_to_none=True)
    t0 = time.perf_counter()
    for _ in range(repeats):
        logits, _ = model(x)
        logits.float().logsumexp(-1).mean().backward()
        model.zero_grad(set_to_none=True)
    seconds = (time.perf_counter() - t0) / repeats
    return batch * length / seconds, sum(saved.values())


@torch.no_grad()
def latency(model, vocab: int, context: int, steps: int = 32) -> tuple[float, float, float]:
    """Seconds, batch 1: reading ``context`` tokens; one new step with carried state; one step
    that recomputes the whole context."""
    from tunelab.sampling.steppers import Carried

    model.eval()
    ids = torch.randint(1, vocab, (1, context))
    stepper = Carried(model)
    stepper.start(ids[:, :8])  # warm-up
    t0 = time.perf_counter()
    stepper.start(ids)
    read = time.perf_counter() - t0
    nxt = torch.randint(1, vocab, (1, 1))
    t0 = time.perf_counter()
    for _ in range(steps):
        stepper.step(nxt, ids)
    step = (time.perf_counter() - t0) / steps
    t0 = time.perf_counter()
    for _ in range(4):
        model(ids)
    recompute = (time.perf_counter() - t0) / 4
    return read, step, recompute


def data_size(
    out: Path, data: str, family: str, fraction: float, minutes: float, threads, preset: str, options: dict
) -> float:
    """The best validation loss of ``family`` trained on ``fraction`` of the songs for ``minutes``."""
    from tunelab.study.pipeline import _log
    from tunelab.training import TrainConfig, train
    from tunelab.training.checkpoint import read_config

    run = out / "runs" / f"{family}-{int(fraction * 100)}"
    done = (run / "config.json").exists() and read_config(run).get("status", {}).get("state") in (
        "stopped",
        "finished",
    )
    if not done:
        if run.exists():
            import shutil

            shutil.rmtree(run)  # an interrupted short run: start it again
        config = TrainConfig(
            corpus=data, corpus_preset=preset_for(data), out=str(run), model=family, size=preset, epochs=1000,
            max_minutes=minutes, train_fraction=fraction, threads=threads, progress=False, patience=5, **options,
        )  # fmt: skip
        train(config)
    return min(float(r["val_loss"]) for r in _log(run) if r.get("val_loss"))


def _read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path) as f:
        return [{**r, "x": float(r["x"]), "value": float(r["value"])} for r in csv.DictReader(f)]


def _write(out: Path, rows: list[dict]) -> None:
    latest = {}
    for r in rows:  # a measurement repeated replaces the earlier one
        latest[(r["part"], r["model"], r["x_name"], float(r["x"]), r["metric"])] = r
    rows[:] = list(latest.values())
    buf = io.StringIO()
    w = csv.DictWriter(
        buf, ["part", "model", "parameters", "x_name", "x", "metric", "value"], lineterminator="\n"
    )
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(out / "efficiency.csv", buf.getvalue())
    atomic_write_text(out / "efficiency.md", _markdown(rows))


def _markdown(rows: list[dict]) -> str:
    lines = ["# Efficiency (tunelab study efficiency)", ""]
    titles = {"a": "(a) training throughput and activation memory vs input length",
              "b": "(b) generation latency vs context length (batch 1)",
              "c": "(c) best validation loss vs share of the training songs (same time box)"}  # fmt: skip
    for part, title in titles.items():
        sel = [r for r in rows if r["part"] == part]
        if not sel:
            continue
        models = list(dict.fromkeys(r["model"] for r in sel))
        metrics = list(dict.fromkeys(r["metric"] for r in sel))
        xs = sorted({r["x"] for r in sel})
        value = {(r["model"], r["metric"], r["x"]): r["value"] for r in sel}
        lines += [f"## {title}", "", "| model | metric | " + " | ".join(f"{x:g}" for x in xs) + " |",
                  "|---|---|" + "---|" * len(xs)]  # fmt: skip
        for m in models:
            for k in metrics:
                cells = [value.get((m, k, x)) for x in xs]
                lines.append(
                    f"| {m} | {k} | " + " | ".join("–" if c is None else f"{c:,.4g}" for c in cells) + " |"
                )
        lines.append("")
    return "\n".join(lines)


def plots(out: Path, rows: list[dict]) -> None:
    """One PNG per part: each metric against its x, a line per model, log-log where it grows."""
    from tunelab.metrics.report import _figure

    for part in ("a", "b", "c"):
        sel = [r for r in rows if r["part"] == part]
        if not sel:
            continue
        metrics = list(dict.fromkeys(r["metric"] for r in sel))
        plt, fig = _figure(4.2 * len(metrics), 3.4)
        for j, metric in enumerate(metrics):
            ax = fig.add_subplot(1, len(metrics), j + 1)
            for model in dict.fromkeys(r["model"] for r in sel):
                pts = sorted(
                    (r["x"], r["value"]) for r in sel if r["model"] == model and r["metric"] == metric
                )
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=model)
            ax.set_xscale("log", base=2)
            if part != "c":
                ax.set_yscale("log")
            ax.set_xlabel(sel[0]["x_name"])
            ax.set_title(metric.replace("_", " "), fontsize=10)
            ax.legend(fontsize=7)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        plt.close(fig)
        atomic_write_bytes(out / f"efficiency_{part}.png", buf.getvalue())


__all__ = ["latency", "run", "throughput"]
