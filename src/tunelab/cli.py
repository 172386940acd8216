"""The ``tunelab`` command: thin subcommands over the library.

Exit codes: 0 success, 2 bad usage or bad input (with a one-line reason naming the file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tunelab.errors import TunelabError


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except TunelabError as e:
        print(f"tunelab: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tunelab: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tunelab",
        description="Symbolic music generation: corpora, tokenizers, models, sampling, metrics.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    from tunelab import __version__

    p.add_argument("--version", action="version", version=f"tunelab {__version__}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND")

    corpus = sub.add_parser(
        "corpus",
        help="list, prepare, inspect and export corpora",
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
            "write a prepared corpus (or one split) as grid text, MIDI or MusicXML",
            cmd_corpus_export,
        ),
    ):
        c = csub.add_parser(
            name, help=helptext, description=helptext, formatter_class=argparse.ArgumentDefaultsHelpFormatter
        )
        c.add_argument("corpus", help="deutschl, bach-chorales, or a file or folder")
        _prep_args(c)
        if name == "info":
            c.add_argument("--json", action="store_true", help="print the summary as JSON")
            c.add_argument("--errors", action="store_true", help="list every unreadable piece")
            c.add_argument("--duplicates", action="store_true", help="list every duplicate group")
        if name == "export":
            c.add_argument("--split", default="all", choices=["train", "val", "test", "all"])
            c.add_argument("--format", required=True, choices=["grid", "midi", "musicxml"])
            c.add_argument(
                "--out",
                required=True,
                type=Path,
                help="a file for grid (one song per line), a folder for midi/musicxml",
            )
        c.set_defaults(func=func)

    c = sub.add_parser(
        "convert",
        help="read one piece and write it in another format (by suffix)",
        description="Read one piece (kern, ABC, MusicXML, MIDI, grid) and write .mid, "
        ".musicxml or .txt (grid text).",
    )
    c.add_argument("input", type=Path)
    c.add_argument("output", type=Path)
    c.set_defaults(func=cmd_convert)

    c = sub.add_parser(
        "tokenize",
        help="encode pieces as token ids (grid, remi, cp, nb)",
        description="Encode every piece of the given files with one encoding. Writes "
        "JSON (the tokenizer's settings and each piece's ids) with --out.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    c.add_argument("files", nargs="+", type=Path)
    c.add_argument("--encoding", required=True, choices=["grid", "remi", "cp", "nb"])
    c.add_argument("--steps-per-quarter", type=int, default=4, help="grid resolution (4 = 16ths)")
    c.add_argument("--out", type=Path, default=None, help="a .json file for the ids")
    _show_args(c)
    c.set_defaults(func=cmd_tokenize)

    c = sub.add_parser(
        "detokenize",
        help="decode token ids back into music",
        description="Decode a JSON file written by `tunelab tokenize` (or by "
        "generation); ids the grammar forbids are skipped and counted.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    c.add_argument("tokens", type=Path, help="a .json file from `tunelab tokenize`")
    c.add_argument(
        "--out",
        type=Path,
        default=None,
        help="a file (.mid, .musicxml, .txt grid) for one piece, or a folder for several",
    )
    c.add_argument(
        "--format", default="mid", choices=["mid", "musicxml", "txt"], help="file type when --out is a folder"
    )
    _show_args(c)
    c.set_defaults(func=cmd_detokenize)

    c = sub.add_parser(
        "evaluate",
        help="the study's 17 metrics, structure, closeness, statistics, a report",
        description="Evaluate sets of melodies (folders of MIDI/MusicXML/kern/ABC, or grid-text "
        "files with one melody per line) and write metrics.json, metrics.csv, "
        "per_item.csv and report.html.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    c.add_argument("sets", nargs="+", type=Path)
    c.add_argument(
        "--reference", default=None, help="deutschl (its study-preset test split) or a set to compare with"
    )
    c.add_argument(
        "--suite",
        default="study17,structure,distribution",
        help="comma-separated: study17, structure, distribution",
    )
    c.add_argument("--out", required=True, type=Path, help="output folder")
    c.set_defaults(func=cmd_evaluate)

    from tunelab.cli_generate import add_commands as add_generate
    from tunelab.cli_listen import add_listen
    from tunelab.cli_study import add_study
    from tunelab.cli_train import add_commands

    add_commands(sub)
    add_generate(sub)
    add_study(sub)
    add_listen(sub)
    return p


def _show_args(c: argparse.ArgumentParser) -> None:
    c.add_argument("--show", action="store_true", help="print the tokens by name, one per line")
    c.add_argument("--limit", type=int, default=80, help="tokens shown per piece with --show")


def _prep_args(c: argparse.ArgumentParser) -> None:
    c.add_argument(
        "--preset",
        choices=["study"],
        default=None,
        help="study: durations in {1/4,1/2,3/4,1,3/2,2,3,4} quarters, transpose to C/A, "
        "16th grid, ties as notated, monophonic",
    )
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
    )
    corpus = tc.load(args.corpus, args.preset, jobs=args.jobs, use_cache=not args.no_cache, **overrides)
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
    corpus = _load(args)
    _print_errors(corpus)
    entries = [e for e in corpus.kept if args.split == "all" or e.split == args.split]
    if args.format == "grid":
        from tunelab.io.gridtext import write_gridtext

        write_gridtext([e.score for e in entries], args.out)
        print(f"wrote {len(entries)} songs ({args.split}) as grid text to {args.out}")
        return 0
    from tunelab.io import save

    suffix = {"midi": ".mid", "musicxml": ".musicxml"}[args.format]
    args.out.mkdir(parents=True, exist_ok=True)
    for e in entries:
        save(e.score, args.out / (e.id.replace("/", "_").replace("#", "_") + suffix))
    print(f"wrote {len(entries)} {args.format} files ({args.split}) to {args.out}/")
    return 0


def cmd_convert(args) -> int:
    from tunelab.io import read, save

    score = read(args.input)
    try:
        save(score, args.output)
    except ValueError as e:
        raise TunelabError(f"{args.output}: {e}") from None
    print(f"wrote {args.output} ({len(score)} notes)")
    return 0


def cmd_tokenize(args) -> int:
    import tunelab.tokenizers as tt
    from tunelab.io import load

    tok = tt.get(args.encoding, steps_per_quarter=args.steps_per_quarter)
    pieces, failed = [], 0
    for f in args.files:
        scores, errors = load(f)
        for e in errors:
            print(f"tunelab: skipped: {e}", file=sys.stderr)
            failed += 1
        for i, score in enumerate(scores):
            name = str(f) if len(scores) == 1 else f"{f}#{score.meta.get('tune', i + 1)}"
            try:
                ids = tok.encode(score)
            except ValueError as e:
                print(f"tunelab: skipped: {name}: {e}", file=sys.stderr)
                failed += 1
                continue
            pieces.append({"source": name, "ids": ids.tolist()})
            print(f"{name}: {len(ids)} {'words' if tok.is_compound else 'tokens'}")
            if args.show:
                print(tok.show(ids, args.limit))
    if args.out:
        from tunelab.io.atomic import atomic_write_text

        atomic_write_text(args.out, json.dumps({"tokenizer": tok.to_dict(), "pieces": pieces}) + "\n")
        print(f"wrote {len(pieces)} pieces to {args.out}")
    return 2 if failed and not pieces else 0


def cmd_detokenize(args) -> int:
    import tunelab.tokenizers as tt
    from tunelab.io import save

    try:
        data = json.loads(args.tokens.read_text(encoding="utf-8"))
        tok = tt.from_dict(data["tokenizer"])
        pieces = data["pieces"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise TunelabError(f"{args.tokens}: not a token file from `tunelab tokenize` ({e})") from None
    if args.out and len(pieces) > 1:
        args.out.mkdir(parents=True, exist_ok=True)
    for i, piece in enumerate(pieces):
        score = tok.decode(piece["ids"])
        print(
            f"{piece.get('source', i)}: {len(score)} notes, {score.meta['syntax_errors']} syntax errors skipped"
        )
        if args.show:
            print(tok.show(piece["ids"], args.limit))
        if args.out:
            target = args.out if len(pieces) == 1 else args.out / f"{i:04d}.{args.format}"
            try:
                save(score, target)
            except ValueError as e:
                raise TunelabError(f"{target}: {e}") from None
            print(f"wrote {target}")
    return 0


def cmd_evaluate(args) -> int:
    from tunelab.metrics.evaluate import SUITES, evaluate, write

    suites = tuple(x.strip() for x in args.suite.split(",") if x.strip())
    unknown = set(suites) - set(SUITES)
    if unknown:
        raise TunelabError(f"--suite: unknown {', '.join(sorted(unknown))}; choose from {', '.join(SUITES)}")
    report = evaluate(args.sets, reference=args.reference, suites=suites)
    for e in report.errors:
        print(f"tunelab: skipped: {e}", file=sys.stderr)
    if not any(len(v) for v in report.values.values()):
        raise TunelabError("no melody could be evaluated in the given sets")
    for path in write(report, args.out):
        print(f"wrote {path}")
    return 0


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
    lines.append("  meters: " + ", ".join(f"{k} {v}" for k, v in info["meters"].items()))
    lines.append("  keys: " + ", ".join(f"{k} {v}" for k, v in info["keys"].items()))
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


if __name__ == "__main__":
    sys.exit(main())
