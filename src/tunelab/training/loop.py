"""The training loop: data, model, optimizer and schedule from a TrainConfig; checkpoints every
epoch; exact resume; a clean stop at ``max_minutes``; DDP when started by torchrun.

Exact resume: the data order of an epoch depends only on (seed, epoch), and the checkpoint holds
the weights, optimizer, schedule, random states and the position inside the epoch, so a resumed
run computes the same losses as one never interrupted (single process; under DDP the other
ranks' dropout streams restart from their seeds).
"""

from __future__ import annotations

import fnmatch
import math
import random
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from tunelab.errors import ConfigError, TunelabError
from tunelab.training import checkpoint as ckpt
from tunelab.training.config import TrainConfig
from tunelab.training.data import Examples, encode_songs, song_stream
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
    stopped: str | None = None


@dataclass
class Data:
    tokenizer: object
    train: Examples
    val: Examples | None
    val_study: np.ndarray | None  # the validation stream with the study's 64 "/" gaps
    info: dict


def train(config: TrainConfig | dict, *, resume: bool = False, on_step=None, **changes) -> Path:
    """Train, or with ``resume=True`` continue the run in ``config.out`` (``changes`` may set
    epochs, max_minutes, progress, device, threads, patience). Returns the run directory."""
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
    try:
        return _train(config, run, payload, ctx, on_step)
    finally:
        teardown(ctx)


def _train(config: TrainConfig, run: Path, payload: dict | None, ctx: Context, on_step) -> Path:
    if config.batch_size % ctx.world:
        raise ConfigError(f"--batch-size {config.batch_size} must divide among {ctx.world} processes")
    if config.threads:
        torch.set_num_threads(config.threads)
    _seed(config.seed)
    saved_tokenizer = ckpt.read_config(run)["tokenizer"] if payload else None
    data = _data(config, ctx, saved_tokenizer)
    model, spec = _model(config, data.tokenizer)
    if payload:
        model.load_state_dict(payload["model"])
    model.to(ctx.device)
    l2 = _l2_terms(model, config)
    net = wrap(model, ctx)
    opt_cls = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    opt = opt_cls(
        model.parameters(),
        lr=config.lr,
        betas=config.betas,
        weight_decay=config.weight_decay,
        fused=ctx.device.type in ("cpu", "cuda"),  # one kernel for all tensors: 10x faster steps on a CPU
    )
    steps = data.train.n_batches(config.batch_size, config.steps_per_epoch)
    if steps == 0:
        raise ConfigError(
            f"{config.corpus}: fewer training sequences than one --batch-size {config.batch_size}"
        )
    p = Progress()
    sched = _schedule(opt, config, steps * config.epochs, p)
    plateau = (
        torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, factor=config.plateau_factor, patience=config.plateau_patience, min_lr=config.min_lr
        )
        if config.schedule == "plateau"
        else None
    )
    if payload:
        opt.load_state_dict(payload["optimizer"])
        for obj, key in ((sched, "scheduler"), (plateau, "plateau")):
            if obj is not None:
                obj.load_state_dict(payload[key])
        for k, v in {**payload["progress"], "stopped": None}.items():  # in place: the schedule reads p
            setattr(p, k, v)
        _set_rng(payload["rng"])
    n_params = sum(t.numel() for t in model.parameters() if t.requires_grad)
    meta = {
        "tunelab": _version(),
        "train": config.to_dict(),
        "model": spec,
        "parameters": n_params,
        "tokenizer": data.tokenizer.to_dict(),
        "data": data.info,
        "status": {},
    }
    if ctx.main:
        run.mkdir(parents=True, exist_ok=True)
        what = "resuming" if payload else "training"
        print(
            f"{what} {config.model} ({n_params:,} parameters, {config.encoding}) on {config.corpus}: "
            f"{data.info['train_tokens']:,} train tokens, {data.info['val_tokens']:,} validation tokens, "
            f"{ctx.world} process(es) on {ctx.device} -> {run}",
            file=sys.stderr,
        )
    compound = data.tokenizer.is_compound
    first = model.first_field if compound else 0
    deadline = time.monotonic() + 60 * config.max_minutes - p.elapsed if config.max_minutes else None
    amp = autocast(config.precision, ctx.device)
    study_select = config.select != "loss" or config.study_eval
    if study_select and data.val_study is None:
        raise ConfigError(
            f"--select {config.select} / --study-eval need the study's window metric: a flat encoding with "
            f"a separator (grid) and validation songs"
        )

    def save(status: str) -> None:
        if not ctx.main:
            return
        ckpt.save_resume(
            run,
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict() if sched else None,
                "plateau": plateau.state_dict() if plateau else None,
                "progress": asdict(p),
                "rng": _get_rng(),
            },
        )
        ckpt.write_log(run, p.log)
        meta["status"] = {
            "state": status,
            "epochs_done": p.epoch,
            "steps": p.step,
            "best_epoch": p.best_epoch,
            "best_selection_loss": p.best,
            "training_seconds": round(p.elapsed, 1),
            "stopped": p.stopped,
        }
        ckpt.write_config(run, meta)

    def validate() -> dict:
        if data.val is None:
            return {}
        out = evaluate(model, data.val, data.tokenizer, device=ctx.device, first_field=first, autocast=amp)
        if study_select:
            out |= study_metrics(
                model, data.val_study, config.select_subsample, device=ctx.device, autocast=amp
            )
        return out

    def keep_best(selection: float) -> None:
        if selection < p.best_saved and ctx.main:
            ckpt.save_weights(run, model)
        p.best_saved = min(p.best_saved, selection)

    from tqdm.auto import tqdm

    for epoch in range(p.epoch, config.epochs):
        batches = data.train.batches(
            epoch,
            config.seed,
            config.batch_size,
            rank=ctx.rank,
            world=ctx.world,
            limit=config.steps_per_epoch,
        )
        bar = tqdm(
            total=len(batches),
            initial=p.batch,
            desc=f"epoch {epoch + 1}/{config.epochs}",
            unit="step",
            disable=not (config.progress and ctx.main),
            dynamic_ncols=True,
            leave=False,
        )
        net.train()
        tick = time.monotonic()
        stop = False
        for b in range(p.batch, len(batches)):
            x, y = data.train.batch(batches[b])
            x, y, am = to_device([x, y, data.tokenizer.accuracy_mask(y)], ctx.device)
            with amp() if amp else nullcontext():
                loss_sum, count, correct, counted = batch_stats(
                    net,
                    x,
                    y,
                    am,
                    compound=compound,
                    first_field=first,
                    gamma=config.gamma if config.loss == "focal" else 0.0,
                    alpha=config.alpha,
                    skip=config.loss_from,
                )
            total = ctx.all_sum(count.detach().float()).clamp(min=1.0)
            # DDP averages gradients over processes: scaling by world makes it the global mean
            loss = loss_sum / total * ctx.world + sum(c * w.pow(2).sum() for c, w in l2)
            if _any(ctx, not torch.isfinite(loss).item()):  # every process stops together
                raise TunelabError(
                    f"training diverged: the loss is {loss.item()} at epoch {epoch + 1}, step {p.step + 1}; "
                    f"lower --lr or set --clip; {run / ckpt.RESUME} holds the last good epoch"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if config.clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
            opt.step()
            if sched:
                sched.step()
            p.step, p.batch = p.step + 1, b + 1
            for i, v in enumerate((loss_sum.item(), int(count), int(correct), int(counted))):
                p.tally[i] += v
            p.tokens += x.shape[0] * x.shape[1] * ctx.world
            p.seen += x.shape[0] * x.shape[1] * ctx.world
            now = time.monotonic()
            p.seconds += now - tick
            p.elapsed += now - tick
            tick = now
            if p.step % 10 == 0 or b + 1 == len(batches):
                bar.set_postfix(
                    loss=f"{p.tally[0] / max(p.tally[1], 1):.4f}",
                    tok_s=f"{p.tokens / max(p.seconds, 1e-9):,.0f}",
                )
            bar.update(1)
            if on_step:
                on_step(p.step, loss.item())
            if deadline and _any(ctx, time.monotonic() >= deadline):
                stop = f"--max-minutes {config.max_minutes} reached"
                break
            if config.max_tokens and p.seen >= config.max_tokens:  # the same count on every process
                stop = f"--max-tokens {config.max_tokens:,} reached"
                break
        bar.close()
        if stop and p.batch < len(batches):
            p.stopped = f"{stop} in epoch {epoch + 1}"
            row = _row(p, epoch, ctx, validate(), opt, status="stopped")
            p.log.append(row)
            selection = _selection(row, config.select)
            if selection < p.best:  # the part-epoch's weights are the best so far
                p.best, p.best_epoch = selection, epoch + 1
            keep_best(selection)
            save("stopped")
            break
        row = _row(p, epoch, ctx, validate(), opt, status="epoch")
        selection = _selection(row, config.select)
        if selection < p.best:
            p.best, p.best_epoch, p.bad_epochs = selection, epoch + 1, 0
        else:
            p.bad_epochs += 1
        keep_best(selection)
        if plateau:
            plateau.step(selection)
        p.log.append(row)
        p.epoch, p.batch, p.tally, p.tokens, p.seconds = epoch + 1, 0, [0.0, 0, 0, 0], 0, 0.0
        if config.patience and p.bad_epochs >= config.patience:
            p.stopped = f"early stopping: no better validation {config.select} for {config.patience} epochs"
        elif stop or epoch + 1 == config.epochs:
            p.stopped = stop or f"all {config.epochs} epochs done"
        save("stopped" if stop else ("finished" if p.stopped else "training"))
        if ctx.main:
            _print_row(row)
        if p.stopped:
            break
    if study_select and ctx.main and (run / ckpt.WEIGHTS).exists():
        meta["status"]["best_val_study"] = _exact_val(model, run, data, ctx, amp)
        ckpt.write_config(run, meta)
    if ctx.main:
        print(
            f"wrote {run}: best epoch {p.best_epoch} (selection {config.select} {p.best:.4f}); {p.stopped}",
            file=sys.stderr,
        )
    return run


def _selection(row: dict, select: str) -> float:
    """The number the best weights minimise: validation loss (training loss without validation
    songs), the study's window NLL, or one minus its window accuracy."""
    if select == "study_nll" and "val_study_nll" in row:
        return row["val_study_nll"]
    if select == "study_accuracy" and "val_study_accuracy" in row:
        return 1.0 - row["val_study_accuracy"]
    return row.get("val_loss", row["train_loss"])


def _exact_val(model, run: Path, data: Data, ctx: Context, amp) -> dict:
    """The study's window metric on every validation window, for the best weights (the epochs
    chose them on a random share of the windows)."""
    model.load_state_dict(ckpt.load_weights(run / ckpt.WEIGHTS))
    t0 = time.perf_counter()
    out = study_metrics(model, data.val_study, 1, device=ctx.device, autocast=amp)
    print(
        f"best weights on every validation window: study accuracy {out['study_accuracy']:.4f}, "
        f"NLL {out['study_nll']:.4f} ({out['study_windows']:,} windows, {time.perf_counter() - t0:.0f} s)",
        file=sys.stderr,
    )
    return out


def _any(ctx: Context, flag: bool) -> bool:
    """Whether any process says yes (so all stop at the same step)."""
    if ctx.world == 1:
        return flag
    return bool(ctx.all_sum(torch.tensor([float(flag)], device=ctx.device)).item())


def _row(p: Progress, epoch: int, ctx: Context, val: dict, opt, *, status: str) -> dict:
    local = torch.tensor(p.tally, dtype=torch.float64, device=ctx.device)
    loss, count, correct, counted = ctx.all_sum(local).tolist()
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
        "lr": opt.param_groups[0]["lr"],
        "tokens_per_s": p.tokens / max(p.seconds, 1e-9),
        "epoch_seconds": p.seconds,
        "elapsed_seconds": p.elapsed,
    }
    return row


def _print_row(row: dict) -> None:
    parts = [f"epoch {row['epoch']}", f"train loss {row['train_loss']:.4f}"]
    if "val_loss" in row:
        parts += [f"val loss {row['val_loss']:.4f}", f"val acc {row['val_accuracy']:.4f}"]
    if "val_study_accuracy" in row:
        parts.append(f"val study acc {row['val_study_accuracy']:.4f} nll {row['val_study_nll']:.4f}")
    parts += [f"{row['tokens_per_s']:,.0f} tok/s", f"{row['epoch_seconds']:.1f} s"]
    print(" | ".join(parts), file=sys.stderr)


def _data(config: TrainConfig, ctx: Context, saved_tokenizer: dict | None) -> Data:
    import tunelab.corpus
    import tunelab.tokenizers

    if ctx.main:
        corpus = tunelab.corpus.load(config.corpus, config.corpus_preset)
    ctx.barrier()  # the others read rank 0's cache
    if not ctx.main:
        corpus = tunelab.corpus.load(config.corpus, config.corpus_preset, verbose=False)
    train_scores, val_scores = corpus.split("train"), corpus.split("val")
    if not train_scores:
        raise ConfigError(f"{config.corpus}: no songs in the train split")
    if saved_tokenizer:
        tokenizer = tunelab.tokenizers.from_dict(saved_tokenizer)
    else:
        tokenizer = tunelab.tokenizers.get(config.encoding)
        tokenizer = tokenizer.fit(train_scores)
    gap = config.gap if config.gap is not None else (64 if config.encoding == "grid" else 0)
    sep = tokenizer.separator_id
    if gap and sep is None:
        raise ConfigError(
            f"--gap: the {config.encoding} encoding has no separator token; its songs carry their own"
        )
    if config.train_fraction < 1:
        rng = np.random.default_rng(config.seed)
        k = max(1, round(config.train_fraction * len(train_scores)))
        train_scores = [train_scores[i] for i in sorted(rng.choice(len(train_scores), k, replace=False))]
    train_seqs, skipped = encode_songs(train_scores, tokenizer)
    val_seqs, val_skipped = encode_songs(val_scores, tokenizer)
    try:
        train = Examples(song_stream(train_seqs, sep, gap), config.seq_len, config.mode)
        val = Examples(song_stream(val_seqs, sep, gap), config.seq_len, config.mode) if val_seqs else None
    except ValueError as err:
        raise ConfigError(f"{config.corpus}: {err}") from None
    if ctx.main and val is None:
        print(
            f"note: {config.corpus} has no validation songs; the last epoch's weights are kept",
            file=sys.stderr,
        )
    if ctx.main and (skipped or val_skipped):
        print(
            f"note: {len(skipped) + len(val_skipped)} songs do not encode and are left out, e.g. "
            f"{(skipped + val_skipped)[0]}",
            file=sys.stderr,
        )
    info = {
        "corpus": corpus.name,
        "corpus_preset": config.corpus_preset,
        "manifest": corpus.fingerprint,
        "train_songs": len(train_seqs),
        "val_songs": len(val_seqs),
        "left_out": skipped + val_skipped,
        "gap": gap,
        "train_tokens": len(train.stream),
        "val_tokens": len(val.stream) if val else 0,
    }
    val_study = song_stream(val_seqs, sep, 64) if val_seqs and sep is not None else None
    return Data(tokenizer, train, val, val_study, info)


def _model(config: TrainConfig, tokenizer):
    from tunelab.models import build

    vocab = tokenizer.vocab_size
    if config.model.startswith("study-"):
        if config.mode != "window":
            raise ConfigError(
                f"--model {config.model} reads a window and predicts the token after it: add --mode window"
            )
        return build(config.model, vocab), {"preset": config.model, "vocab_size": vocab}
    if config.mode == "window" and tokenizer.is_compound:
        raise ConfigError("--mode window is the study's protocol for flat encodings; use --mode sequence")
    model = build(config.model, vocab, preset=config.size, **config.model_options)
    return model, {"config": model.config.to_dict()}


def _l2_terms(model, config: TrainConfig) -> list:
    rules = config.l2 if config.l2 is not None else model.l2_default
    named = dict(model.named_parameters())
    terms = []
    for pattern, coef in rules.items():
        hits = [w for name, w in named.items() if fnmatch.fnmatch(name, pattern)]
        if not hits:
            raise ConfigError(f"--l2 {pattern}: matches no parameter; the model has {', '.join(named)}")
        terms += [(float(coef), w) for w in hits]
    return terms


def _schedule(opt, config: TrainConfig, total_steps: int, p: Progress):
    """noam: warm-up, then 1 / sqrt(step). cosine: warm-up, then a half cosine from lr to min_lr
    that ends with the budget (tokens, training time or epochs, whichever is nearest), read from
    the run's progress ``p`` at every step."""
    warm = max(config.warmup, 1)
    if config.schedule == "noam":

        def factor(step):  # the peak is lr at step == warmup
            s = step + 1
            return min(s / warm, math.sqrt(warm / s))
    elif config.schedule == "cosine":
        floor = min(config.min_lr / config.lr, 1.0)

        def factor(step):
            done = step / max(total_steps, 1)
            if config.max_tokens:
                done = max(done, p.seen / config.max_tokens)
            if config.max_minutes:
                done = max(done, p.elapsed / (60 * config.max_minutes))
            cos = 0.5 * (1 + math.cos(math.pi * min(1.0, done)))
            return min(1.0, (step + 1) / warm) * (floor + (1 - floor) * cos)
    else:
        return None
    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _get_rng() -> dict:
    out = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def _set_rng(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _version() -> str:
    from tunelab import __version__

    return __version__
