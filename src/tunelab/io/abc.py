"""ABC tunebooks: split into tunes by ``X:``, each tune parsed on its own through music21.

One broken tune never sinks the book: it comes back as a ParseError naming the file and the
tune. Essen ABC writes ``K: G`` for G minor too (accidentals are written out), so a ``K:``
field without a mode gives a key with mode None; the corpus picks major or minor for that
tonic from the notes (see ``tunelab.corpus.transforms.score_key``).
"""

from __future__ import annotations

import re
from pathlib import Path

from tunelab.errors import ParseError
from tunelab.score import Score

_TUNE_START = re.compile(r"^X:", re.MULTILINE)


def split_tunebook(text: str) -> tuple[str, list[tuple[str, str]]]:
    """(file header, [(tune number, tune text)]) of an ABC tunebook."""
    starts = [m.start() for m in _TUNE_START.finditer(text)]
    header = text[: starts[0]] if starts else text
    tunes = []
    for a, b in zip(starts, starts[1:] + [len(text)]):
        chunk = text[a:b].strip("\n")
        number = chunk.split("\n", 1)[0][2:].strip() or str(len(tunes) + 1)
        tunes.append((number, chunk))
    return header, tunes


def tune_key_mode(tune_text: str) -> tuple[str | None, str | None] | None:
    """The tonic and mode a tune's ``K:`` field writes (mode None when it writes none); None
    when the tune has no K: field or one the native reader does not know."""
    from tunelab.io.abc_native import NeedsMusic21, key_name

    m = re.search(r"^K:(.*)$", tune_text, re.MULTILINE)
    if not m:
        return None
    try:
        return key_name(m[1])
    except NeedsMusic21:
        return None


def read_abc_tune(
    tune_text: str, *, source: str, tune, ties: str = "merge", native: bool = True, propagate: str = "octave"
) -> Score:
    """One ABC tune as a Score: the native reader when the tune is plain, else music21.

    ``propagate``: how far an accidental reaches within its bar (see
    ``tunelab.io.abc_native.parse_abc_tune``); music21 does not carry accidentals at all.
    """
    from tunelab.io.abc_native import NeedsMusic21, parse_abc_tune
    from tunelab.io.m21 import parse_data_with_music21

    if not re.search(r"^K:", tune_text, re.MULTILINE):
        raise ParseError(source, "tune has no K: (key) field", tune=tune)
    if native:
        try:
            score = parse_abc_tune(tune_text, source=source, tune=tune, ties=ties, propagate=propagate)
            score.meta["id"] = f"{Path(source).stem}#{tune}"
            return score
        except NeedsMusic21:
            pass
    score = parse_data_with_music21(tune_text, "abc", source=source, tune=tune, ties=ties)
    written = tune_key_mode(tune_text)
    if written and written[1] is None and score.keys and score.keys[0][0] == 0:
        score.keys[0] = (0, score.keys[0][1], None)
    score.meta["id"] = f"{Path(source).stem}#{tune}"
    return score


def read_abc(path, *, ties: str = "merge") -> tuple[list[Score], list[ParseError]]:
    """Every tune of an ABC file: ``(scores, errors)``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    _, tunes = split_tunebook(text)
    if not tunes:
        return [], [ParseError(path, "no tune (no X: line) in the file")]
    scores, errors = [], []
    for number, chunk in tunes:
        try:
            scores.append(read_abc_tune(chunk, source=str(path), tune=number, ties=ties))
        except ParseError as e:
            errors.append(e)
    return scores, errors
