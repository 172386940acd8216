"""The training loop: build the run (:func:`build_run`), take steps (:func:`train_step`), close
each epoch (:func:`end_of_epoch`: validate, select, schedule, stop), with a :class:`Checkpointer`
writing the run directory; DDP when started by torchrun.

Exact resume: the data order of an epoch depends only on (seed, epoch), and the checkpoint holds
the weights, optimizer, schedule, random states and the position inside the epoch, so a resumed
run computes the same losses as one never interrupted (single process; under DDP the other
ranks' dropout streams restart from their seeds). A budget stops a run cleanly with a usable
checkpoint: ``--max-minutes`` of training time in all, ``--max-tokens`` of training input.
"""

from __future__ import annotations

import math
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from tunelab.errors import ConfigError, TunelabError
from tunelab.training import build as B
from tunelab.training import checkpoint as ckpt
from tunelab.training.checkpoint import Checkpointer
from tunelab.training.config import TrainConfig
from tunelab.training.distributed import Context, setup, teardown, wrap
from tunelab.training.evaluate import batch_stats, evaluate, study_metrics, to_device
from tunelab.training.precision import autocast

RESUMABLE = ("epochs", "max_minutes", "max_tokens", "progress", "device", "threads", "patience")


@dataclass
class Progress:
    """Where a run is: what resume.pt restores besides weights and optimizer."""

    epoch: int = 0  # epochs finished
    batch: int = 0  # batches of the current epoch done
    step: int = 0  # optimizer steps in all
    best: float = math.inf  # best end-of-epoch selection loss (early stopping, plateau)
    best_epoch: int = 0
    best_saved: float = math.inf  # selection loss of the weights in model.safetensors
    bad_epochs: int = 0
    tally: list = field(default_factory=lambda: [0.0, 0, 0, 0])  # this epoch's loss sums so far
    tokens: int = 0  # this epoch's input tokens so far
    seen: int = 0  # input tokens in all (the --max-tokens budget)
    seconds: float = 0.0  # this epoch's training seconds so far
    elapsed: float = 0.0  # training seconds in all
    log: list = field(default_factory=list)
    curve: list = field(default_factory=list)  # --eval-every rows
    stopped: str | None = None


@dataclass
class Run:
    """Everything a training run holds while it trains."""

    config: TrainConfig
    dir: Path
    ctx: Context
    data: B.Data
    model: torch.nn.Module
    net: torch.nn.Module  # the model, wrapped for DDP when there are several processes
    opt: torch.optim.Optimizer
    sched: object | None  # per-step schedule (noam, cosine)
    plateau: object | None  # ReduceLROnPlateau
    l2: list
    p: Progress
    meta: dict
    amp: object | None  # the autocast factory (bf16) or None
    study: bool  # validation includes the study's window metric
    deadline: float | None

    @property
    def first(self) -> int:
        return self.model.first_field if self.data.tokenizer.is_compound else 0


def train(config: TrainConfig | dict, *, resume: bool = False, on_step=None, **changes) -> Path:
    """Train, or with ``resume=True`` continue the run in ``config.out`` (``changes`` may set
    epochs, max_minutes, max_tokens, progress, device, threads, patience). Returns the run
    directory."""
    if isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    run = Path(config.out)
    payload = None
    if resume:
        saved = ckpt.read_config(run)
        bad = set(changes) - set(RESUMABLE)
        if bad:
            raise ConfigError(
                f"--resume can change only {', '.join(RESUMABLE)}, not {', '.join(sorted(bad))}"
            )
        config = TrainConfig.from_dict({**saved["train"], **changes, "out": str(run)})
        payload = ckpt.load_resume(run)
    elif (run / ckpt.RESUME).exists() or (run / ckpt.WEIGHTS).exists():
        raise ConfigError(f"{run} already holds a run; add --resume to continue it or choose another --out")
    ctx = setup(config.device)
    ended = False
    try:
        r = build_run(config, run, payload, ctx)
        _loop(r, on_step)
        ended = True
        return run
    finally:
        teardown(ctx, together=ended)  # after an error, waiting for the others could hang


def build_run(config: TrainConfig, run: Path, payload: dict | None, ctx: Context) -> Run:
    """Data, model, optimizer, schedules and progress of a new or resumed run."""
    if config.batch_size % ctx.world:
        raise ConfigError(f"--batch-size {config.batch_size} must divide among {ctx.world} processes")
    from tunelab import threads

    # several processes on one machine's CPUs share them (torchrun on CPU)
    threads.use(config.threads or (max(threads.choose()[0] // ctx.world, 1) if ctx.world > 1 else None))
    B.seed_everything(config.seed)
    start = (
        ckpt.init_from(config) if config.init_from and not payload else None
    )  # fine-tuning: (meta, weights)
    saved = ckpt.read_config(run)["tokenizer"] if payload else start[0]["tokenizer"] if start else None
    data = B.build_data(config, ctx, saved)
    if start:
        model, spec = ckpt.build_model(start[0]), start[0]["model"]
        model.load_state_dict(start[1])
    else:
        model, spec = B.build_model(config, data.tokenizer)
    if payload:
        model.load_state_dict(payload["model"])
    model.to(ctx.device)
    l2 = B.l2_terms(model, config)
    net = wrap(model, ctx)
    opt = B.optimizer(model, config, ctx.device)
    steps = data.train.n_batches(config.batch_size, config.steps_per_epoch)
    if steps == 0:
        raise ConfigError(
            f"{config.corpus}: fewer training sequences than one --batch-size {config.batch_size}"
        )
    p = Progress()
    sched = B.step_schedule(opt, config, steps * config.epochs, p)
    plateau = B.plateau_schedule(opt, config)
    if payload:
        opt.load_state_dict(payload["optimizer"])
        for obj, key in ((sched, "scheduler"), (plateau, "plateau")):
            if obj is not None:
                obj.load_state_dict(payload[key])
        for k, v in {**payload["progress"], "stopped": None}.items():  # in place: the schedule reads p
            setattr(p, k, v)
        B.set_rng(payload["rng"])
    n_params = sum(t.numel() for t in model.parameters() if t.requires_grad)
    meta = {"tunelab": B.version(), "train": config.to_dict(), "model": spec, "parameters": n_params,
            "tokenizer": data.tokenizer.to_dict(), "data": data.info, "status": {}}  # fmt: skip
    study = config.select != "loss" or config.study_eval
    if study and data.val_study is None:
        raise ConfigError(
            f"--select {config.select} / --study-eval need the study's window metric: a flat encoding with "
            f"a separator (grid) and validation songs"
        )
    if ctx.main:
        run.mkdir(parents=True, exist_ok=True)
        print(
            f"{'resuming' if payload else 'training'} {config.model} ({n_params:,} parameters, {config.encoding}) on "
            f"{config.corpus}: {data.info['train_tokens']:,} train tokens, {data.info['val_tokens']:,} validation "
            f"tokens, {ctx.world} process(es) on {ctx.device} -> {run}",
            file=sys.stderr,
        )
    deadline = time.monotonic() + 60 * config.max_minutes - p.elapsed if config.max_minutes else None
    return Run(config, run, ctx, data, model, net, opt, sched, plateau, l2, p, meta,
               autocast(config.precision, ctx.device), study, deadline)  # fmt: skip


def train_step(r: Run, starts) -> torch.Tensor:
    """One optimizer step on the sequences at ``starts``; the tallies and clocks move on.
    Returns the loss (with its L2 terms)."""
    c, ctx, p = r.config, r.ctx, r.p
    x, y = r.data.train.batch(starts)
    x, y, am = to_device([x, y, r.data.tokenizer.accuracy_mask(y)], ctx.device)
    with r.amp() if r.amp else nullcontext():
        loss_sum, count, correct, counted = batch_stats(
            r.net, x, y, am, compound=r.data.tokenizer.is_compound, first_field=r.first,
            gamma=c.gamma if c.loss == "focal" else 0.0, alpha=c.alpha, skip=c.loss_from,
        )  # fmt: skip
    total = ctx.all_sum(count.detach().float()).clamp(min=1.0)
    # DDP averages gradients over processes: scaling by world makes it the global mean
    loss = loss_sum / total * ctx.world + sum(coef * w.pow(2).sum() for coef, w in r.l2)
    if _any(ctx, not torch.isfinite(loss).item()):  # every process stops together
        raise TunelabError(
            f"training diverged: the loss is {loss.item()} at epoch {p.epoch + 1}, step {p.step + 1}; "
            f"lower --lr or set --clip; {r.dir / ckpt.RESUME} holds the last good epoch"
        )
    r.opt.zero_grad(set_to_none=True)
    loss.backward()
    if c.clip:
        torch.nn.utils.clip_grad_norm_(r.model.parameters(), c.clip)
    r.opt.step()
    if r.sched:
        r.sched.step()
    p.step += 1
    for i, v in enumerate((loss_sum.item(), int(count), int(correct), int(counted))):
        p.tally[i] += v
    p.tokens += x.shape[0] * x.shape[1] * ctx.world
    p.seen += x.shape[0] * x.shape[1] * ctx.world
    return loss


def _loop(r: Run, on_step=None) -> None:
    from tqdm.auto import tqdm

    c, ctx, p = r.config, r.ctx, r.p
    saver = Checkpointer(r)
    for epoch in range(p.epoch, c.epochs):
        batches = r.data.train.batches(
            epoch, c.seed, c.batch_size, rank=ctx.rank, world=ctx.world, limit=c.steps_per_epoch
        )
        budget = c.max_minutes or c.max_tokens  # the run ends with its budget, not at --epochs
        desc = f"epoch {epoch + 1}" + ("" if budget else f"/{c.epochs}")
        bar = tqdm(total=len(batches), initial=p.batch, desc=desc, unit="step",
                   disable=not (c.progress and ctx.main), dynamic_ncols=True, leave=False)  # fmt: skip
        r.net.train()
        tick, stop = time.monotonic(), None
        for b in range(p.batch, len(batches)):
            loss = train_step(r, batches[b])
            p.batch = b + 1
            now = time.monotonic()
            p.seconds, p.elapsed, tick = p.seconds + now - tick, p.elapsed + now - tick, now
            if p.step % 10 == 0 or b + 1 == len(batches):
                bar.set_postfix(loss=f"{p.tally[0] / max(p.tally[1], 1):.4f}",
                                tok_s=f"{p.tokens / max(p.seconds, 1e-9):,.0f}", **_budget_left(r))  # fmt: skip
            bar.update(1)
            if c.eval_every and p.step % c.eval_every == 0:
                p.curve.append(curve_point(r))
            if on_step:
                on_step(p.step, loss.item())
            stop = _budget_spent(r)
            if stop:
                break
        bar.close()
        if end_of_epoch(r, saver, epoch, stop, part=bool(stop) and p.batch < len(batches)):
            break
    saver.finish()


def _budget_left(r: Run) -> dict:
    """The budget's share spent and the minutes left, for the progress bar (none without one)."""
    c, p = r.config, r.p
    if r.deadline:
        left = max(r.deadline - time.monotonic(), 0.0)
        return {"budget": f"{1 - left / (c.max_minutes * 60):.0%}", "left": f"{left / 60:.1f} min"}
    if c.max_tokens:
        rate = p.tokens / max(p.seconds, 1e-9)
        left = max(c.max_tokens - p.seen, 0) / max(rate * r.ctx.world, 1e-9)
        return {"budget": f"{min(p.seen / c.max_tokens, 1):.0%}", "left": f"{left / 60:.1f} min"}
    return {}


def _budget_spent(r: Run) -> str | None:
    """Why the run stops after this step (a budget reached), or None."""
    if r.deadline and _any(r.ctx, time.monotonic() >= r.deadline):
        return f"--max-minutes {r.config.max_minutes} reached"
    if r.config.max_tokens and r.p.seen >= r.config.max_tokens:  # the same count on every process
        return f"--max-tokens {r.config.max_tokens:,} reached"
    return None


def end_of_epoch(r: Run, saver: Checkpointer, epoch: int, stop: str | None, *, part: bool) -> bool:
    """Validate, keep the best weights, step the plateau schedule, decide whether to stop, save.
    ``part``: the epoch was cut short by a budget. Returns True when the run stops here."""
    c, p = r.config, r.p
    row = _row(r, epoch, validate(r), status="stopped" if part else "epoch")
    selection = _selection(row, c.select)
    if part:  # the part-epoch's weights may be the best so far; the epoch itself is not done
        p.stopped = f"{stop} in epoch {epoch + 1}"
        p.log.append(row)
        if selection < p.best:
            p.best, p.best_epoch = selection, epoch + 1
        saver.keep_best(selection)
        saver.save("stopped")
        if r.ctx.main:
            _print_row(row, part=True)
        return True
    if selection < p.best:
        p.best, p.best_epoch, p.bad_epochs = selection, epoch + 1, 0
    else:
        p.bad_epochs += 1
    saver.keep_best(selection)
    if r.plateau:
        r.plateau.step(selection)
    p.log.append(row)
    p.epoch, p.batch, p.tally, p.tokens, p.seconds = epoch + 1, 0, [0.0, 0, 0, 0], 0, 0.0
    if c.patience and p.bad_epochs >= c.patience:
        p.stopped = f"early stopping: no better validation {c.select} for {c.patience} epochs"
    elif stop or epoch + 1 == c.epochs:
        p.stopped = stop or f"all {c.epochs} epochs done"
    saver.save("stopped" if stop else ("finished" if p.stopped else "training"))
    if r.ctx.main:
        _print_row(row)
    return bool(p.stopped)


def validate(r: Run) -> dict:
    """Validation loss and accuracy (and the study's window metric on a seeded share)."""
    if r.data.val is None:
        return {}
    dev = r.ctx.device
    out = evaluate(r.model, r.data.val, r.data.tokenizer, device=dev, first_field=r.first, autocast=r.amp)
    if r.study:
        out |= study_metrics(r.model, r.data.val_study, r.config.select_subsample, device=dev, autocast=r.amp)
    return out


CURVE_CHUNKS = 256  # validation examples a curve point reads (fixed, seeded): about 16 k tokens


def curve_point(r: Run) -> dict:
    """Validation loss and accuracy on a fixed sample of the validation examples, now."""
    p = r.p
    per_epoch = r.data.train.n_batches(r.config.batch_size, r.config.steps_per_epoch)
    row = {"step": p.step, "epoch": p.epoch + p.batch / max(per_epoch, 1),
           "tokens_seen": p.seen, "elapsed_seconds": p.elapsed,
           "train_loss": p.tally[0] / max(p.tally[1], 1)}  # fmt: skip
    if r.data.val is None:
        return row
    val = r.data.val
    every = val.starts(0, 0, shuffle=False)
    sample = np.random.default_rng(0).choice(every, size=min(CURVE_CHUNKS, len(every)), replace=False)
    got = evaluate(r.model, val, r.data.tokenizer, device=r.ctx.device, first_field=r.first,
                   autocast=r.amp, starts=np.sort(sample))  # fmt: skip
    return row | {"val_loss": got["nll_per_token"], "val_accuracy": got["masked_accuracy"]}


def _selection(row: dict, select: str) -> float:
    """The number the best weights minimise: validation loss (training loss without validation
    songs), the study's window NLL, or one minus its window accuracy."""
    if select == "study_nll" and "val_study_nll" in row:
        return row["val_study_nll"]
    if select == "study_accuracy" and "val_study_accuracy" in row:
        return 1.0 - row["val_study_accuracy"]
    return row.get("val_loss", row["train_loss"])


def _any(ctx: Context, flag: bool) -> bool:
    """Whether any process says yes (so all stop at the same step)."""
    if ctx.world == 1:
        return flag
    return bool(ctx.all_sum(torch.tensor([float(flag)], device=ctx.device)).item())


def _row(r: Run, epoch: int, val: dict, *, status: str) -> dict:
    p = r.p
    local = torch.tensor(p.tally, dtype=torch.float64, device=r.ctx.device)
    loss, count, correct, counted = r.ctx.all_sum(local).tolist()
    row = {
        "epoch": epoch + 1,
        "status": status,
        "step": p.step,
        "train_loss": loss / max(count, 1),
        "train_accuracy": correct / max(counted, 1),
    }
    if val:
        row |= {
            "val_loss": val["nll_per_token"],
            "val_perplexity": val["perplexity"],
            "val_accuracy": val["masked_accuracy"],
        }
        if "study_accuracy" in val:
            row["val_study_accuracy"] = val["study_accuracy"]
            row["val_study_nll"] = val["study_nll"]
    row |= {
        "tokens_seen": p.seen,
        "lr": r.opt.param_groups[0]["lr"],
        "tokens_per_s": p.tokens / max(p.seconds, 1e-9),
        "epoch_seconds": p.seconds,
        "elapsed_seconds": p.elapsed,
    }
    return row


def _print_row(row: dict, part: bool = False) -> None:
    parts = [f"epoch {row['epoch']}" + (" (in part: the budget ended it)" if part else ""),
             f"train loss {row['train_loss']:.4f}"]  # fmt: skip
    if "val_loss" in row:
        parts += [f"val loss {row['val_loss']:.4f}", f"val acc {row['val_accuracy']:.4f}"]
    if "val_study_accuracy" in row:
        parts.append(f"val study acc {row['val_study_accuracy']:.4f} nll {row['val_study_nll']:.4f}")
    parts += [f"{row['tokens_per_s']:,.0f} tok/s", f"{row['epoch_seconds']:.1f} s"]
    print(" | ".join(parts), file=sys.stderr)
