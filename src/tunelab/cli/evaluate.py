"""``tunelab evaluate``: metrics, closeness and statistics of sets of melodies, and a report."""

from __future__ import annotations

import sys
from pathlib import Path

from tunelab.errors import TunelabError
from tunelab.metrics.suites import DEFAULT, SUITES

# the commands this module adds, and their one-line help (tunelab --help lists them without
# building their parsers)
COMMANDS = {
    "evaluate": "the study's 17 metrics, structure, closeness, statistics, a report",
}


def register(sub) -> None:
    c = sub.add_parser(
        "evaluate",
        help=COMMANDS["evaluate"],
        description="Evaluate sets of melodies (folders of MIDI/MusicXML/kern/ABC, or grid-text "
        "files with one melody per line) and write metrics.json, metrics.csv, "
        "per_item.csv and report.html.",
    )
    c.add_argument("sets", nargs="+", type=Path, help="one folder or grid-text file per set of melodies")
    c.add_argument(
        "--reference", default=None, help="deutschl (its study-preset test split) or a set to compare with"
    )
    c.add_argument(
        "--train",
        default=None,
        help="the training songs (a run directory: exactly the songs it trained on; deutschl: its "
        "study-preset train split; or a set): adds the novelty suite, copying of the training set",
    )
    c.add_argument(
        "--suite",
        default=None,
        help=f"comma-separated, of: {', '.join(SUITES)} (tunelab.metrics.suites); default "
        f"{','.join(DEFAULT)}, and novelty with --train",
    )
    c.add_argument("--out", required=True, type=Path, help="output folder")
    c.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args) -> int:
    from tunelab.io.atomic import out_dir
    from tunelab.metrics.evaluation import evaluate, write

    suites = tuple(x.strip() for x in args.suite.split(",") if x.strip()) if args.suite else None
    report = evaluate(args.sets, reference=args.reference, suites=suites, train=args.train, progress=True,
                      before=lambda: out_dir(args.out))  # fmt: skip
    for e in report.errors:
        print(f"tunelab: skipped: {e}", file=sys.stderr)
    if not any(len(v) for v in report.values.values()):
        raise TunelabError("no melody could be evaluated in the given sets")
    for path in write(report, args.out):
        print(f"wrote {path}")
    return 0
