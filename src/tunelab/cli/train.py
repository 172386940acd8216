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
    c.add_argument(
        "paths",
        nargs="+",
        metavar="[RUN] DATA",
        help="a run directory (or --model NAME), then a corpus name or path prepared as the run's corpus",
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


def config_from_args(args):
    from tunelab.models import ModelConfig
    from tunelab.training import TrainConfig

    if not args.corpus:
        raise ConfigError("--corpus is needed (a corpus name or path) unless --resume")
    fields = given(args, TrainConfig)
    if args.preset is not None:  # one word for two things: a size, or the study's models
        new = "--model" if args.preset.startswith("study-") else "--size"
        print(
            f"note: --preset is deprecated and will go in the next release; use {new} {args.preset}",
            file=sys.stderr,
        )
        fields.setdefault("model" if new == "--model" else "size", args.preset)
    model = fields.get("model", "lstm")
    if model.startswith("study-"):  # the study's window models have their own sizes
        fields.setdefault("size", None)
        fields.setdefault("mode", "window")
    if "epochs" not in fields and ("max_tokens" in fields or "max_minutes" in fields):
        fields["epochs"] = 1000  # the budget decides
    return TrainConfig(
        **fields, model_options=given(args, ModelConfig), l2=_l2(args.l2), progress=not args.no_progress
    )


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

    use(args.threads)
    want = 1 if args.model else 2
    if len(args.paths) != want:
        raise ConfigError(
            "tunelab score takes RUN DATA, or --model NAME DATA"
            + (
                f"; got {len(args.paths)} paths with --model"
                if args.model
                else f"; got {len(args.paths)} path(s)"
            )
        )
    run, data = (args.model, args.paths[0]) if args.model else args.paths
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
    result = score(run, data, unseen=args.unseen, **{k: v for k, v in options.items() if v is not None})
    print(json.dumps(result, indent=2))
    return 0
