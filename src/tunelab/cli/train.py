"""``tunelab train`` and ``tunelab score``: the command-line face of :mod:`tunelab.training`."""

from __future__ import annotations

import argparse
import json

from tunelab.errors import ConfigError

# ModelConfig fields settable from the command line: flag -> (type, help)
MODEL_FLAGS = {
    "d_model": (int, "embedding / model width"),
    "hidden_size": (int, "recurrent state width"),
    "n_layers": (int, "recurrent layers or Transformer blocks"),
    "n_heads": (int, "attention heads"),
    "head_dim": (int, "width of each head (default d_model / n_heads; the study's: 256)"),
    "d_ff": (int, "Transformer feed-forward width"),
    "dropout": (float, "dropout"),
    "positional": (str, "sinusoidal, learned or none (Transformers)"),
    "cell": (str, "lstm or gru (attention-rnn, hybrid)"),
    "attention": (str, "dot or additive (attention-rnn)"),
    "attn_window": (int, "outputs attention-rnn attends over"),
    "encoder_layers": (int, "hybrid's Transformer blocks"),
    "first_field": (int, "compound field predicted first (nb pitch-first: 3)"),
    "forget_bias": (float, "initial LSTM forget-gate bias (Keras and the study: 1)"),
}


def register(sub) -> None:
    c = sub.add_parser(
        "train",
        help="train a model on a corpus; checkpoints every epoch; --resume continues",
        description=(
            "Train a model. Runs under torchrun for DistributedDataParallel: "
            "torchrun --nproc_per_node=N -m tunelab train ..."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    c.add_argument("--corpus", help="corpus name (deutschl, bach-chorales) or path; needed unless --resume")
    c.add_argument("--out", required=True, help="run directory")
    c.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
    c.add_argument("--encoding", default="grid", help="grid, remi, cp or nb")
    c.add_argument(
        "--model",
        default="lstm",
        help="lstm, gru, rnn, attention-rnn, transformer, linear-transformer, hybrid",
    )
    c.add_argument(
        "--preset",
        default="small",
        help="tiny, small, none, or study-lstm / study-transformer / study-hybrid",
    )
    c.add_argument("--corpus-preset", default=None, help="corpus preparation preset (study)")
    c.add_argument(
        "--mode",
        default=None,
        help="sequence (teacher forcing) or window (the study's); default sequence, window for study-*",
    )
    c.add_argument("--seq-len", type=int, default=64, help="tokens per sequence / window")
    c.add_argument("--gap", type=int, default=None, help="separator tokens after each song (grid default 64)")
    c.add_argument("--batch-size", type=int, default=64, help="sequences per step, over all processes")
    c.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="passes over the data (default 20, 1000 under --max-minutes / --max-tokens; on --resume: as before)",
    )
    c.add_argument("--steps-per-epoch", type=int, default=None, help="cap on steps per epoch")
    c.add_argument(
        "--train-fraction", type=float, default=1.0, help="train on this share of the training songs"
    )
    c.add_argument(
        "--max-minutes", type=float, default=None, help="stop cleanly after this much training time in all"
    )
    c.add_argument(
        "--max-tokens",
        type=float,
        default=None,
        help="stop cleanly after this many training tokens (a budget in work, e.g. 36e6)",
    )
    c.add_argument("--optimizer", default="adam", help="adam or adamw")
    c.add_argument("--lr", type=float, default=1e-3)
    c.add_argument("--weight-decay", type=float, default=0.0)
    c.add_argument(
        "--l2",
        action="append",
        default=None,
        metavar="GLOB=COEF",
        help="Keras-style L2 on matching parameters (repeatable); 'none' for no L2",
    )
    c.add_argument("--schedule", default="constant", help="constant, plateau, noam or cosine")
    c.add_argument("--warmup", type=int, default=4000, help="warm-up steps (noam, cosine)")
    c.add_argument("--min-lr", type=float, default=1e-5, help="floor of the plateau and cosine schedules")
    c.add_argument(
        "--select",
        default="loss",
        help="what picks the best weights: loss, or the study's window metric study_nll / study_accuracy",
    )
    c.add_argument(
        "--select-subsample",
        type=int,
        default=8,
        help="the window metric on one validation window in k each epoch (exact for the best at the end)",
    )
    c.add_argument(
        "--loss-from",
        type=int,
        default=0,
        help="score only positions with at least this much context in each sequence",
    )
    c.add_argument("--precision", default="fp32", help="fp32, or bf16 (autocast; fast on AVX-512 BF16 CPUs)")
    c.add_argument("--loss", default="ce", help="ce or focal")
    c.add_argument("--gamma", type=float, default=2.0, help="focal loss focusing parameter")
    c.add_argument("--alpha", type=float, default=1.0, help="focal loss weight")
    c.add_argument("--patience", type=int, default=5, help="early stopping patience in epochs (0: off)")
    c.add_argument("--clip", type=float, default=1.0, help="gradient-norm clip (0: off)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1")
    c.add_argument("--threads", type=int, default=None, help="CPU threads")
    c.add_argument(
        "--study-eval", action="store_true", help="also the study's accuracy on validation, each epoch"
    )
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    c.add_argument(
        "--residual",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="residual connections between recurrent layers",
    )
    for name, (typ, text) in MODEL_FLAGS.items():
        c.add_argument(f"--{name.replace('_', '-')}", type=typ, default=None, help=text)
    c.set_defaults(func=cmd_train)

    c = sub.add_parser(
        "score",
        help="a run's NLL, perplexity and accuracies on any data, as JSON",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    c.add_argument(
        "paths",
        nargs="+",
        metavar="[RUN] DATA",
        help="a run directory (or --model NAME), then a corpus name or path prepared as the run's corpus",
    )
    c.add_argument("--model", default=None, help="a shipped model instead of a run directory (study-lstm...)")
    c.add_argument("--split", default=None, help="train, val, test or all (default: test for split folders)")
    c.add_argument(
        "--protocol", default=None, help="study: add the study's window accuracy and NLL (nats per target)"
    )
    c.add_argument(
        "--unseen", action="store_true", help="only songs that are not in the run's training split"
    )
    c.add_argument("--device", default="auto")
    c.add_argument("--batch-size", type=int, default=256)
    c.add_argument(
        "--precision", default="fp32", choices=["fp32", "bf16"], help="bf16: autocast, faster on AVX-512 BF16"
    )
    c.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    c.add_argument(
        "--subsample",
        type=int,
        default=1,
        help="study accuracy on one window in k, at random (a faster estimate)",
    )
    c.set_defaults(func=cmd_score)


def config_from_args(args):
    from tunelab.training import TrainConfig

    if not args.corpus:
        raise ConfigError("--corpus is needed (a corpus name or path) unless --resume")
    model, size = args.model, args.preset
    if size and size.startswith("study-"):
        model, size = size, None
    if size in ("none", ""):
        size = None
    options = {k: getattr(args, k) for k in MODEL_FLAGS if getattr(args, k) is not None}
    if args.residual is not None:
        options["residual"] = args.residual
    return TrainConfig(
        corpus=args.corpus, out=args.out, encoding=args.encoding, model=model, size=size,
        model_options=options, corpus_preset=args.corpus_preset,
        mode=args.mode or ("window" if model.startswith("study-") else "sequence"),
        seq_len=args.seq_len, gap=args.gap, batch_size=args.batch_size,
        epochs=args.epochs or (1000 if args.max_tokens or args.max_minutes else 20),
        max_tokens=int(args.max_tokens) if args.max_tokens else None, min_lr=args.min_lr,
        select=args.select, select_subsample=args.select_subsample, loss_from=args.loss_from,
        precision=args.precision,
        steps_per_epoch=args.steps_per_epoch, train_fraction=args.train_fraction, max_minutes=args.max_minutes, optimizer=args.optimizer,
        lr=args.lr, weight_decay=args.weight_decay, l2=_l2(args.l2), schedule=args.schedule,
        warmup=args.warmup, loss=args.loss, gamma=args.gamma, alpha=args.alpha, patience=args.patience,
        clip=args.clip, seed=args.seed, device=args.device, study_eval=args.study_eval,
        threads=args.threads, progress=not args.no_progress,
    )  # fmt: skip


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
    from tunelab.training import train

    if args.resume:
        from tunelab.training import TrainConfig

        changes = {"progress": not args.no_progress, "device": args.device}
        for name in ("max_minutes", "max_tokens", "threads", "epochs"):
            if getattr(args, name) is not None:
                changes[name] = int(args.max_tokens) if name == "max_tokens" else getattr(args, name)
        stub = TrainConfig(corpus="", out=args.out)
        train(stub, resume=True, **changes)
    else:
        train(config_from_args(args))
    return 0


def cmd_score(args) -> int:
    from tunelab.training.score import score

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
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
    result = score(
        run, data, split=args.split, protocol=args.protocol, unseen=args.unseen,
        device=args.device, batch_size=args.batch_size, subsample=args.subsample, precision=args.precision,
    )  # fmt: skip
    print(json.dumps(result, indent=2))
    return 0
