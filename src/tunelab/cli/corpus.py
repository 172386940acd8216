"""``tunelab corpus list | prepare | info | export``: built-in corpora and folders of files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tunelab.errors import TunelabError

# the commands this module adds, and their one-line help (tunelab --help lists them without
# building their parsers)
COMMANDS = {
    "corpus": "list, prepare, inspect and export corpora",
}


def register(sub) -> None:
    corpus = sub.add_parser(
        "corpus",
        help=COMMANDS["corpus"],
        description="Corpora: built-in collections or folders of files.",
    )
    csub = corpus.add_subparsers(title="corpus commands", metavar="ACTION")
    c = csub.add_parser("list", help="the built-in corpora")
    c.set_defaults(func=cmd_corpus_list)
    for name, helptext, func in (
        ("prepare", "read, filter and cache a corpus; print a one-screen summary", cmd_corpus_prepare),
        (
            "info",
            "counts kept/skipped with reasons, duplicates, meters, keys, ranges, lengths",
            cmd_corpus_info,
        ),
        (
            "export",
            "write a prepared corpus (or one split) as grid text, an ABC tunebook, MIDI or MusicXML",
            cmd_corpus_export,
        ),
    ):
        c = csub.add_parser(
            name,
            help=helptext,
            description=helptext,
        )
        c.add_argument("corpus", help="deutschl, bach-chorales, or a file or folder")
        _prep_args(c)
        if name == "info":
            c.add_argument("--json", action="store_true", help="print the summary as JSON")
            c.add_argument("--errors", action="store_true", help="list every unreadable piece")
            c.add_argument("--duplicates", action="store_true", help="list every duplicate group")
        if name == "export":
            c.add_argument(
                "--split", default="all", choices=["train", "val", "test", "all"], help="which split to write"
            )
            c.add_argument(
                "--format", required=True, choices=["grid", "abc", "midi", "musicxml"], help="what to write"
            )
            c.add_argument(
                "--out",
                required=True,
                type=Path,
                help="a file for grid (one song per line) and abc (a tunebook), a folder for midi/musicxml",
            )
        c.set_defaults(func=func)


def _prep_args(c: argparse.ArgumentParser) -> None:
    c.add_argument(
        "--prep",
        choices=["study"],
        default=None,
        help="a corpus preparation recipe; study: durations in {1/4,1/2,3/4,1,3/2,2,3,4} quarters, transpose "
        "to C/A, 16th grid, ties as notated, monophonic",
    )
    c.add_argument("--preset", choices=["study"], default=None, help=argparse.SUPPRESS)  # the old spelling
    c.add_argument("--transpose", choices=["c-or-a"], default=None, help="transpose to C major / A minor")
    c.add_argument(
        "--key-rule",
        choices=["first", "estimate", "study"],
        default=None,
        help="key used to transpose: the written one, a key-finder's, or the study's rule",
    )
    c.add_argument(
        "--ties", choices=["merge", "keep"], default=None, help="merge tied notes (default) or keep"
    )
    c.add_argument("--steps-per-quarter", type=int, default=None, help="quantize to this grid (4 = 16ths)")
    c.add_argument(
        "--split-ratios",
        type=float,
        nargs=3,
        default=None,
        metavar=("TRAIN", "VAL", "TEST"),
        help="hash-split fractions (default 0.80 0.06 0.14)",
    )
    c.add_argument(
        "--split-file",
        default=None,
        metavar="FILE",
        help="fix each piece's split from 'ID train|val|test' lines instead of the hash",
    )
    c.add_argument(
        "--form",
        choices=["played", "written"],
        default=None,
        help="played (default): repeats taken, endings chosen, parts in order; written: the notes once, with "
        "repeat marks, endings and parts kept (ABC and MusicXML write them back)",
    )
    c.add_argument("--voice", choices=["top"], default=None,
                   help="top: keep the top line of pieces with several voices (a chorale's soprano, a tune over chords)")  # fmt: skip
    c.add_argument("--dedupe", action="store_true", help="keep one copy of identical pieces")
    c.add_argument("--jobs", type=int, default=None, help="reader processes (default: all cores)")
    c.add_argument("--no-cache", action="store_true", help="neither read nor write the preparation cache")


def _load(args):
    import tunelab.corpus as tc

    overrides = dict(
        transpose=args.transpose,
        key_rule=args.key_rule,
        ties=args.ties,
        steps_per_quarter=args.steps_per_quarter,
        split=tuple(args.split_ratios) if args.split_ratios else None,
        dedupe=True if args.dedupe else None,
        split_file=args.split_file,
        form=args.form,
        voice=args.voice,
    )
    if args.preset:
        print("note: --preset is deprecated and will go in the next release; use --prep", file=sys.stderr)
    prep = args.prep or args.preset
    corpus = tc.load(args.corpus, prep, jobs=args.jobs, use_cache=not args.no_cache, **overrides)
    errors = corpus.errors()
    if Path(args.corpus).is_file() and errors and not corpus.kept:
        raise TunelabError(errors[0].extra.get("message") or f"{args.corpus}: {errors[0].reason}")
    return corpus


def _print_errors(corpus, limit: int | None = 20) -> None:
    errors = corpus.errors()
    for e in errors[:limit]:
        print(f"  unreadable: {e.id}: {e.reason}", file=sys.stderr)
    if limit is not None and len(errors) > limit:
        print(
            f"  ... and {len(errors) - limit} more (tunelab corpus info --errors lists all)", file=sys.stderr
        )


def cmd_corpus_list(args) -> int:
    from tunelab.corpus import list_corpora

    for c in list_corpora():
        print(f"{c['name']:<15} {c['description']}")
    return 0


def cmd_corpus_prepare(args) -> int:
    corpus = _load(args)
    _print_errors(corpus)
    print(summary_text(corpus.info()))
    return 0 if corpus.kept else 2


def cmd_corpus_info(args) -> int:
    corpus = _load(args)
    info = corpus.info()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(summary_text(info))
    if args.errors:
        _print_errors(corpus, limit=None)
    if args.duplicates:
        for g in corpus.duplicate_groups():
            print("  duplicates: " + ", ".join(f"{e.id} [{e.split}]" for e in g))
    return 0


def cmd_corpus_export(args) -> int:
    """Write piece by piece: one that cannot be written in the format is one line naming it and
    why, and the rest are written."""
    from tunelab.io.atomic import atomic_write_text

    corpus = _load(args)
    _print_errors(corpus)
    entries = [e for e in corpus.kept if args.split == "all" or e.split == args.split]
    written, skipped = 0, 0

    def each(render):
        nonlocal written, skipped
        for e in entries:
            try:
                yield e, render(e)
                written += 1
            except (ValueError, OSError) as err:
                skipped += 1
                print(f"tunelab: skipped: {e.id} ({e.source}): {err}", file=sys.stderr)

    if args.format in ("grid", "abc"):
        if args.format == "grid":
            from tunelab.io.gridtext import format_score

            text = "".join(line + "\n" for _, line in each(lambda e: format_score(e.score)))
        else:
            from tunelab.io.abc_write import abc_text

            text = "\n".join(t for _, t in each(lambda e: abc_text(e.score, number=written + 1, title=e.id)))
        atomic_write_text(args.out, text)
        print(f"wrote {written} songs ({args.split}) as {args.format} to {args.out}", end="")
    else:
        from tunelab.io import save

        suffix = {"midi": ".mid", "musicxml": ".musicxml"}[args.format]
        args.out.mkdir(parents=True, exist_ok=True)
        names = _file_names([e.id for e in entries])
        for _ in each(lambda e: save(e.score, args.out / (names[e.id] + suffix))):
            pass
        print(f"wrote {written} {args.format} files ({args.split}) to {args.out}/", end="")
    print(f"; {skipped} skipped (reasons above)" if skipped else "")
    return 0 if written or not entries else 2


def summary_text(info: dict) -> str:
    """A one-screen human summary of ``Corpus.info()``."""
    d = info["duplicates"]
    lines = [
        f"corpus {info['corpus']}: {info['pieces']} pieces read, {info['kept']} kept, "
        f"{info['unreadable']} unreadable (parse rate {info['parse_rate']:.2%}), {info['dropped']} dropped"
        + (" [from cache]" if info["from_cache"] else ""),
    ]
    for reason, n in info["dropped_by_reason"].items():
        lines.append(f"  dropped: {n} ({reason})")
    s = info["splits"]
    lines.append(
        f"  splits: train {s['train']}, val {s['val']}, test {s['test']}"
        + (f", in no split {info['in_no_split']}" if info.get("in_no_split") else "")
    )
    lines.append(
        f"  duplicates: {d['groups']} groups of identical pieces, {d['groups_across_splits']} "
        f"spanning splits {d['groups_by_split_pair'] or ''}".rstrip()
    )
    if info.get("readers"):
        why = "; ".join(f"{k} ({v})" for k, v in info["music21_because"].items())
        lines.append(
            "  read by: "
            + ", ".join(f"{k} {v}" for k, v in info["readers"].items())
            + (f"; music21 for: {why}" if why else "")
        )
    lines.append("  meters: " + ", ".join(f"{k} {v}" for k, v in info["meters"].items()))
    lines.append(
        "  keys: "
        + ", ".join(f"{k} {v}" for k, v in info["keys"].items())
        + (
            "  (* mode from the notes: the file names only the tonic)"
            if any("*" in k for k in info["keys"])
            else ""
        )
    )
    if info["pitch_range"]:
        lo, hi = info["pitch_range"]
        n, q = info["notes_per_piece"], info["quarters_per_piece"]
        lines.append(
            f"  pitch range {lo}-{hi}; notes per piece mean {n['mean']}, median {n['median']:g}, "
            f"{n['min']:g}-{n['max']:g}; length median {q['median']:g} quarters; "
            f"{info['pickups']} with a pickup"
        )
    lines.append(f"  prepared in {info['prepare_seconds']:.2f} s")
    return "\n".join(lines)


def _file_names(ids: list[str]) -> dict[str, str]:
    """A file name for each piece id: its path and tune number joined by ``_``, without the
    source's extension unless two pieces would then share a name (``song.abc``, ``song.krn``)."""
    import os

    def plain(i: str) -> str:
        path, _, tune = i.partition("#")
        return (os.path.splitext(path)[0] + ("_" + tune if tune else "")).replace("/", "_")

    short = [plain(i) for i in ids]
    return {
        i: s if short.count(s) == 1 else i.replace("/", "_").replace("#", "_") for i, s in zip(ids, short)
    }
