"""A native reader for the plain, one-voice ABC that folk-song collections use.

It covers the ABC 2.1 standard's header fields X, T, M, L, K, Q, N, and a body of notes
(``^ ^^ _ __ =`` accidentals, ``,`` and ``'`` octaves, lengths such as ``2``, ``/``, ``3/2``),
rests ``z``/``x``, ties ``-``, broken rhythm ``>``/``<``, barlines and spaces. Accidentals
last until the barline, as the standard says. Anything else (chords, tuplets, grace notes,
decorations, annotations, inline fields, voices) raises :class:`NeedsMusic21` and the caller
falls back to music21. On the 6,008 German Essen tunes it agrees with music21 note for note
(tests/test_abc.py) at a fraction of the cost.
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

from tunelab.errors import ParseError
from tunelab.io.bars import meter_from_barlines
from tunelab.score import Score

TPQ = 480


class NeedsMusic21(Exception):
    """Valid ABC, but beyond this reader."""


_STEP = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_SHARP_ORDER, _FLAT_ORDER = "FCGDAEB", "BEADGCF"
_MAJOR_SHARPS = {
    "C": 0,
    "G": 1,
    "D": 2,
    "A": 3,
    "E": 4,
    "B": 5,
    "F#": 6,
    "C#": 7,
    "F": -1,
    "Bb": -2,
    "Eb": -3,
    "Ab": -4,
    "Db": -5,
    "Gb": -6,
    "Cb": -7,
}
_MODE_SHIFT = {
    "major": 0,
    "minor": -3,
    "dorian": -2,
    "phrygian": -4,
    "lydian": 1,
    "mixolydian": -1,
    "locrian": -5,
}
_MODE_NAMES = {
    "": "major",
    "maj": "major",
    "ion": "major",
    "m": "minor",
    "min": "minor",
    "aeo": "minor",
    "dor": "dorian",
    "phr": "phrygian",
    "lyd": "lydian",
    "mix": "mixolydian",
    "loc": "locrian",
}
_NOTE = re.compile(r"(\^{1,2}|_{1,2}|=)?([A-Ga-gzx])([,']*)(\d*)(/*)(\d*)")
_BAR = re.compile(r":*\|[\]|:]*|:*\[\||::")
_FIELD = re.compile(r"^([A-Za-z]):\s*(.*?)\s*$")


def parse_abc_tune(
    text: str,
    *,
    source: str = "<string>",
    tune=None,
    ties: str = "merge",
    propagate: str = "octave",
    implicit_bars: bool = True,
) -> Score:
    """One ABC tune (``X:`` to the blank line) as a Score; NeedsMusic21 if beyond this reader.

    ``ties="keep"`` keeps tied notes as notated (see ``tunelab.io.kern.read_kern``).
    ``propagate`` says which later notes of a bar an accidental applies to: ``"octave"`` (ABC
    2.1: same letter and octave), ``"pitch"`` (same letter, any octave) or ``"not"``; a
    ``%%propagate-accidentals`` line in the tune overrides it. A tie carries an accidental
    over the barline to the note it ties to, as in standard notation. With ``implicit_bars``,
    a line that ends without a barline after exactly one full bar ends that bar (the Essen
    collection writes one phrase per line and leaves that barline out).
    """
    m = re.search(r"^%%propagate-accidentals\s+(not|octave|pitch)\b", text, re.MULTILINE)
    propagate = m[1] if m else propagate
    if propagate not in ("octave", "pitch", "not"):
        raise ValueError(f"propagate must be 'octave', 'pitch' or 'not', got {propagate!r}")
    fields: dict[str, str] = {}
    notes: list[list[int]] = []
    rests: list[tuple[int, int]] = []
    bars: list[int] = []
    t = 0
    unit = None
    key_alter: dict[str, int] = {}
    bar_alter: dict[tuple[str, int], int] = {}
    tie_open = False
    tied_from: tuple | None = None  # (step, octave, alter) of the note a tie leaves
    broken = 0  # +1: the next note gets the short half of a '>' pair, -1 of a '<' pair
    bar_len = 0
    in_body = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("%", 1)[0].rstrip()
        if not line:
            continue
        m = _FIELD.match(line) if not in_body or re.match(r"^[A-Za-z]:", line) else None
        if m:
            name, value = m[1], m[2]
            if in_body and name not in "TNW":
                raise NeedsMusic21  # a meter, key or unit change inside the tune
            fields.setdefault(name, value)
            if name == "N":
                fields.setdefault("_ids", "")
                fields["_ids"] += value + "\n"
            if name == "K":
                in_body = True
                key_alter = _key_signature(value)
                unit = unit or _default_unit(fields.get("M", ""))
                meter = _meter(fields.get("M", ""))
                bar_len = TPQ * 4 * meter[0] // meter[1] if meter else 0
            elif name == "L":
                unit = _fraction(value, source, tune, lineno)
            continue
        if not in_body:
            raise ParseError(source, "music before the K: (key) field", tune=tune, line=lineno)
        # The previous line ended without a barline (folk collections end phrases that way).
        # Where it completed a bar, the bar ends there; else the bar runs on into this line.
        # Accidentals run on: the file wrote no barline to end them (measured on Essen ABC).
        if implicit_bars and bar_len and t > 0 and t - (bars[-1] if bars else 0) == bar_len:
            bars.append(t)
        pos = 0
        while pos < len(line):
            c = line[pos]
            if c in " \t\\":
                pos += 1
                continue
            bar = _BAR.match(line, pos)
            if bar:
                if not bars or bars[-1] != t:
                    bars.append(t)
                bar_alter.clear()
                pos = bar.end()
                continue
            if c in "<>":
                run = len(re.match(r"[<>]+", line[pos:])[0])
                if run > 1 or (not notes and not rests):
                    raise NeedsMusic21
                # '>' makes the previous note dotted and this one short; '<' the other way round.
                last = notes[-1] if notes and (not rests or notes[-1][0] > rests[-1][0]) else None
                if last is None:
                    raise NeedsMusic21
                half = last[1] // 2
                last[1] += half if c == ">" else -half
                t += half if c == ">" else -half
                broken = 1 if c == ">" else -1
                pos += 1
                continue
            if c == "-":
                tie_open = True
                pos += 1
                continue
            m = _NOTE.match(line, pos)
            if not m or m.end() == pos:
                raise NeedsMusic21  # chords, tuplets, decorations, annotations, inline fields
            acc, letter, octave, num, slashes, den = m.groups()
            length = Fraction(int(num) if num else 1)
            if slashes:
                length /= int(den) if den else 2 ** len(slashes)
            elif den:
                raise NeedsMusic21
            ticks = unit * 4 * length * TPQ
            if broken:
                ticks = ticks / 2 if broken == 1 else ticks * 3 / 2
                broken = 0
            if ticks.denominator != 1 or ticks <= 0:
                raise ParseError(
                    source, f"note length {m[0]!r} is not a whole number of ticks", tune=tune, line=lineno
                )
            ticks = int(ticks)
            pos = m.end()
            if letter in "zx":
                if acc or octave:
                    raise ParseError(
                        source,
                        f"a rest cannot have an accidental or octave: {m[0]!r}",
                        tune=tune,
                        line=lineno,
                    )
                rests.append((t, ticks))
                t += ticks
                tie_open = False
                continue
            step = letter.upper()
            octave_no = (5 if letter.islower() else 4) + octave.count("'") - octave.count(",")
            where = (step, octave_no if propagate == "octave" else 0)
            if acc:
                alter = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}[acc]
                if propagate != "not":
                    bar_alter[where] = alter
            elif tie_open and tied_from and tied_from[:2] == (step, octave_no):
                alter = tied_from[2]  # the continuation of a tie keeps its accidental
            else:
                alter = bar_alter.get(where, key_alter.get(step, 0))
            tied_from = (step, octave_no, alter)
            pitch = 12 * (octave_no + 1) + _STEP[step] + alter  # C4 (ABC "C") = 60
            if not 0 <= pitch <= 127:
                raise ParseError(source, f"pitch {m[0]!r} is outside MIDI 0-127", tune=tune, line=lineno)
            if (
                tie_open
                and ties == "merge"
                and notes
                and notes[-1][2] == pitch
                and notes[-1][0] + notes[-1][1] == t
            ):
                notes[-1][1] += ticks
            else:
                notes.append([t, ticks, pitch])
            tie_open = False
            t += ticks
    if "K" not in fields:
        raise ParseError(source, "tune has no K: (key) field", tune=tune)
    if not notes and not rests:
        raise ParseError(source, "tune has no notes", tune=tune)
    meter = _meter(fields.get("M", ""))
    meters = [(0, *meter)] if meter else [(0, None, None)]
    tss, pickup = meter_from_barlines(meters, bars, t, TPQ)
    tonic, mode = key_name(fields["K"])
    arr = np.array(notes, dtype=np.int64).reshape(-1, 3)
    meta = {"source": source, "declared_meter": meter is not None}
    if tune is not None:
        meta["tune"] = tune
    if "T" in fields:
        meta["title"] = fields["T"]
    if "_ids" in fields:
        meta["essen_id"] = fields["_ids"].split()[0] if fields["_ids"].split() else ""
    tempo = _tempo(fields.get("Q", ""))
    return Score(
        arr[:, 0],
        arr[:, 1],
        arr[:, 2],
        tpq=TPQ,
        time_signatures=tss,
        keys=[(0, tonic, mode)] if tonic else [],
        pickup=pickup,
        end=t,
        tempo=tempo,
        rests=np.array(rests, dtype=np.int64).reshape(-1, 2),
        meta=meta,
    )


def _fraction(value: str, source, tune, lineno) -> Fraction:
    try:
        f = Fraction(value.strip())
    except (ValueError, ZeroDivisionError):
        raise ParseError(
            source, f"L: field {value!r} is not a fraction like 1/8", tune=tune, line=lineno
        ) from None
    if f <= 0:
        raise ParseError(source, f"L: field {value!r} must be positive", tune=tune, line=lineno)
    return f


def _meter(value: str) -> tuple[int, int] | None:
    v = value.strip()
    if v == "C":
        return 4, 4
    if v == "C|":
        return 2, 2
    m = re.fullmatch(r"(\d+)/(\d+)", v)
    if m and int(m[1]) > 0 and int(m[2]) > 0 and not int(m[2]) & (int(m[2]) - 1):
        return int(m[1]), int(m[2])
    if v.lower() in ("", "none") or v.upper().startswith("FREI"):
        return None  # free or unknown meter: bars get their own lengths
    raise NeedsMusic21  # compound forms like (2+3)/8


def _default_unit(meter: str) -> Fraction:
    """ABC 2.1, 3.1.7: 1/16 when the meter is below 3/4, else 1/8."""
    m = _meter(meter)
    return Fraction(1, 16) if m and Fraction(*m) < Fraction(3, 4) else Fraction(1, 8)


def key_name(value: str) -> tuple[str | None, str | None]:
    """(tonic, mode) of a K: field value; the mode is None when it names none (Essen style).

    Raises NeedsMusic21 for keys this reader does not know (highland pipes, accidental lists).
    """
    m = re.match(r"\s*([A-G])([#b]?)\s*([A-Za-z]*)", value)
    if not m:
        if value.strip().lower() in ("", "none"):
            return None, None
        raise NeedsMusic21  # highland-pipe keys, explicit accidental lists
    mode_word = m[3].lower()
    if mode_word and mode_word[:3] not in _MODE_NAMES and mode_word not in _MODE_NAMES:
        raise NeedsMusic21
    mode = _MODE_NAMES.get(mode_word, _MODE_NAMES.get(mode_word[:3])) if mode_word else None
    return m[1] + m[2], mode


def _key_signature(value: str) -> dict[str, int]:
    """Alteration by step letter that the K: field's key signature implies."""
    tonic, mode = key_name(value)
    if tonic is None:
        return {}
    major_sharps = _MAJOR_SHARPS.get(tonic)
    if major_sharps is None:
        raise NeedsMusic21
    sharps = major_sharps + _MODE_SHIFT[mode or "major"]
    if not -7 <= sharps <= 7:
        raise NeedsMusic21
    if sharps >= 0:
        return {s: 1 for s in _SHARP_ORDER[:sharps]}
    return {s: -1 for s in _FLAT_ORDER[:-sharps]}


def _tempo(value: str) -> float | None:
    m = re.search(r"(?:(\d+)/(\d+)\s*=\s*)?(\d+(?:\.\d+)?)\s*$", value)
    if not value or not m:
        return None
    beat = Fraction(int(m[1]), int(m[2])) if m[1] else Fraction(1, 4)
    return float(m[3]) * float(beat * 4)
