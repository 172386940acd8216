"""``tunelab train`` and ``tunelab score``: the command-line face of :mod:`tunelab.training`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tunelab.cli.flags import add_flags, given
from tunelab.errors import ConfigError
from tunelab.threads import HELP as THREADS_HELP

# the commands this module adds, and their one-line help (tunelab --help lists them without
# building their parsers)
COMMANDS = {
    "train": "train a model on a corpus; checkpoints every epoch; --resume continues",
    "score": "a run's NLL, perplexity and accuracies on any data, as JSON",
    "surprise": "each note's information content and entropy (IDyOM's per-note output), as CSV",
}


def register(sub) -> None:
    from tunelab.models import ModelConfig
    from tunelab.training import TrainConfig

    c = sub.add_parser(
        "train",
        help=COMMANDS["train"],
        description=(
            "Train a model. Runs under torchrun for DistributedDataParallel: "
            "torchrun --nproc_per_node=N -m tunelab train ... Every flag below is a field of "
            "tunelab.training.TrainConfig or (model sizes) tunelab.models.ModelConfig, with its default there."
        ),
    )
    c.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
    c.add_argument("--recipe", help="a published recipe's fields (tunelab.study.recipes: box-lstm, small-hybrid, "
                   "folk-lstm...) as the defaults; the flags given override them")  # fmt: skip
    add_flags(c, TrainConfig)
    c.add_argument(
        "--l2", action="append", default=None, metavar="GLOB=COEF",
        help="Keras-style L2 on matching parameters (repeatable); 'none' for no L2 (default: the model's own)"
    )  # fmt: skip
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    c.add_argument("--preset", default=None, help=argparse.SUPPRESS)  # the old spelling of --size / --model
    model = c.add_argument_group("model sizes (tunelab.models.ModelConfig)")
    add_flags(model, ModelConfig)
    c.set_defaults(func=cmd_train)

    c = sub.add_parser(
        "score",
        help=COMMANDS["score"],
        description="Score a run's best weights (or a shipped model's) on a corpus: NLL per token, perplexity, "
        "masked accuracy, and with --protocol study the study's window accuracy and NLL. Defaults are "
        "tunelab.training.score.score's.",
    )
    c.add_argument("first", metavar="RUN", help="a run directory (with --model NAME: the DATA)")
    c.add_argument(
        "data", nargs="?", metavar="DATA", help="a corpus name or path, prepared as the run's corpus was"
    )
    c.add_argument("--model", default=None, help="a shipped model instead of a run directory (study-lstm...)")
    c.add_argument(
        "--split", choices=["train", "val", "test", "all"], help="default: test for split folders, else all"
    )
    c.add_argument(
        "--protocol", choices=["study"], help="add the study's window accuracy and NLL (nats per target)"
    )
    c.add_argument(
        "--unseen", action="store_true", help="only songs that are not in the run's training split"
    )
    from inspect import signature

    from tunelab.training.score import score

    default = {k: v.default for k, v in signature(score).parameters.items()}  # declared once, there
    c.add_argument("--device", help=f"auto, cpu, cuda... (default: {default['device']})")
    c.add_argument(
        "--batch-size", type=int, help=f"sequences per forward pass (default: {default['batch_size']})"
    )
    c.add_argument("--precision", choices=["fp32", "bf16"],
                   help=f"bf16: autocast, faster on AVX-512 BF16 (default: {default['precision']})")  # fmt: skip
    c.add_argument("--threads", type=int, help=THREADS_HELP)
    c.add_argument("--preset", help="prepare DATA so (study...); default: as the run's corpus was")
    c.add_argument("--surprise", type=Path, dest="surprise_csv", metavar="CSV",
                   help="write each target's information content in bits (for plots of surprise along a melody)")  # fmt: skip
    c.add_argument("--subsample", type=int,
                   help=f"the study's accuracy on one window in k, at random (default: {default['subsample']}, all)")  # fmt: skip
    c.set_defaults(func=cmd_score)

    _register_surprise(sub)


def _register_surprise(sub) -> None:
    c = sub.add_parser(
        "surprise",
        help=COMMANDS["surprise"],
        description="One row per note of SONGS, as IDyOM reports them: the note's onset (quarter notes) and "
        "MIDI pitch; information content (bits) and entropy of its pitch and of the rest (when it starts and "
        "how long it lasts); the pitches the model expected most, with their probabilities. Each song ends "
        "with a row for its end; a song's rows add up to its information content (tunelab score's bits).",
    )
    c.add_argument(
        "songs", metavar="SONGS", help="a corpus name, file or folder, prepared as the model's corpus was"
    )
    c.add_argument("--model", required=True, help="a run directory or a shipped model (study-lstm...)")
    c.add_argument("--out", type=Path, required=True, help="the CSV to write")
    from inspect import signature

    from tunelab.training.score import note_surprise

    default = {k: v.default for k, v in signature(note_surprise).parameters.items()}  # declared once, there
    c.add_argument("--split", choices=["train", "val", "test", "all"], help=f"default: {default['split']}")
    c.add_argument("--device", help=f"auto, cpu, cuda... (default: {default['device']})")
    c.add_argument("--threads", type=int, help=THREADS_HELP)
    c.add_argument("--preset", help="prepare SONGS so (study...); default: as the model's corpus was")
    c.set_defaults(func=cmd_surprise)


def config_from_args(args):
    from tunelab.models import ModelConfig
    from tunelab.training import TrainConfig

    fields, options = _recipe(args.recipe)
    fields |= given(args, TrainConfig)
    if not fields.get("corpus"):
        raise ConfigError("--corpus is needed (a corpus name or path) unless --resume")
    from tunelab.models.registry import FAMILIES, family_class

    if args.preset is not None:  # one word for two things: a size, or the study's models
        new = "--model" if args.preset in FAMILIES else "--size"
        print(
            f"note: --preset is deprecated and will go in the next release; use {new} {args.preset}",
            file=sys.stderr,
        )
        fields.setdefault("model" if new == "--model" else "size", args.preset)
    model = fields.get("model", "lstm")
    cls = family_class(model)
    if cls.fixed_size:  # the study's models: their own size
        fields.setdefault("size", None)
    if cls.window_model:  # ... and their protocol: a window predicts the token after it
        fields.setdefault("mode", "window")
    if "epochs" not in fields and ("max_tokens" in fields or "max_minutes" in fields):
        fields["epochs"] = 1000  # the budget decides
    if args.l2 is not None or "l2" not in fields:
        fields["l2"] = _l2(args.l2)
    return TrainConfig(
        **fields, model_options=options | given(args, ModelConfig), progress=not args.no_progress
    )


def _recipe(name: str | None) -> tuple[dict, dict]:
    """(TrainConfig fields, ModelConfig fields) of a published recipe; ({}, {}) for none."""
    if name is None:
        return {}, {}
    from tunelab.study.recipes import RECIPES

    if name not in RECIPES:
        import difflib

        close = difflib.get_close_matches(name, list(RECIPES), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(f"--recipe {name}: unknown{hint}; the recipes: {', '.join(RECIPES)}")
    fields = dict(RECIPES[name].fields)
    return fields, dict(fields.pop("model_options", {}))


def _l2(items):
    if items is None:
        return None
    rules = {}
    for item in items:
        if item == "none":
            continue
        glob, _, coef = item.rpartition("=")
        try:
            rules[glob] = float(coef)
        except ValueError:
            raise ConfigError(f"--l2 {item}: expected GLOB=COEF, e.g. 'lstm1.weight_ih*=0.01'") from None
    return rules


def cmd_train(args) -> int:
    from tunelab.training import TrainConfig, train
    from tunelab.training.loop import RESUMABLE

    if not args.out:
        raise ConfigError("--out is needed: the run directory")
    if args.resume:
        changes = {k: v for k, v in given(args, TrainConfig).items() if k != "out"}
        bad = sorted(set(changes) - set(RESUMABLE))
        if bad:
            raise ConfigError(f"--resume can change only {', '.join(RESUMABLE)}, not {', '.join(bad)}")
        train(TrainConfig(corpus="", out=args.out), resume=True, progress=not args.no_progress, **changes)
    else:
        train(config_from_args(args))
    return 0


def cmd_score(args) -> int:
    from tunelab.threads import use
    from tunelab.training.score import score

    if args.model and args.data is not None:
        raise ConfigError(
            f"tunelab score --model {args.model} DATA takes one path, got {args.first} and {args.data}"
        )
    if not args.model and args.data is None:
        raise ConfigError(
            f"tunelab score RUN DATA: give the data to score {args.first} on (a corpus name or path)"
        )
    run, data = (args.model, args.first) if args.model else (args.first, args.data)
    use(args.threads)
    options = {
        k: getattr(args, k)
        for k in (
            "split",
            "protocol",
            "device",
            "batch_size",
            "subsample",
            "precision",
            "preset",
            "surprise_csv",
        )
    }
    result = score(
        run, data, unseen=args.unseen, progress=True, **{k: v for k, v in options.items() if v is not None}
    )
    print(json.dumps(result, indent=2))
    return 0


def cmd_surprise(args) -> int:
    import csv
    import io

    from tunelab.io.atomic import atomic_write_text, out_file
    from tunelab.threads import use
    from tunelab.training.score import note_surprise

    path = out_file(args.out)  # checked before the work
    use(args.threads)
    given = {k: getattr(args, k) for k in ("split", "device", "preset") if getattr(args, k) is not None}
    rows = note_surprise(args.model, args.songs, progress=True, **given)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["melody", "note", "onset", "pitch", "pitch_ic", "pitch_entropy", "rest_ic", "rest_entropy",
                "ic", "expected"])  # fmt: skip
    for r in rows:
        w.writerow([r.song, r.index, "" if r.onset is None else f"{r.onset:g}", "" if r.pitch is None else r.pitch,
                    f"{r.pitch_ic:.4f}", f"{r.pitch_entropy:.4f}", f"{r.rest_ic:.4f}", f"{r.rest_entropy:.4f}",
                    f"{r.pitch_ic + r.rest_ic:.4f}", " ".join(f"{p}:{q:.3f}" for p, q in r.expected)])  # fmt: skip
    atomic_write_text(path, buf.getvalue())
    notes = sum(r.pitch is not None for r in rows)
    print(f"wrote {path}: {notes:,} notes of {len(rows) - notes:,} melodies, "
          f"{sum(r.pitch_ic + r.rest_ic for r in rows) / max(notes, 1):.3f} bits per note")  # fmt: skip
    return 0
