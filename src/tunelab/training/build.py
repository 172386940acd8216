"""Building a training run: its data, model, L2 terms, optimizer and schedules, and the random
states a checkpoint carries. :mod:`tunelab.training.loop` puts them together and trains."""

from __future__ import annotations

import fnmatch
import math
import random
import sys
from dataclasses import dataclass

import numpy as np
import torch

from tunelab.errors import ConfigError
from tunelab.models.base import STUDY_WINDOW
from tunelab.training.config import TrainConfig
from tunelab.training.data import Examples, encode_each, encode_songs, song_stream
from tunelab.training.distributed import Context


@dataclass
class Data:
    tokenizer: object
    train: Examples
    val: Examples | None
    val_study: np.ndarray | None  # the validation stream with the study's 64 "/" gaps
    info: dict


def build_data(config: TrainConfig, ctx: Context, saved_tokenizer: dict | None) -> Data:
    import tunelab.corpus
    import tunelab.tokenizers

    load = {"form": config.form, "split_file": config.split_file}
    if ctx.main:
        corpus = tunelab.corpus.load(config.corpus, config.corpus_preset, **load)
    ctx.barrier()  # the others read rank 0's cache
    if not ctx.main:
        corpus = tunelab.corpus.load(config.corpus, config.corpus_preset, verbose=False, **load)
    unreadable = corpus.errors()
    if ctx.main and unreadable:
        print(f"note: {len(unreadable):,} pieces of {config.corpus} could not be read and are left out, e.g. "
              f"{unreadable[0].id}: {unreadable[0].reason} (tunelab corpus info {config.corpus} --errors lists "
              "them)", file=sys.stderr)  # fmt: skip
    train_scores, val_scores = corpus.split("train"), corpus.split("val")
    if not train_scores:
        raise ConfigError(f"{config.corpus}: no songs in the train split")
    from tunelab.corpus.transforms import home_keys

    if config.transpose_copies:
        from tunelab.corpus.transforms import transposed_copies
    if saved_tokenizer:
        tokenizer = tunelab.tokenizers.from_dict(saved_tokenizer)
    else:
        steps = config.steps_per_quarter or _grid(train_scores, config.encoding, ctx)
        controls = config.controls + (",infill" if config.infill else "")
        tokenizer = tunelab.tokenizers.get(config.encoding, steps_per_quarter=steps, controls=controls)
        # fitted on every training song (and its transposed copies): the vocabulary does not
        # depend on --train-fraction
        fit_on = (
            transposed_copies(train_scores, config.transpose_copies, config.seed)
            if config.transpose_copies
            else train_scores
        )
        tokenizer = tokenizer.fit(fit_on)
        _check_controls(config, tokenizer)
    gap = config.gap if config.gap is not None else tokenizer.song_gap
    sep = tokenizer.separator_id
    if gap and sep is None:
        raise ConfigError(
            f"--gap: the {config.encoding} encoding has no separator token; its songs carry their own"
        )
    train_scores = tunelab.corpus.subsample(train_scores, config.train_fraction, config.seed)
    if config.transpose_copies:
        train_scores = transposed_copies(train_scores, config.transpose_copies, config.seed)
    train_seqs, skipped = _train_sequences(train_scores, tokenizer, config)
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
        "form": corpus.options.form,
        "manifest": corpus.fingerprint,
        "train_songs": len(train_seqs),
        "longest_song": max(len(x) for x in train_seqs),  # tokens: generation's default step cap
        "val_songs": len(val_seqs),
        "left_out": skipped + val_skipped,
        "gap": gap,
        "train_tokens": len(train.stream),
        "home_keys": home_keys(train_scores),  # songs moved to one key (C major / A minor): None if not
        "val_tokens": len(val.stream) if val else 0,
    }
    val_study = song_stream(val_seqs, sep, STUDY_WINDOW) if val_seqs and sep is not None else None
    return Data(tokenizer, train, val, val_study, info)


def _check_controls(config: TrainConfig, tokenizer) -> None:
    """A control asked for by name (not the default "whatever the corpus holds") that no training
    song carries is an error before the work, not a model silently trained without it."""
    from tunelab.tokenizers.controls import HELD, kinds_held

    if config.controls == TrainConfig.__dataclass_fields__["controls"].default:
        return
    asked = {k.strip() for k in config.controls.split(",")} & set(HELD)
    missing = sorted(asked - kinds_held(tokenizer.items))
    if missing:
        raise ConfigError(
            f"--controls {','.join(missing)}: no training song of {config.corpus} carries "
            f"{'it' if len(missing) == 1 else 'them'} (a bar count needs a meter, a key a K: field or "
            "key signature, a tune type an R: field that enough songs name, a form repeat marks); "
            "leave it out of --controls"
        )


def _train_sequences(scores, tokenizer, config: TrainConfig) -> tuple[list, list[str]]:
    """The training songs' token arrays (a share rearranged to fill in the middle: ``--infill``),
    and why each song left out does not encode."""
    each = encode_each(scores, tokenizer)
    seqs, skipped = [x for x in each if not isinstance(x, str)], [x for x in each if isinstance(x, str)]
    if config.infill:
        from tunelab.tokenizers.infill import rearranged

        kept = [s for s, x in zip(scores, each) if not isinstance(x, str)]
        seqs = rearranged(tokenizer, kept, seqs, config.infill, config.seed)
    return seqs, skipped


def _grid(scores, encoding: str, ctx: Context) -> int:
    """The coarsest grid (a multiple of 16ths) that holds 99% of the training songs exactly: at
    most 24 steps a quarter for the event encodings, whose length does not grow with it, 12 for
    grid, whose does. Said in one line when it is not 16ths or leaves songs out."""
    from tunelab.corpus.transforms import grid_for
    from tunelab.tokenizers import tokenizer_class

    steps, held = grid_for(scores, at_most=tokenizer_class(encoding).finest_grid, share=0.99)
    if ctx.main and (steps != 4 or held < len(scores)):
        print(f"grid: {steps} steps a quarter, the coarsest that holds {held:,} of {len(scores):,} training songs "
              "exactly; the others are left out (--steps-per-quarter to choose)", file=sys.stderr)  # fmt: skip
    return steps


def build_model(config: TrainConfig, tokenizer):
    from tunelab.models import build
    from tunelab.models.registry import family_class

    vocab = tokenizer.vocab_size
    cls = family_class(config.model)
    if cls.window_model and config.mode != "window":
        raise ConfigError(
            f"--model {config.model} reads a window and predicts the token after it: add --mode window"
        )
    if config.mode == "window" and tokenizer.is_compound:
        raise ConfigError("--mode window is the study's protocol for flat encodings; use --mode sequence")
    if cls.fixed_size:  # one size: the family's own
        model = build(config.model, vocab)
    else:
        model = build(config.model, vocab, preset=config.size, **config.model_options)
    return model, {"config": model.config.to_dict()}


def l2_terms(model, config: TrainConfig) -> list:
    rules = config.l2 if config.l2 is not None else model.l2_default
    named = dict(model.named_parameters())
    terms = []
    for pattern, coef in rules.items():
        hits = [w for name, w in named.items() if fnmatch.fnmatch(name, pattern)]
        if not hits:
            raise ConfigError(f"--l2 {pattern}: matches no parameter; the model has {', '.join(named)}")
        terms += [(float(coef), w) for w in hits]
    return terms


def optimizer(model, config: TrainConfig, device) -> torch.optim.Optimizer:
    """Adam or AdamW over every parameter, fused into one kernel where the device allows
    (4.4 -> 0.44 ms a step for the study's LSTM on a CPU)."""
    cls = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return cls(
        model.parameters(),
        lr=config.lr,
        betas=config.betas,
        weight_decay=config.weight_decay,
        fused=device.type in ("cpu", "cuda"),
    )


def plateau_schedule(opt, config: TrainConfig):
    """ReduceLROnPlateau on the selection metric (None unless ``--schedule plateau``)."""
    if config.schedule != "plateau":
        return None
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, factor=config.plateau_factor, patience=config.plateau_patience, min_lr=config.min_lr
    )


def step_schedule(opt, config: TrainConfig, total_steps: int, p):
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


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def get_rng() -> dict:
    out = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def version() -> str:
    from tunelab import __version__

    return __version__
