"""Humdrum ``**kern``: a native reader for monophonic files, music21 for the rest.

The native reader covers what folk-song collections use: reciprocal durations with dots
(``4.``), breves (``0``), rational durations (``3%2``), triplets (``12``), ties (``[ _ ]``),
rests, barlines, ``*M`` meters (``*MX`` and free meters too), ``*k[]`` key signatures, ``*G:``
key designations, and pickups. Files with several spines, chords or spine splits go to music21.

Bars whose real length differs from the declared meter (irregular bars, ``*MX``) get a time
signature of their own, so the Score's bars are the file's bars. Reference: the Humdrum
Toolkit's kern specification (https://www.humdrum.org/rep/kern/).
"""

from __future__ import annotations

import re
import warnings
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np

from tunelab.errors import ParseError
from tunelab.io.bars import meter_from_barlines
from tunelab.io.keys import MAJOR_BY_SHARPS, signature_sharps
from tunelab.score import Score

TPQ = 480  # ticks per quarter: whole for triplets, quintuplets and 64ths

_PITCH_LETTERS = set("abcdefgABCDEFG")
# Signifiers that change neither pitch nor time: phrasing, articulation, ornaments, beams,
# stems, editorial marks (Humdrum kern specification, sections 2.4-2.12).
_IGNORED = set("{}()&;'\"`~^:|,<>/\\LJKkxXyYuUvVwWmMtTSsRO$IoNzZ@Hh?!")
_KEY_RE = re.compile(r"^\*([A-Ga-g])([#-]*):([a-z]*)$")
_METER_RE = re.compile(r"^\*M(\d+)/(\d+)$")
_SIGNATURE_RE = re.compile(r"^\*k\[((?:[a-g][#-])*)\]$")
_SPINE_OPS = {"*^", "*v", "*x", "*+"}
_KNOWN = set("0123456789.%#-nr[]_qQP")
_DURATION_RE = re.compile(r"[^0-9]*?(\d+)(%\d+)?(\.*)")
_KERN_MODES = {
    "dor": "dorian",
    "phr": "phrygian",
    "lyd": "lydian",
    "mix": "mixolydian",
    "aeo": "minor",
    "ion": "major",
    "loc": "locrian",
}


class _NeedsMusic21(Exception):
    """The file is valid kern but beyond the native reader (polyphony, spine splits)."""


def read_kern(path, *, ties: str = "merge") -> Score:
    """Read one kern file into a Score, natively when monophonic, else through music21.

    Args:
        path: a ``.krn`` file.
        ties: ``"merge"`` joins tied notes into one note; ``"keep"`` keeps each notated note
            (what music21-based pipelines such as the LSTM study's see).

    Raises:
        ParseError: the file is empty, not kern, or holds a token that is not kern.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    except OSError as e:
        raise ParseError(path, f"cannot read: {e.strerror}") from None
    try:
        return parse_kern(text, path, ties=ties)
    except _NeedsMusic21:
        from tunelab.io.m21 import parse_with_music21

        return parse_with_music21(path, ties=ties)


def parse_kern(text: str, path="<string>", *, ties: str = "merge") -> Score:
    """Parse kern text (see :func:`read_kern`)."""
    if ties not in ("merge", "keep"):
        raise ValueError(f"ties must be 'merge' or 'keep', got {ties!r}")
    p = _Parser(path, ties == "merge")
    for lineno, line in enumerate(text.splitlines(), 1):
        p.line(line.rstrip("\r"), lineno)
    return p.finish()


@lru_cache(maxsize=4096)
def _parse_token(tok: str) -> tuple:
    """One data token -> ``("note", ticks, pitch, tie_start, tie_end, tie_middle)``,
    ``("rest", ticks)``, ``("grace",)``, ``("chord",)`` or ``("error", reason)``.

    Memoized: folk songs repeat a few dozen tokens thousands of times.
    """
    if " " in tok:
        return ("chord",)
    unknown = set(tok) - _PITCH_LETTERS - _IGNORED - _KNOWN
    if unknown:
        return ("error", f"unknown kern token {tok!r} (characters {''.join(sorted(unknown))!r})")
    if "q" in tok or "Q" in tok or "P" in tok:
        return ("grace",)
    digits = _DURATION_RE.match(tok)
    if not digits:
        return ("error", f"kern token {tok!r} has no duration")
    if any(c.isdigit() for c in tok[digits.end() :]):
        return ("error", f"malformed duration in kern token {tok!r}")
    recip = int(digits[1])
    quarters = Fraction(8) if recip == 0 else Fraction(4, recip)
    if digits[2]:
        quarters *= int(digits[2][1:])
    quarters *= 2 - Fraction(1, 2 ** len(digits[3]))
    ticks = quarters * TPQ
    if ticks.denominator != 1:
        return ("error", f"duration of {tok!r} is finer than 1/{TPQ} of a quarter note")
    letters = [c for c in tok if c in _PITCH_LETTERS]
    is_rest = "r" in tok
    if is_rest == bool(letters):
        return ("error", f"kern token {tok!r} is neither one note nor one rest")
    if is_rest:
        return ("rest", int(ticks))
    if len(set(letters)) != 1:
        return ("error", f"kern token {tok!r} holds more than one pitch")
    pitch = _kern_pitch(letters, tok.count("#") - tok.count("-"))
    if not 0 <= pitch <= 127:
        return ("error", f"kern pitch {tok!r} is outside MIDI 0-127")
    return ("note", int(ticks), pitch, "[" in tok, "]" in tok, "_" in tok)


class _Parser:
    def __init__(self, path, merge_ties: bool):
        self.path, self.merge_ties = path, merge_ties
        self.started = self.ended = False
        self.t = 0  # current time in ticks
        self.notes: list[list[int]] = []  # [onset, duration, pitch]
        self.rests: list[tuple[int, int]] = []
        self.tie_open: int | None = None  # index of the note a tie continues
        self.bars: list[int] = []  # ticks of barlines
        self.meters: list[tuple] = []  # (tick, num, den) or (tick, None, None) for *MX
        self.keys: list[tuple] = []
        self.meta: dict = {}
        self.lineno = 0

    def error(self, reason: str) -> ParseError:
        return ParseError(self.path, reason, line=self.lineno)

    def line(self, line: str, lineno: int) -> None:
        self.lineno = lineno
        if not line or self.ended:
            return
        c = line[0]
        if c == "!":
            if line.startswith("!!!"):
                key, _, value = line[3:].partition(":")
                self.meta.setdefault(key.strip(), value.strip())
            return
        if "\t" in line:
            raise _NeedsMusic21
        if c == "*":
            if line.startswith("**"):
                if line != "**kern":
                    raise self.error(f"spine {line!r} is not **kern") if not self.started else _NeedsMusic21
                self.started = True
            elif not self.started:
                raise self.error(f"interpretation before the **kern header: {line[:40]!r}")
            else:
                self.interpretation(line)
            return
        if not self.started:
            raise self.error(f"data before the **kern header: {line[:40]!r}")
        if c == "=":
            if not self.bars or self.bars[-1] != self.t:
                self.bars.append(self.t)
        elif line != ".":
            self.token(line)

    def interpretation(self, tok: str) -> None:
        if tok == "*-":
            self.ended = True
        elif tok in _SPINE_OPS:
            raise _NeedsMusic21
        elif m := _METER_RE.match(tok):
            num, den = int(m[1]), int(m[2])
            if num <= 0 or den <= 0 or den & (den - 1):
                raise self.error(f"meter {tok!r} needs a power-of-two denominator")
            self._set_meter((self.t, num, den))
        elif tok.startswith("*M") and not tok.startswith("*MM") and tok[2:3] in "X0123456789F":
            self._set_meter((self.t, None, None))  # *MX, *MFREI4/4, *M5/1%%%2+3%: irregular
            if tok != "*MX":
                warnings.warn(
                    f"{self.path}, line {self.lineno}: meter {tok!r} read as irregular", stacklevel=2
                )
        elif m := _KEY_RE.match(tok):
            mode = m[3] or ("major" if m[1].isupper() else "minor")
            mode = _KERN_MODES.get(mode, mode)
            tonic = m[1].upper() + m[2].replace("-", "b")
            if self.keys and self.keys[-1][0] == self.t and self.keys[-1][2] is None:
                self.keys.pop()  # the signature just read belongs to this key
            if not self.keys or self.keys[-1][1:] != (tonic, mode):
                self.keys.append((self.t, tonic, mode))
        elif (m := _SIGNATURE_RE.match(tok)) and not (self.keys and self.keys[-1][0] == self.t):
            # a signature with no key designation (yet): kept as its major's tonic, mode unknown
            sharps = m[1].count("#") - m[1].count("-")
            if -7 <= sharps <= 7 and (not self.keys or signature_sharps(*self.keys[-1][1:]) != sharps):
                self.keys.append((self.t, MAJOR_BY_SHARPS[sharps], None))

    def _set_meter(self, meter) -> None:
        if self.meters and self.meters[-1][0] == meter[0]:
            self.meters[-1] = meter
        else:
            self.meters.append(meter)

    def token(self, tok: str) -> None:
        parsed = _parse_token(tok)
        kind = parsed[0]
        if kind == "note":
            _, dur, pitch, tie_start, tie_end, tie_middle = parsed
            if self.merge_ties and (tie_end or tie_middle) and self.tie_open is not None:
                prev = self.notes[self.tie_open]
                if prev[2] == pitch and prev[0] + prev[1] == self.t:
                    prev[1] += dur
                    self.t += dur
                    if tie_end:
                        self.tie_open = None
                    return
            self.notes.append([self.t, dur, pitch])
            self.tie_open = len(self.notes) - 1 if tie_start else None
            self.t += dur
        elif kind == "rest":
            self.rests.append((self.t, parsed[1]))
            self.t += parsed[1]
        elif kind == "error":
            raise self.error(parsed[1])
        elif kind == "chord":
            raise _NeedsMusic21
        else:
            warnings.warn(f"{self.path}, line {self.lineno}: grace note {tok!r} skipped", stacklevel=2)

    def finish(self) -> Score:
        if not self.started:
            raise ParseError(self.path, "no **kern spine (empty or not a kern file)")
        time_signatures, pickup = meter_from_barlines(self.meters, self.bars, self.t, TPQ)
        notes = np.array(self.notes, dtype=np.int64).reshape(-1, 3)
        meta = {"source": str(self.path)}
        if "OTL" in self.meta:
            meta["title"] = self.meta["OTL"]
        meta["reference"] = self.meta
        meta["declared_meter"] = (
            bool(self.meters) and self.meters[0][0] == 0 and self.meters[0][1] is not None
        )
        return Score(
            notes[:, 0],
            notes[:, 1],
            notes[:, 2],
            tpq=TPQ,
            time_signatures=time_signatures,
            keys=self.keys,
            pickup=pickup,
            end=self.t,
            rests=np.array(self.rests, dtype=np.int64).reshape(-1, 2),
            meta=meta,
        )


def _kern_pitch(letters: list[str], alter: int) -> int:
    """MIDI pitch of kern letters: ``c`` = C4 (60), ``cc`` = C5, ``C`` = C3, ``CC`` = C2."""
    letter = letters[0]
    step = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}[letter.lower()]
    octave = 3 + len(letters) if letter.islower() else 4 - len(letters)
    return 12 * (octave + 1) + step + alter
