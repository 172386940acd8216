"""ABC tunebooks: split into tunes by ``X:``, each tune parsed on its own through music21.

One broken tune never sinks the book: it comes back as a ParseError naming the file and the
tune. Essen ABC writes ``K: G`` for G minor too (accidentals are written out), so a ``K:``
field without a mode gives a key with mode None; the corpus picks major or minor for that
tonic from the notes (see ``tunelab.corpus.transforms.score_key``).
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from tunelab.errors import ParseError
from tunelab.form import played
from tunelab.io.abc_fields import NeedsMusic21, meter
from tunelab.io.abc_native import key_name, parse_abc_tune
from tunelab.io.m21 import parse_data_with_music21
from tunelab.score import Score

_DIGITS = re.compile(r"\d+")
_NOT_ID = re.compile(r"[^0-9A-Za-z._-]")
_K_LINE = re.compile(r"^K:(.*)$", re.MULTILINE)
_C1_BYTES = re.compile(rb"[\x80-\x9f]")

_TUNE_START = re.compile(r"^X:", re.MULTILINE)


@lru_cache(maxsize=64)
def _stem(source) -> str:
    """A source's file name without its extension (``Path.stem``, without building a Path; once
    per tunebook, not once per tune)."""
    return os.path.splitext(os.path.basename(source))[0]


def split_tunebook(text: str) -> tuple[str, list[tuple[str, str]]]:
    """(file header, [(tune number, tune text)]) of an ABC tunebook."""
    starts = [m.start() for m in _TUNE_START.finditer(text)]
    header = text[: starts[0]] if starts else text
    tunes = []
    for a, b in zip(starts, starts[1:] + [len(text)]):
        chunk = text[a:b].strip("\n")
        field = chunk.split("\n", 1)[0][2:].strip()
        digits = _DIGITS.match(field)  # X: is a reference number; anything after it is noise
        number = digits[0][:20] if digits else _NOT_ID.sub("", field)[:20]
        tunes.append((number or str(len(tunes) + 1), chunk))
    return header, tunes


def tune_key_mode(tune_text: str) -> tuple[str | None, str | None] | None:
    """The tonic and mode a tune's ``K:`` field writes (mode None when it writes none); None
    when the tune has no K: field or one the native reader does not know."""
    m = _K_LINE.search(tune_text)
    if not m:
        return None
    try:
        return key_name(m[1])
    except NeedsMusic21:
        return None


_M_FIELD = re.compile(r"(?:^M:([^\n%]*))|(?:\[M:([^\]]*)\])", re.MULTILINE)


def written_meters(tune_text: str) -> set:
    """Every meter a tune's ``M:`` fields and ``[M:]`` write: ``(num, den)``, None for a free
    meter, ``"unknown"`` for one the native reader cannot spell."""
    out = set()
    for m in _M_FIELD.finditer(tune_text):
        try:
            out.add(meter(m[1] if m[1] is not None else m[2]))
        except NeedsMusic21:
            out.add("unknown")
    return out


def read_abc_tune(
    tune_text: str, *, source: str, tune, ties: str = "merge", native: bool = True, propagate: str = "octave",
    form: str = "written", grace: str = "drop", bare_key: str | None = "major",
) -> Score:  # fmt: skip
    """One ABC tune as a Score: the native reader (:mod:`tunelab.io.abc_native`), else music21
    for what is beyond it; ``meta["reader"]`` says which, and ``meta["music21_because"]`` why.

    ``propagate``: how far an accidental reaches within its bar; ``form``: ``written`` or
    ``played``; ``grace``: ``drop`` or ``keep``; ``bare_key``: the mode of ``K:D`` (see
    ``parse_abc_tune``).
    """
    if not (tune_text.startswith("K:") or "\nK:" in tune_text):  # a K: line (no regex: it runs per tune)
        raise ParseError(source, "tune has no K: (key) field", tune=tune)
    because = "the native reader is off"
    if native:
        try:
            score = parse_abc_tune(tune_text, source=source, tune=tune, ties=ties, propagate=propagate,
                                   form=form, grace=grace, bare_key=bare_key)  # fmt: skip
            score.meta["id"] = f"{_stem(source)}#{tune}"
            score.meta["reader"] = "native"
            return score
        except NeedsMusic21 as err:
            because = str(err) or "beyond the native reader"
    score = parse_data_with_music21(tune_text, "abc", source=source, tune=tune, ties=ties, meters="declared")
    written = written_meters(tune_text)
    if written and all(isinstance(m, tuple) for m in written):  # music21 may add meters; keep these
        kept = [ts for ts in score.time_signatures if ts[1:] in written] or [(0, *sorted(written)[0])]
        score = score.replace(time_signatures=[(0, *kept[0][1:]), *kept[1:]])
    written = tune_key_mode(tune_text)
    if written and written[1] is None and bare_key is None and score.keys and score.keys[0][0] == 0:
        score.keys[0] = (0, score.keys[0][1], None)
    score.meta["id"] = f"{_stem(source)}#{tune}"
    score.meta["reader"] = "music21"
    score.meta["music21_because"] = because
    return played(score) if form == "played" else score


def read_text(path) -> str:
    """An ABC file's text: UTF-8 (a byte-order mark, UTF-16 too), else a single-byte code page
    (Windows-1252, DOS's CP437 or Latin-1: :func:`_single_byte`); control characters removed.
    ParseError for a file that is not text at all."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = raw.decode("utf-16")
    elif raw[:3] == b"\xef\xbb\xbf":
        text = raw[3:].decode("utf-8", errors="replace")
    else:
        if raw.count(b"\x00") > len(raw) // 100 or _binary(raw[:4096]):
            raise ParseError(path, "not a text file (binary data)")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = _single_byte(raw)
    # line ends: \r\n and \r; never str.splitlines, which also splits on NEL (U+0085) and
    # other characters that occur inside text fields
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def _single_byte(raw: bytes) -> str:
    """Text in a single-byte code page: Windows-1252 (smart quotes and dashes at 0x91-0x97, what
    most tunebooks typed on Windows are) unless it has bytes that code page leaves undefined or
    reads as stray symbols, then DOS's CP437 (old tunebooks, where 0x80-0x9f are accented letters);
    Latin-1 where no byte is in 0x80-0x9f."""
    if not _C1_BYTES.search(raw):
        return raw.decode("latin-1")
    try:
        windows = raw.decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8d, 0x8f, 0x90, 0x9d are not Windows-1252
        return raw.decode("cp437")
    dos = raw.decode("cp437")
    return windows if _plausible(windows) >= _plausible(dos) else dos


def _plausible(text: str) -> int:
    """Letters and the punctuation of prose among a text's non-ASCII characters."""
    return sum(c.isalpha() or c in "\u2018\u2019\u201c\u201d\u2013\u2014\u2026" for c in text if ord(c) > 127)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]")


def _binary(head: bytes) -> bool:
    """Mostly bytes no text file has (controls other than tab, newline, CR, form feed)."""
    bad = sum(b < 9 or (13 < b < 32 and b != 27) for b in head)
    return len(head) > 0 and bad > len(head) // 20


def read_abc(path, *, ties: str = "merge", **options) -> tuple[list[Score], list[ParseError]]:
    """Every tune of an ABC file: ``(scores, errors)``; one broken tune never sinks the book."""
    path = Path(path)
    try:
        text = read_text(path)
    except ParseError as e:
        return [], [e]
    except OSError as e:
        return [], [ParseError(path, f"cannot read: {e.strerror or e}")]
    _, tunes = split_tunebook(text)
    if not tunes:
        return [], [ParseError(path, "no tune (no X: line) in the file")]
    scores, errors = [], []
    for number, chunk in tunes:
        try:
            scores.append(read_abc_tune(chunk, source=str(path), tune=number, ties=ties, **options))
        except ParseError as e:
            errors.append(e)
        except (ValueError, IndexError, KeyError, ZeroDivisionError) as e:  # music21 on broken ABC
            errors.append(ParseError(path, f"unreadable: {e}", tune=number))
    return scores, errors
