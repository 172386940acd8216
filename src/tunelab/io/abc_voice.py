"""One voice of an ABC tune as it is read: a time cursor (integer ticks, ``TICKS`` a quarter:
exact for every length up to 256th notes in tuplets of 3, 5, 7 and 9, and fast, where Python's
Fractions took half the reading time), the notes, rests and barlines so far, and what the next note needs to know (key and bar
accidentals, an open tie, a tuplet, a broken rhythm, pending grace notes)."""

from __future__ import annotations

import re
from contextlib import suppress
from fractions import Fraction
from functools import lru_cache

from tunelab.form import REPEAT_END, REPEAT_START, SECTION, ending, ending_passes
from tunelab.io import abc_fields as F

_ENDING_NUMBERS = re.compile(r"\d+(?:[,-]\d+)*$")
_LENGTH = re.compile(r"(\d*)(/*)(\d*)")
_NOT_NOTES = re.compile(r"[\s.~]|![^!]*!|\"[^\"]*\"")

_ACCIDENTAL = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}
_STEP_PC = F.STEP
_CHORD_NOTE = re.compile(r"(\^{1,2}|_{1,2}|=)?([A-Ga-g])([,']*)(\d*)(/*)(\d*)")
# a chord symbol: a root, an accidental, a quality (m, min, maj, dim, aug, sus, +, o, numbers...),
# a bass after / (ABC 2.1, 4.18); "(G)" an alternative chord in brackets
_CHORD_SYMBOL = re.compile(
    r"\(?[A-G][#b\u266f\u266d]?(?:m|min|maj|M|dim|aug|sus|add|\+|o|\u00b0|\u00f8|-|[0-9]|\(|\)|b|#)*"
    r"(?:/[A-Ga-g][#b]?)?\)?"
)
TICKS = 480 * 2520  # ticks a quarter while reading; the Score gets the coarsest that holds the tune
GRACE = TICKS // 8  # a kept grace note: a 32nd


@lru_cache(maxsize=512)
def length(num: str, slashes: str, den: str) -> Fraction:
    """A note's length in units: ``2``, ``/``, ``//``, ``/2``, ``3/2``, ``3/``."""
    value = Fraction(int(num) if num else 1)
    if slashes:
        value /= int(den) if den else 2 ** len(slashes)
    elif den:
        raise ValueError(f"length {num}{den}")
    return value


@lru_cache(maxsize=512)
def _where(letter: str, octave: str) -> tuple[str, int]:
    """(step, octave number) of a note letter and its octave marks: ``c'`` -> ("C", 6)."""
    return letter.upper(), (5 if letter.islower() else 4) + octave.count("'") - octave.count(",")


# the same, looked up without a call, for the letters and octave marks tunes mostly use
_WHERE = {(x, o): _where(x, o) for x in "ABCDEFGabcdefg" for o in ("", ",", ",,", ",,,", "'", "''", "'''")}


def exact(x) -> int:
    """A time in ticks, which must be whole (NeedsMusic21 for finer times)."""
    if x.denominator != 1:
        raise F.NeedsMusic21(f"times finer than 1/{TICKS} of a quarter")
    return int(x.numerator)


def _ticks(units: Fraction, unit: Fraction) -> int:
    """Ticks of ``units`` unit lengths of ``unit`` whole notes, in integers (a cache keyed by
    Fractions spent more on hashing them than this does on the arithmetic)."""
    num, den = units.numerator * unit.numerator * 4 * TICKS, units.denominator * unit.denominator
    if num % den:
        raise F.NeedsMusic21(f"times finer than 1/{TICKS} of a quarter")
    return num // den


def _plain_ticks(units: Fraction, unit: Fraction) -> int:
    d = _ticks(units, unit)
    if d <= 0:
        raise F.NeedsMusic21("a zero-length note")
    return d


def _scaled(ticks: int, num: int, den: int) -> int:
    """``ticks * num / den``, which must be whole ticks (NeedsMusic21 for finer times)."""
    if ticks * num % den:
        raise F.NeedsMusic21(f"times finer than 1/{TICKS} of a quarter")
    return ticks * num // den


@lru_cache(maxsize=256)
def _barline(text: str) -> tuple[bool, tuple[str, ...]]:
    """What a barline's text says: whether it ends a bar (``[2`` alone does not), and its form
    marks (:mod:`tunelab.form`): ``::`` ends a repeat and starts one, ``||``, ``[|`` and ``|]``
    are section bars, and digits open an ending (``|1``, ``:|2``, ``[1,3``, ``[2-4``)."""
    numbers = _ENDING_NUMBERS.search(text)
    body = text[: numbers.start()].rstrip("[") if numbers else text
    marks = []
    if body.startswith(":"):
        marks.append(REPEAT_END)
    if (body.endswith(":") and body != ":") or body == "::":
        marks.append(REPEAT_START)
    if not marks and body.strip(":") in ("||", "[|", "|]"):
        marks.append(SECTION)
    if numbers:
        with suppress(ValueError):  # an ending past 16 passes: a typo, read as a plain barline
            marks.append(ending(ending_passes(numbers[0])))
    is_bar = not text.startswith("[") or "|" in text
    return is_bar, tuple(marks)


class Voice:
    def __init__(self, tune, key: str, meter, unit: Fraction):
        self.tune, self.t = tune, 0
        self._unit, self.meter = unit, meter
        self.key_alter = F.key_signature(key)
        self.keys, self.meters = [(0, key)], [(0, meter)]
        self.notes: list[list] = []  # [onset, duration, pitch], quarter notes
        self.rests: list[list] = []
        self.bars: list[int] = []
        self.marks: list[tuple] = []  # (time, form mark), in reading order
        self.chord_symbols: list[tuple] = []
        self.annotations: list[tuple] = []
        self.tempo_changes: list = []
        self.bar_alter: dict = {}
        # pitch -> (note index, step, octave, alter) of the notes a tie may continue; None after a
        # single note, whose tie is worked out from ``last`` when a tie follows (most notes are not tied)
        self.tie_from: dict[int, tuple] | None = {}
        self.tie_next = False
        self.tuplet_left, self.tuplet_ratio = 0, (1, 1)  # notes left in a tuplet, and its (q, p)
        self.broken_next: tuple | None = None  # the next element's (num, den) from a broken rhythm
        # ("notes", [indices], start), ("rest", index, start), ("spacer", 0, start) or, for a single
        # note, ("note", index, start, pitch, step, octave, alter)
        self.last: tuple | None = None
        self.graces: list = []
        self.line_start_t = 0
        self._tokens: dict = {}  # a note's text -> what it says by itself at this unit length
        self._propagate, self._merge = tune.opts["propagate"], tune.opts["ties"] == "merge"
        self._by_octave = self._propagate == "octave"

    # --- fields --------------------------------------------------------------------------------

    @property
    def unit(self) -> Fraction:
        """The unit note length (``L:``), in whole notes."""
        return self._unit

    @unit.setter
    def unit(self, value: Fraction) -> None:
        self._unit, self._tokens = value, {}  # note lengths change with it

    def set_meter(self, meter) -> None:
        self.meter = meter
        _change(self.meters, self.t, meter)

    def set_key(self, value: str) -> None:
        self.key_alter = F.key_signature(value)
        _change(self.keys, self.t, value)
        self.bar_alter.clear()

    def part(self, label: str) -> None:
        """A ``P:`` field inside the tune: a part starts here."""
        self.marks.append((self.t, "P:" + label))

    # --- bars ----------------------------------------------------------------------------------

    def bar_length(self) -> int | None:
        if not self.meter:
            return None
        ticks, rest = divmod(4 * TICKS * self.meter[0], self.meter[1])
        if rest:
            raise F.NeedsMusic21(f"times finer than 1/{TICKS} of a quarter")
        return ticks

    def new_line(self) -> None:
        """A line that ended without a barline after exactly one full bar ended that bar (Essen)."""
        full = self.bar_length()
        if (
            self.tune.opts["implicit_bars"]
            and self.t > 0
            and full
            and self.t - (self.bars[-1] if self.bars else 0) == full
        ):
            self._bar()

    def _bar(self) -> None:
        if not self.bars or self.bars[-1] != self.t:
            self.bars.append(self.t)

    def barline(self, text: str) -> None:
        is_bar, marks = _barline(text)
        if is_bar:
            self._bar()
            if self.bar_alter:
                self.bar_alter.clear()
        if marks:
            self.marks += [(self.t, m) for m in marks]

    def chord_symbol(self, text: str) -> None:
        """A quoted string: a chord symbol where it reads as one (ABC 2.1, 4.18), else an
        annotation (a fingering, ``D.C.``, a tempo word), kept apart."""
        if _CHORD_SYMBOL.fullmatch(text.strip()):
            self.chord_symbols.append((self.t, text.strip()))
        elif text.strip():
            self.annotations.append((self.t, text.strip()))

    # --- rhythm modifiers ----------------------------------------------------------------------

    def tie(self) -> None:
        if self.tie_from is None:  # after a single note: the note it ties
            _, index, _, pitch, step, octave_no, alter = self.last
            self.tie_from = {pitch: (index, step, octave_no, alter)}
        self.tie_next = True

    def tuplet(self, p: int, q: int | None, r: int | None) -> None:
        if q is None:
            compound = self.meter and self.meter[0] % 3 == 0 and self.meter[0] > 3
            q = {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}.get(p, 3 if compound else 2)
        self.tuplet_left, self.tuplet_ratio = r or p, (q, p)

    def broken(self, n: int, direction: str) -> None:
        """``>`` dots the element before and shortens the next; ``<`` the other way round."""
        if self.last is None:
            raise F.NeedsMusic21("a broken rhythm with nothing before it")
        long, short = (2 ** (n + 1) - 1, 2**n), (1, 2**n)  # 2 - 1/2^n and 1/2^n
        before, after = (long, short) if direction == ">" else (short, long)
        kind, index, start = self.last[:3]
        old = self.t - start
        grow = _scaled(old, *before) - old  # what the element gains (a tied note keeps what it had before)
        for i in {"notes": index, "note": [index], "rest": [index]}.get(kind, []):
            (self.rests if kind == "rest" else self.notes)[i][1] += grow
        self.t += grow
        self.broken_next = after

    def grace(self, text: str) -> None:
        if self.tune.opts["grace"] == "keep":
            for m in _CHORD_NOTE.finditer(text.lstrip("/")):
                self.graces.append(m)

    # --- notes, rests, chords ------------------------------------------------------------------

    def _duration(self, units: Fraction) -> int:
        """Ticks of an element of ``units`` unit lengths, after a pending broken rhythm and tuplet."""
        d = _plain_ticks(units, self.unit)
        return self._modified(d) if self.broken_next or self.tuplet_left else d

    def _modified(self, d: int) -> int:
        """``d`` ticks times the pending broken rhythm and tuplet ratios, which it uses up."""
        num, den = self.broken_next or (1, 1)
        self.broken_next = None
        if self.tuplet_left:
            num, den = num * self.tuplet_ratio[0], den * self.tuplet_ratio[1]
            self.tuplet_left -= 1
        return _scaled(d, num, den)

    def note(self, m) -> None:
        """A note or rest token (``^c'3/2``, ``z2``). What a note's text says by itself (its
        ticks at this L:, its step, octave and pitch before accidentals) is worked out once per
        voice and unit length and looked up after: a tune repeats a few dozen tokens."""
        token = self._tokens.get(m[0])
        if token is None:
            if m[2] in "zxZX":
                self._rest_token(m)
                return
            token = self._tokens[m[0]] = self._token(m)
        d, step, octave_no, where, base, written = token
        if self.broken_next or self.tuplet_left:
            d = self._modified(d)
        start = self.t
        if self.graces:
            self._graces(start + d)
        if self.tie_next:  # a tie to continue: the general way
            group: dict = {}
            acc, letter, octave = m.groups()[:3]
            index = self._sound(acc, letter, octave, self.t, start + d - self.t, group)
        else:  # what _sound does for a note no tie continues, from the looked-up token
            alter = self._alter(step, where, written)
            if not 0 <= base + alter <= 127:
                raise self._outside(m[2], m[3])
            index, pitch = len(self.notes), base + alter
            self.notes.append([self.t, start + d - self.t, pitch])
            self.last, self.t, self.tie_from, self.tie_next = (
                ("note", index, start, pitch, step, octave_no, alter),
                start + d,
                None,
                False,
            )
            return
        self.last, self.t, self.tie_from, self.tie_next = ("notes", [index], start), start + d, group, False

    def _token(self, m) -> tuple:
        """(ticks, step, octave number, where its accidentals are kept, pitch before any
        accidental, its written accidental or None) of a note's text at this unit length."""
        acc, letter, octave, num, slashes, den = m.groups()
        step, octave_no = _WHERE.get((letter, octave)) or _where(letter, octave)
        d = _plain_ticks(length(num, slashes, den), self.unit)
        where = (step, octave_no if self._by_octave else 0)
        written = _ACCIDENTAL[acc] if acc else None
        return d, step, octave_no, where, 12 * (octave_no + 1) + _STEP_PC[step], written

    def _rest_token(self, m) -> None:
        acc, letter, octave, num, slashes, den = m.groups()
        if letter in "ZX":  # multi-bar rest: that many bars of the meter
            if not self.bar_length():
                raise F.NeedsMusic21("a multi-bar rest without a meter")
            self._rest(self.bar_length() * (int(num) if num else 1))
            return
        if acc or octave:
            raise self.tune.fail(f"a rest cannot have an accidental or octave: {m[0]!r}")
        d = _plain_ticks(length(num, slashes, den), self.unit)
        if self.broken_next or self.tuplet_left:
            d = self._modified(d)
        self._rest(d, notated=letter == "z")  # x: an invisible rest, a spacer

    def chord(self, inner: str, outer: str) -> None:
        mult = length(*_LENGTH.match(outer).groups()) if outer else Fraction(1)
        tied = "-" in inner  # a tie inside a chord ([d3-d'3-]) ties it to what follows
        inner = inner.replace("-", "")
        found = list(_CHORD_NOTE.finditer(inner))
        if not found or "".join(m[0] for m in found) != _NOT_NOTES.sub("", inner):
            raise F.NeedsMusic21(f"chord [{inner}]")
        first = length(*found[0].groups()[3:]) * mult
        d = self._duration(first)
        scale, start, group = d / first, self.t, {}
        index = [
            self._sound(m[1], m[2], m[3], start, exact(length(*m.groups()[3:]) * mult * scale), group)
            for m in found
        ]
        self._done(("notes", index, start), start + d, group)
        self.tie_next = tied

    def _done(self, last: tuple, end: Fraction, group: dict) -> None:
        self.last, self.t, self.tie_from, self.tie_next = last, end, group, False

    def _graces(self, until: Fraction) -> None:
        """Kept grace notes take a 32nd each from the start of the note that follows."""
        graces, self.graces = self.graces, []
        for g in graces:
            if self.t + GRACE >= until:
                break
            self._sound(g[1], g[2], g[3], self.t, GRACE, {}, grace=True)
            self.t += GRACE

    def _rest(self, d: Fraction, notated: bool = True) -> None:
        if notated:
            self.rests.append([self.t, d])
            self._done(("rest", len(self.rests) - 1, self.t), self.t + d, {})
        else:
            self._done(("spacer", 0, self.t), self.t + d, {})

    def _alter(self, step: str, where: tuple, written: int | None) -> int:
        """A note's alteration: its written accidental (which then lasts the bar, unless
        accidentals are not carried), else the bar's so far, else the key's."""
        if written is None:
            return self.bar_alter.get(where, self.key_alter.get(step, 0))
        if self._propagate != "not":
            self.bar_alter[where] = written
        return written

    def _outside(self, letter: str, octave: str):
        return self.tune.fail(f"pitch {letter}{octave[:8]}{'...' * (len(octave) > 8)} is outside MIDI 0-127")

    def _sound(self, acc, letter, octave, onset, d, group: dict, grace: bool = False) -> int:
        """One sounding note, or the continuation of a tied one; its index in ``notes``. ``group``
        collects the element's pitches, which a following tie continues."""
        step, octave_no = _WHERE.get((letter, octave)) or _where(letter, octave)
        where = (step, octave_no if self._by_octave else 0)
        tie_next = self.tie_next
        tied = [v for v in self.tie_from.values() if v[1:3] == (step, octave_no)] if tie_next else ()
        if tied and not acc:
            alter = tied[0][3]  # the continuation of a tie keeps its accidental, over the barline too
        else:
            alter = self._alter(step, where, _ACCIDENTAL[acc] if acc else None)
        pitch = 12 * (octave_no + 1) + _STEP_PC[step] + alter  # ABC "C" = C4 = 60
        if not 0 <= pitch <= 127:
            raise self._outside(letter, octave)
        prev = self.tie_from.get(pitch) if tie_next and not grace else None
        if prev is not None and self._merge:
            n = self.notes[prev[0]]
            if n[0] + n[1] == onset:
                n[1] += d
                group[pitch] = prev
                return prev[0]
        self.notes.append([onset, d, pitch])
        if not grace:
            group[pitch] = (len(self.notes) - 1, step, octave_no, alter)
        return len(self.notes) - 1


def _change(changes: list, t: int, value) -> None:
    """Record a meter or key change at tick ``t``: a later field at the same tick (an ``M:`` line
    after ``K:`` and before the first note) replaces the earlier one."""
    if changes and changes[-1][0] == t:
        changes[-1] = (t, value)
    else:
        changes.append((t, value))
