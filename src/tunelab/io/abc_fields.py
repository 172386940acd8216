"""The parts of an ABC tune that are not notes: keys (with modes and explicit accidentals), meters,
unit note lengths and tempi (ABC 2.1, sections 3.1.6-3.1.14)."""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

_NO_TONIC = re.compile(r"\s*(none\b|$|H[Pp]\b|clef=|[_^=])")
_GERMAN = re.compile(r"\s*(H|Es)(?![#b])(.*)")
_HP = re.compile(r"\s*Hp\b")
_GERMAN_START = re.compile(r"^\s*(H|Es)(?![#b])")
_EXPLICIT_ACC = re.compile(r"(?:^|\s)(\^{1,2}|_{1,2}|=)([A-Ga-g])(?=\s|$)")
_METER = re.compile(r"\(?([\d+ ]+)\)?\s*/\s*(\d+)")
_QUOTED = re.compile(r'"[^"]*"')
_TEMPO = re.compile(r"(?:((?:\d+/\d+\s*)+)=\s*)?(\d+(?:\.\d+)?)\s*$")


class NeedsMusic21(Exception):
    """Valid ABC, but beyond the native reader (the caller falls back to music21 and counts it)."""


STEP = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_SHARP_ORDER, _FLAT_ORDER = "FCGDAEB", "BEADGCF"
_MAJOR_SHARPS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F#": 6, "C#": 7,
                 "F": -1, "Bb": -2, "Eb": -3, "Ab": -4, "Db": -5, "Gb": -6, "Cb": -7}  # fmt: skip
_MODE_SHIFT = {
    "major": 0,
    "minor": -3,
    "dorian": -2,
    "phrygian": -4,
    "lydian": 1,
    "mixolydian": -1,
    "locrian": -5,
}
_MODE_NAMES = {"": "major", "maj": "major", "ion": "major", "m": "minor", "min": "minor", "aeo": "minor",
               "dor": "dorian", "phr": "phrygian", "lyd": "lydian", "mix": "mixolydian", "loc": "locrian"}  # fmt: skip
_KEY = re.compile(r"\s*([A-G])([#b]?)\s*([A-Za-z]*)")


@lru_cache(maxsize=256)
def key_name(value: str) -> tuple[str | None, str | None]:
    """(tonic, mode) a K: field names; the mode is None when it names none (``K:G``, the Essen
    way of writing G minor as well as G major: the corpus estimates it from the notes).
    ``K:none``, ``K:`` and the highland-pipe keys give (None, None)."""
    body = value.split("%", 1)[0]
    if _NO_TONIC.match(body):
        return None, None
    german = _GERMAN.match(body)  # Essen: German note names (H = B, Es = E flat)
    if german:
        body = {"H": "B", "Es": "Eb"}[german[1]] + german[2]
    m = _KEY.match(body)
    if not m:
        raise NeedsMusic21(f"key {value!r}")
    word = m[3].lower()
    mode = _MODE_NAMES.get(word, _MODE_NAMES.get(word[:3])) if word else None
    if word and mode is None:
        if "=" in body[m.start(3) :].split()[0]:  # K:G clef=... (a property, not a mode)
            mode = None
        else:
            raise NeedsMusic21(f"key mode {m[3]!r}")
    return m[1] + m[2], mode


def key_signature(value: str) -> dict[str, int]:
    """Alteration by step letter that a K: field implies: its key's signature, then any explicit
    accidentals it lists (``K:D =c``, ``K:none ^f``); ``K:Hp`` (highland pipes) sharpens F and C."""
    return dict(_key_signature(value))


@lru_cache(maxsize=256)
def _key_signature(value: str) -> tuple[tuple[str, int], ...]:
    body = value.split("%", 1)[0]
    if _HP.match(body):
        return (("F", 1), ("C", 1))
    tonic, mode = key_name(body)
    alter: dict[str, int] = {}
    body = _GERMAN_START.sub(lambda g: {"H": "B", "Es": "Eb"}[g[1]], body)
    tail = body
    if tonic is not None:
        sharps = _MAJOR_SHARPS.get(tonic)
        if sharps is None:
            raise NeedsMusic21(f"key {value!r}")
        sharps += _MODE_SHIFT[mode or "major"]
        if not -7 <= sharps <= 7:
            raise NeedsMusic21(f"key {value!r}")
        order = _SHARP_ORDER[:sharps] if sharps >= 0 else _FLAT_ORDER[:-sharps]
        alter = dict.fromkeys(order, 1 if sharps >= 0 else -1)
        tail = body[_KEY.match(body).end() :]
    for acc, letter in _EXPLICIT_ACC.findall(tail):
        alter[letter.upper()] = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}[acc]
    return tuple(alter.items())


@lru_cache(maxsize=256)
def meter(value: str) -> tuple[int, int] | None:
    """(num, den) of an M: field; None for a free meter (``none``, ``FREI``, empty)."""
    v = value.split("%", 1)[0].strip().rstrip("]").strip()
    if v == "C":
        return 4, 4
    if v == "C|":
        return 2, 2
    if v.lower() in ("", "none") or v.upper().startswith("FREI"):
        return None
    m = _METER.fullmatch(v)  # 6/8, (2+3)/8, 2+3/8
    if m:
        num = sum(int(x) for x in m[1].split("+") if x.strip())
        den = int(m[2])
        if num > 0 and den > 0 and not den & (den - 1):
            return num, den
    raise NeedsMusic21(f"meter {value!r}")


@lru_cache(maxsize=256)
def default_unit(m: tuple[int, int] | None) -> Fraction:
    """ABC 2.1, 3.1.7: 1/16 when the meter is below 3/4, else 1/8 (a free meter: 1/8)."""
    return Fraction(1, 16) if m and Fraction(*m) < Fraction(3, 4) else Fraction(1, 8)


@lru_cache(maxsize=256)
def unit_length(value: str) -> Fraction:
    """The L: field's unit note length, a positive fraction of a whole note."""
    f = Fraction(value.split("%", 1)[0].strip())
    if f <= 0:
        raise ValueError("must be positive")
    return f


@lru_cache(maxsize=256)
def tempo(value: str) -> float | None:
    """Quarter notes a minute of a Q: field (``1/4=120``, ``3/8=80``, ``120``, ``"Allegro" 1/4=120``)."""
    if not value:
        return None
    v = _QUOTED.sub("", value.split("%", 1)[0]).strip()
    m = _TEMPO.search(v)
    if not v or not m:
        return None
    beat = sum((Fraction(b) for b in m[1].split()), Fraction(0)) if m[1] else Fraction(1, 4)
    return float(m[2]) * float(beat * 4) if beat else None
