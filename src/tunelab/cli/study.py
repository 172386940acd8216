"""``tunelab demo`` and ``tunelab study``: the command-line face of :mod:`tunelab.study`."""

from __future__ import annotations

from tunelab.threads import HELP as THREADS_HELP

# the commands this module adds, and their one-line help (tunelab --help lists them without
# building their parsers)
COMMANDS = {
    "study": "rerun the LSTM / Transformer / Hybrid study",
    "demo": "the README's main job: train three small models, generate, evaluate, report",
}


def register(sub) -> None:
    _demo_parser(sub)
    study = sub.add_parser("study", help=COMMANDS["study"])
    ssub = study.add_subparsers(title="study commands", metavar="ACTION")
    _reproduce_parser(ssub)
    _efficiency_parser(ssub)
    _ablation_parser(ssub)
    _encodings_parser(ssub)
    _idyom_parser(ssub)


def _demo_parser(sub) -> None:
    c = sub.add_parser(
        "demo",
        help=COMMANDS["demo"],
        description="Prepare the bundled deutschl corpus, train a small LSTM, Transformer and Hybrid for "
        "--minutes each of a free 2-core machine (a budget in tokens, so a busy machine takes longer, not "
        "worse), set the shipped converged models beside them, generate melodies from test-song openings, "
        "evaluate them against the test songs and write a report with audio, sheet music and plots. Ends by "
        "printing the report's path. Run it again with the same --out to reuse what is done.",
    )
    from inspect import signature

    from tunelab.study import demo

    default = {k: v.default for k, v in signature(demo).parameters.items()}  # declared once, there
    c.add_argument("--out", default=default["out"], help="output folder")
    c.add_argument("--minutes", type=float, default=default["minutes"],
                   help="training per model, in minutes of a free 2-core machine (its recipe's tokens a minute)")  # fmt: skip
    c.add_argument("--n", type=int, default=default["n"], help="melodies per model")
    c.add_argument("--pretrained", action="store_true", help="only the shipped models, no training")
    c.add_argument("--corpus", default=default["corpus"], help="compare the three on this corpus instead (a built-in "
                   "or a folder, read as it is: its test split the reference, its train split for copying)")  # fmt: skip
    c.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    c.set_defaults(func=cmd_demo)


def _reproduce_parser(ssub) -> None:
    c = ssub.add_parser(
        "reproduce",
        help="train the study's three models, generate 1,000 melodies each, evaluate, compare",
        description="The study's protocol end to end: train its LSTM, Transformer and Hybrid (causal forms at "
        "its sizes) for a time box each, generate melodies under its protocol, evaluate them against the "
        "real test songs and set every number beside the study's published one. Resumable: a second call "
        "with the same --out skips what is done and resumes an interrupted training run.",
    )
    from tunelab.cli.flags import defaults_of
    from tunelab.study import reproduce

    default = defaults_of(reproduce)  # declared once, there
    c.add_argument("--out", default=default["out"], help="output folder")
    c.add_argument(
        "--data",
        default=default["data"],
        help="deutschl (the study's recipe) or a split folder (train/val/test.txt)",
    )
    c.add_argument(
        "--minutes", type=float, default=None, help="training minutes per model (default 20; 2 with --quick)"
    )
    c.add_argument(
        "--quick",
        action="store_true",
        help="smaller budgets (about 12 minutes on 2 cores): 2 minutes per model, 100 melodies, 1 window in 256 scored",
    )
    c.add_argument(
        "--faithful", action="store_true", help="the study's own window models (hours to generate)"
    )
    c.add_argument("--n", type=int, default=None, help="melodies per model (default 1,000; 100 with --quick)")
    c.add_argument(
        "--seeds", default=None, help="seeds file (default: the split folder's seeds.txt, else test songs)"
    )
    c.add_argument("--models", nargs="+", default=None, help="a subset of lstm transformer hybrid")
    c.add_argument(
        "--score-subsample",
        type=int,
        default=None,
        help="study accuracy on one window in k, at random (default 16; 256 with --quick; 1: all)",
    )
    c.add_argument(
        "--pretrained",
        action="store_true",
        help="the shipped converged models (study-lstm...) instead of training",
    )
    c.add_argument(
        "--recipe", default=default["recipe"], help="box: the 20-minute recipes (tunelab.study.recipes)"
    )
    c.add_argument("--seed", type=int, default=default["seed"], help="training seed")
    c.add_argument(
        "--budget",
        default=default["budget"],
        choices=["tokens", "minutes"],
        help="tokens: a box of --minutes is that many minutes of the recipe's tokens on 2 free cores (a busy "
        "machine is slower, not different); minutes: wall clock",
    )
    c.add_argument(
        "--temperature", type=float, default=None, help="generate at this temperature (the study's: 0.7)"
    )
    c.add_argument("--top-p", type=float, default=None, help="and with this nucleus (default: off)")
    c.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    c.set_defaults(func=cmd_reproduce)


def _efficiency_parser(ssub) -> None:
    c = ssub.add_parser(
        "efficiency",
        help="throughput, memory and latency vs length; validation loss vs data size",
        description="For an LSTM, an attention-RNN, a Transformer and the Hybrid (small sizes): (a) training "
        "throughput and activation memory vs input length, (b) generation latency vs context length, (c) "
        "validation loss vs share of the training songs. Writes efficiency.csv, efficiency.md and PNG plots; "
        "a second call adds to what is there.",
    )
    from tunelab.cli.flags import defaults_of
    from tunelab.study.efficiency import run

    default = defaults_of(run)  # declared once, there
    c.add_argument("--out", default=default["out"], help="output folder")
    c.add_argument("--data", default=default["data"], help="corpus for part (c)")
    c.add_argument("--parts", default=default["parts"], help="which of a, b, c to measure")
    c.add_argument(
        "--minutes", type=float, default=default["minutes"], help="(c): training minutes per model and share"
    )
    c.add_argument("--lengths", type=int, nargs="+", default=default["lengths"], help="(a) input lengths")
    c.add_argument("--contexts", type=int, nargs="+", default=default["contexts"], help="(b) context lengths")
    c.add_argument(
        "--fractions", type=float, nargs="+", default=default["fractions"], help="(c) shares of the songs"
    )
    c.add_argument("--batch", type=int, default=default["batch"], help="(a) sequences per batch")
    c.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    c.set_defaults(func=cmd_efficiency)


def _ablation_parser(ssub) -> None:
    c = ssub.add_parser(
        "ablation",
        help="the study's ablation grid on the Hybrid, time-boxed",
        description="The study's Hybrid ablations (encoder layers, heads, dropout, LSTM layers and units, "
        "one-hot input, positional encoding, the L2 grid), each trained for --minutes and scored with the "
        "study's test accuracy beside the study's. Resumable: finished variants are skipped.",
    )
    from tunelab.cli.flags import defaults_of
    from tunelab.study.ablation import ablation

    default = defaults_of(ablation)  # declared once, there
    c.add_argument("--out", default=default["out"], help="output folder")
    c.add_argument("--data", default=default["data"], help="deutschl or a split folder")
    c.add_argument("--minutes", type=float, default=default["minutes"], help="training minutes per variant")
    c.add_argument(
        "--size", choices=["study", "small"], default=default["size"], help="the base Hybrid's size"
    )
    c.add_argument("--only", nargs="+", default=None, help="variant names to run (see the output table)")
    c.add_argument(
        "--score-subsample",
        type=int,
        default=default["score_subsample"],
        help="study accuracy on one window in k, drawn at random",
    )
    c.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    c.set_defaults(func=cmd_ablation)


def _idyom_parser(ssub) -> None:
    c = ssub.add_parser(
        "idyom",
        help="IDyOM's protocol: k-fold bits per note (pitch) on its sets, beside IDyOM's figures",
        description="k-fold cross-validation on Essen's German nursery songs (kinder) and Bach's chorale "
        "melodies, in their notated keys: each song's pitch information content (given that a note starts) "
        "from a model that never saw it, trained on the other folds from scratch and, pretrained on the "
        "German Essen songs without the set's songs, fine-tuned on them. Writes idyom.md and results.json; "
        "resumable.",
    )
    from tunelab.cli.flags import defaults_of
    from tunelab.study.idyom import SETS, idyom

    default = defaults_of(idyom)  # declared once, there
    c.add_argument("--out", default=default["out"], help="output folder")
    c.add_argument("--sets", nargs="+", default=list(default["sets"]), choices=list(SETS), help="the sets")
    c.add_argument("--folds", type=int, default=default["folds"], help="cross-validation folds")
    c.add_argument("--no-pretrained", action="store_true", help="only the models trained on the folds")
    c.add_argument("--transpose-copies", type=int, default=default["transpose_copies"],
                   help="the training folds also in this many other keys")  # fmt: skip
    c.add_argument(
        "--seed", type=int, default=default["seed"], help="the folds' shuffle and the training seed"
    )
    c.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    c.set_defaults(func=cmd_idyom)


def _encodings_parser(ssub) -> None:
    c = ssub.add_parser(
        "encodings",
        help="grid vs REMI vs CP vs NB with GRU, LSTM, linear-transformer, transformer; CE vs focal",
        description="Every encoding with every model family and loss, time-boxed: tokens per song, masked "
        "accuracy, NLL per token and per note, generation speed in notes/s, and closeness of the melodies to "
        "the test songs. Resumable: finished runs are skipped.",
    )
    from tunelab.cli.flags import defaults_of
    from tunelab.study.encodings import encodings

    default = defaults_of(encodings)  # declared once, there
    c.add_argument("--out", default=default["out"], help="output folder")
    c.add_argument("--data", default=default["data"], help="deutschl or a folder of songs")
    c.add_argument("--minutes", type=float, default=default["minutes"], help="training minutes per run")
    c.add_argument("--n", type=int, default=default["n"], help="melodies per run")
    c.add_argument("--encodings", nargs="+", default=default["encodings"], help="encodings compared")
    c.add_argument(
        "--families",
        nargs="+",
        default=default["families"],
        help="model families compared",
    )
    c.add_argument("--losses", nargs="+", default=default["losses"], help="training losses compared")
    c.add_argument(
        "--params", type=int, default=default["params"],
        help="every model widened or narrowed to about this many parameters (0: the small presets as they are)"
    )  # fmt: skip
    c.add_argument(
        "--only", nargs="+", default=None, metavar="RUN", help="just these runs (encoding/family/loss)"
    )
    c.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    c.set_defaults(func=cmd_encodings)


def cmd_demo(args) -> int:
    from tunelab.study import demo

    demo(
        args.out,
        minutes=args.minutes,
        n=args.n,
        threads=args.threads,
        pretrained=args.pretrained,
        corpus=args.corpus,
    )
    return 0


def cmd_reproduce(args) -> int:
    from tunelab.study import reproduce

    reproduce(
        args.out, data=args.data, minutes=args.minutes, quick=args.quick, faithful=args.faithful, n=args.n,
        seeds=args.seeds, score_subsample=args.score_subsample, threads=args.threads, models=args.models,
        pretrained=args.pretrained, recipe=args.recipe, seed=args.seed, budget=args.budget,
        temperature=args.temperature, top_p=args.top_p
    )  # fmt: skip
    return 0


def cmd_efficiency(args) -> int:
    from tunelab.study.efficiency import run

    page = run(
        args.out, data=args.data, minutes=args.minutes, lengths=args.lengths, contexts=args.contexts,
        fractions=args.fractions, batch=args.batch, threads=args.threads, parts=args.parts
    )  # fmt: skip
    print(page.resolve())
    return 0


def cmd_ablation(args) -> int:
    from tunelab.study.ablation import ablation

    ablation(
        args.out, data=args.data, minutes=args.minutes, size=args.size, only=args.only,
        score_subsample=args.score_subsample, threads=args.threads
    )  # fmt: skip
    return 0


def cmd_encodings(args) -> int:
    from tunelab.study.encodings import encodings

    encodings(
        args.out, data=args.data, minutes=args.minutes, n=args.n, encodings=args.encodings,
        families=args.families, losses=args.losses, threads=args.threads, params=args.params or None,
        only=args.only
    )  # fmt: skip
    return 0


def cmd_idyom(args) -> int:
    from tunelab.study.idyom import idyom

    path = idyom(args.out, sets=tuple(args.sets), folds=args.folds, pretrained=not args.no_pretrained,
                 transpose_copies=args.transpose_copies, seed=args.seed, threads=args.threads)  # fmt: skip
    print(path.read_text())
    print(f"wrote {path}")
    return 0
