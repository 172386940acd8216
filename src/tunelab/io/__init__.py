"""Reading and writing symbolic music: one module per format, dispatch by file suffix.

``load`` reads a file, a tunebook or a folder and never raises for one bad piece: it returns
``(scores, errors)``. ``read`` reads exactly one piece and raises ParseError. ``save`` writes by
suffix. ``form="written"`` (the default) gives each piece as written, its repeat marks, endings
and parts in ``Score.form``; ``form="played"`` expands them (:func:`tunelab.form.played`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from tunelab.errors import ParseError
from tunelab.form import played
from tunelab.score import Score

READ_SUFFIXES = {
    ".krn": "kern",
    ".kern": "kern",
    ".abc": "abc",
    ".mid": "midi",
    ".midi": "midi",
    ".xml": "musicxml",
    ".musicxml": "musicxml",
    ".mxl": "musicxml",
    ".txt": "grid",
    ".grid": "grid",
}
WRITE_SUFFIXES = {
    ".abc": "abc",
    ".mid": "midi",
    ".midi": "midi",
    ".musicxml": "musicxml",
    ".xml": "musicxml",
    ".txt": "grid",
    ".grid": "grid",
}


def format_of(path) -> str:
    """The format name for a path's suffix; ParseError if tunelab does not read it."""
    fmt = READ_SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(READ_SUFFIXES))
        raise ParseError(path, f"unknown file type {Path(path).suffix!r} (tunelab reads {known})")
    return fmt


def list_files(root) -> list[Path]:
    """Readable music files under a folder (recursively, sorted), or the file itself."""
    root = Path(root)
    if root.is_file():
        return [root]
    found = []
    for folder, dirs, names in os.walk(root):  # os.walk: pathlib costs 50x more on big folders
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [
            os.path.join(folder, n)
            for n in names
            if not n.startswith(".") and os.path.splitext(n)[1].lower() in READ_SUFFIXES
        ]
    return [Path(f) for f in sorted(found)]


def _check_file(path: Path) -> str:
    """The file's format, after checking it exists and is not empty (ParseError otherwise)."""
    if path.is_dir():
        raise ParseError(path, "is a folder; give one file")
    fmt = format_of(path)
    if not path.is_file():
        raise ParseError(path, "no such file")
    if path.stat().st_size == 0:
        raise ParseError(path, "empty file")
    return fmt


def load_file(path, *, ties: str = "merge", form: str = "written") -> tuple[list[Score], list[ParseError]]:
    """Every piece in one file (a tunebook or grid text may hold many), as written or as played."""
    scores, errors = _load_file(Path(path), ties)
    if form == "played":
        out = []
        for s in scores:
            try:
                out.append(played(s))
            except ValueError as err:
                errors.append(
                    ParseError(path, f"cannot be played as written: {err}", tune=s.meta.get("tune"))
                )
        scores = out
    return scores, errors


def _load_file(path: Path, ties: str) -> tuple[list[Score], list[ParseError]]:
    try:
        fmt = _check_file(path)
        if fmt == "abc":
            from tunelab.io.abc import read_abc

            return read_abc(path, ties=ties)
        if fmt == "grid":
            from tunelab.io.gridtext import read_gridtext

            return read_gridtext(path)
        return [read(path, ties=ties)], []
    except ParseError as e:
        return [], [e]
    except OSError as e:
        return [], [ParseError(path, f"cannot read: {e.strerror or e}")]


def load(path, *, ties: str = "merge", form: str = "written") -> tuple[list[Score], list[ParseError]]:
    """Read a file, a tunebook or a folder: ``(scores, errors)``, in file order."""
    _check_form_name(form)
    path = Path(path)
    if not path.exists():
        return [], [ParseError(path, "no such file or folder")]
    scores, errors = [], []
    for f in list_files(path):
        s, e = load_file(f, ties=ties, form=form)
        scores += s
        errors += e
    return scores, errors


def read(path, *, ties: str = "merge", form: str = "written") -> Score:
    """Read exactly one piece; raises ParseError naming the file for anything wrong."""
    _check_form_name(form)
    score = _read(Path(path), ties)
    if form == "played":
        try:
            return played(score)
        except ValueError as err:
            raise ParseError(path, f"cannot be played as written: {err}") from None
    return score


def _check_form_name(form: str) -> None:
    if form not in ("written", "played"):
        raise ValueError(f"form must be written or played, got {form!r}")


def _read(path: Path, ties: str) -> Score:
    fmt = _check_file(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # music21 warns on meters it cannot read; we report ours
        if fmt == "kern":
            from tunelab.io.kern import read_kern

            return read_kern(path, ties=ties)
        if fmt == "midi":
            from tunelab.io.midi import read_midi

            return read_midi(path)
        if fmt == "musicxml":
            from tunelab.io.m21 import parse_with_music21

            return parse_with_music21(path, ties=ties)
    scores, errors = _load_file(path, ties)
    if errors:
        raise errors[0]
    if len(scores) != 1:
        raise ParseError(path, f"holds {len(scores)} pieces, not one; use tunelab.io.load")
    return scores[0]


def save(score: Score, path) -> None:
    """Write a Score; the format follows the suffix (.abc, .mid, .musicxml, .txt grid text)."""
    fmt = WRITE_SUFFIXES.get(Path(path).suffix.lower())
    if fmt == "abc":
        from tunelab.io.abc_write import write_abc

        write_abc(score, path)
    elif fmt == "midi":
        from tunelab.io.midi import write_midi

        write_midi(score, path)
    elif fmt == "musicxml":
        from tunelab.io.m21 import write_musicxml

        write_musicxml(score, path)
    elif fmt == "grid":
        from tunelab.io.gridtext import write_gridtext

        write_gridtext([score], path)
    else:
        raise ValueError(
            f"cannot write {Path(path).suffix!r}; use one of {', '.join(sorted(WRITE_SUFFIXES))}"
        )
