"""``tunelab convert | tokenize | detokenize``: one piece (or a few) at a time."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tunelab.errors import TunelabError
from tunelab.tokenizers import NAMES

# the commands this module adds, and their one-line help (tunelab --help lists them without
# building their parsers)
COMMANDS = {
    "convert": "read one piece and write it in another format (by suffix)",
    "tokenize": "encode pieces as token ids (grid, remi, cp, nb)",
    "detokenize": "decode token ids back into music",
}


def register(sub) -> None:
    c = sub.add_parser(
        "convert",
        help=COMMANDS["convert"],
        description="Read one piece (kern, ABC, MusicXML, MIDI, grid) and write .mid, "
        ".musicxml or .txt (grid text).",
    )
    c.add_argument("input", type=Path, help="a kern, ABC, MusicXML, MIDI or grid-text file with one piece")
    c.add_argument("output", type=Path, help="the file to write: .abc, .mid, .musicxml or .txt (grid text)")
    c.add_argument("--form", choices=["written", "played"], default=None, help=FORM_HELP)
    c.set_defaults(func=cmd_convert)

    c = sub.add_parser(
        "tokenize",
        help=COMMANDS["tokenize"],
        description="Encode every piece of the given files with one encoding. Writes "
        "JSON (the tokenizer's settings and each piece's ids) with --out.",
    )
    c.add_argument("files", nargs="+", type=Path, help="music files, tunebooks or folders")
    c.add_argument("--encoding", required=True, choices=NAMES, help="the encoding (tunelab.tokenizers)")
    c.add_argument(
        "--steps-per-quarter",
        default="auto",
        help="grid resolution (4 = 16ths, 12 for triplets); auto: the coarsest multiple of 4 that holds every "
        "piece exactly (a piece off the grid is refused, never moved)",
    )
    c.add_argument(
        "--form",
        choices=["written", "played"],
        default="played",
        help="played: repeats taken, endings chosen, parts in order; written: the notes once, the form's marks "
        "as tokens",
    )
    c.add_argument(
        "--controls",
        default="key,meter,form,bars,type",
        help="what besides the notes: key, meter (grid), form, bars, type, or none",
    )
    c.add_argument("--out", type=Path, default=None, help="a .json file for the ids")
    _show_args(c)
    c.set_defaults(func=cmd_tokenize)

    c = sub.add_parser(
        "detokenize",
        help=COMMANDS["detokenize"],
        description="Decode a JSON file written by `tunelab tokenize` (or by "
        "generation); ids the grammar forbids are skipped and counted.",
    )
    c.add_argument("tokens", type=Path, help="a .json file from `tunelab tokenize`")
    c.add_argument(
        "--out",
        type=Path,
        default=None,
        help="a file (.mid, .musicxml, .txt grid) for one piece, or a folder for several",
    )
    c.add_argument(
        "--format",
        default="mid",
        choices=["abc", "mid", "musicxml", "txt"],
        help="file type when --out is a folder",
    )
    _show_args(c)
    c.set_defaults(func=cmd_detokenize)


FORM_HELP = (
    "written: the notes once, with repeat marks, endings and parts (ABC and MusicXML notate them); played: "
    "repeats taken, endings chosen, parts in order. Default: played for MIDI and grid text (they sound), "
    "written for ABC and MusicXML"
)


def _show_args(c: argparse.ArgumentParser) -> None:
    c.add_argument("--show", action="store_true", help="print the tokens by name, one per line")
    c.add_argument("--limit", type=int, default=80, help="tokens shown per piece with --show")


def cmd_convert(args) -> int:
    from tunelab.io import read, save

    form = args.form or (
        "written" if args.output.suffix.lower() in (".abc", ".musicxml", ".xml") else "played"
    )
    score = read(args.input, form=form)
    try:
        save(score, args.output)
    except ValueError as e:
        raise TunelabError(f"{args.output}: {e}") from None
    print(f"wrote {args.output} ({len(score)} notes, {form} form)")
    return 0


def cmd_tokenize(args) -> int:
    import tunelab.tokenizers as tt
    from tunelab.corpus.transforms import grid_for
    from tunelab.io import load

    read, failed = [], 0
    for f in args.files:
        scores, errors = load(f, form=args.form)
        for e in errors:
            print(f"tunelab: skipped: {e}", file=sys.stderr)
            failed += 1
        if not scores and not errors:
            print(
                f"tunelab: skipped: {f}: no music files (.abc, .krn, .mid, .musicxml, .txt) in it",
                file=sys.stderr,
            )
            failed += 1
        read += [(piece_name(score, f, i, len(scores)), score) for i, score in enumerate(scores)]
    if args.steps_per_quarter == "auto":
        steps, held = grid_for([s for _, s in read]) if read else (4, 0)
        if steps != 4:
            print(f"grid: {steps} steps a quarter (the coarsest that holds {held} of {len(read)} pieces)")
    else:
        try:
            steps = int(args.steps_per_quarter)
        except ValueError:
            raise TunelabError(
                f"--steps-per-quarter must be a number or auto, got {args.steps_per_quarter!r}"
            ) from None
    try:
        tok = tt.get(args.encoding, steps_per_quarter=steps, controls=args.controls)
    except ValueError as e:
        raise TunelabError(f"--steps-per-quarter / --controls: {e}") from None
    pieces = []
    for name, score in read:
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


def piece_name(score, given: Path, index: int, count: int) -> str:
    """A piece's name: its own file (a folder holds many), with ``#tune`` (or ``#line``) where
    a file holds several (a tunebook, grid text)."""
    source = score.meta.get("source") or str(given)
    tune = score.meta.get("tune") or score.meta.get("line")
    if tune is None and count > 1 and source == str(given):
        tune = index + 1
    return source if tune is None else f"{source}#{tune}"


def _file_stem(source: str, index: int) -> str:
    """``0003-name_tune``: the order, then the source's file name and tune, safe in any folder."""
    name = Path(source.split("#")[0]).stem + ("_" + source.split("#", 1)[1] if "#" in source else "")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._")[:80]
    return f"{index:04d}-{safe}" if safe else f"{index:04d}"


def cmd_detokenize(args) -> int:
    import tunelab.tokenizers as tt
    from tunelab.io import save

    try:
        data = json.loads(args.tokens.read_text(encoding="utf-8"))
        tok = tt.from_dict(data["tokenizer"])
        pieces = data["pieces"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise TunelabError(f"{args.tokens}: not a token file from `tunelab tokenize` ({e})") from None
    if not pieces or not any(len(p.get("ids", [])) for p in pieces):
        raise TunelabError(f"{args.tokens}: holds no tokens (no piece, or only empty ones)")
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
            name = _file_stem(str(piece.get("source", "")), i)
            target = args.out if len(pieces) == 1 else args.out / f"{name}.{args.format}"
            try:
                save(score, target)
            except ValueError as e:
                raise TunelabError(f"{target}: {e}") from None
            print(f"wrote {target}")
    return 0
