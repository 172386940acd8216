"""A native ABC 2.1 reader for folk tunebooks (O'Neill's, Ryan's, the Essen ABC, folk-rnn's).

Notes with accidentals, octave marks and lengths; rests (``z``, ``x``, multi-bar ``Z``); ties;
broken rhythm (``>``, ``<``, doubled and tripled); tuplets (``(3``, ``(p:q:r``); chords
(``[CEG]``); chord symbols (``meta["chords"]``: ``[tick, text]``) and other quoted text
(``meta["annotations"]``: fingerings, ``D.C.``) kept;
decorations (``.~HLMOPSTuv``, ``!...!``, ``+...+``) and slurs ignored; grace notes dropped or
kept (``grace="keep"``: they take a 32nd each from the note that follows); barlines, repeats,
numbered endings and parts (``P:``) kept as the written form (``Score.form``), or expanded as
played (``form="played"``, :func:`tunelab.form.played`);
inline and mid-tune fields (``[M:]``, ``[K:]``, ``[L:]``, ``[Q:]``, ``[V:]`` and ``M:``, ``K:``,
``L:``, ``Q:``, ``V:`` lines); voices, each a part in time, sounding together; ``%%`` directives
and ``%`` comments ignored. Accidentals last to the end of the bar, for notes of the same letter
and octave (ABC 2.1; ``propagate="pitch"`` or ``%%propagate-accidentals pitch`` for the Essen
way, any octave); a tie carries its accidental over the barline. Keys keep their mode, or None
where ``K:`` names only a tonic; meters are the ``M:`` fields and nothing else: a short first bar
is a pickup, and short bars before a repeat, at a part's end or at the tune's end stay bars of the
written meter. Whatever is beyond this (voice overlay ``&``, macros, symbols redefined as notes)
raises :class:`NeedsMusic21` and the caller reads the tune with music21 and counts it.
"""

from __future__ import annotations

import re
from fractions import Fraction
from itertools import chain
from math import gcd, lcm
from operator import add

from tunelab.errors import ParseError
from tunelab.form import REPEAT_END, REPEAT_START, SECTION, Form, canonical, parse_order, played
from tunelab.io import abc_fields as F
from tunelab.io.abc_fields import NeedsMusic21, key_name
from tunelab.io.abc_voice import TICKS, Voice
from tunelab.io.bars import declared_meter
from tunelab.score import Score

_PROPAGATE = re.compile(r"^%%propagate-accidentals\s+(not|octave|pitch)\b", re.MULTILINE)
_USER_SYMBOL = re.compile(r"\s*\S\s*=\s*[!+][^!+]*[!+]\s*")
_PART_LABEL = re.compile(r"[A-Z](?![A-Za-z])")
_LENGTH = re.compile(r"(\d*)(/*)(\d*)")
_BROKEN = re.compile(r"<+|>+")

TPQ = 480
MAX_QUARTERS = 2**16  # 16,384 bars of 4/4: far beyond any tune, short of what would exhaust memory
_NOTE = re.compile(r"(\^{1,2}|_{1,2}|=)?([A-Ga-gzxZX])([,']*)(\d*)(/*)(\d*)")
_BAR = re.compile(
    r"(:*)(\[\|\]|\[\||\|\]|\|\||\.\||\|)(:*)(\[?\d+(?:[,-]\d+)*)?|(::)|(\[\d+(?:[,-]\d+)*)|:+(?![|\]])"
)
_FIELD_LINE = re.compile(r"^([A-Za-z]):(.*)$")
_INLINE = re.compile(r"\[([A-Za-z]):([^\]]*)\]")
_TUPLET = re.compile(r"\((\d)(?::(\d*))?(?::(\d*))?")
_DECORATION = re.compile(r"![^!\n]*!|\+[^+\n]*\+")
# ABC 2.1, 4.14: . ~ and the letters H-W, h-w (user-definable; those no U: field defines, as
# these tunebooks' bowing marks k, U, V, are ignored by other readers too); y is a spacer
_NOTE_START = set("ABCDEFGabcdefgzxZX^_=")
_SINGLE_DECORATIONS = set(".~yJ`$*") | set("HIJKLMNOPQRSTUVW") | set("hijklmnopqrstuvw")
_BODY_FIELDS = set("KLMPQTVWwNRImUrs")  # the fields a line inside the music may set (ABC 2.1, 3.3)


def parse_abc_tune(
    text: str,
    *,
    source: str = "<string>",
    tune=None,
    ties: str = "merge",
    propagate: str = "octave",
    implicit_bars: bool = True,
    form: str = "written",
    grace: str = "drop",
    bare_key: str | None = "major",
) -> Score:
    """One ABC tune (``X:`` to the blank line) as a Score; NeedsMusic21 if beyond this reader.

    ``ties="keep"`` keeps tied notes as notated. ``propagate``: which later notes of a bar an
    accidental reaches, ``"octave"`` (ABC 2.1), ``"pitch"`` (any octave) or ``"not"``.
    ``implicit_bars``: a line that ends without a barline after exactly one full bar ends that
    bar (the Essen collection writes one phrase a line and leaves that barline out).
    ``form``: ``"written"`` (repeat marks, endings and parts in ``Score.form``) or ``"played"``
    (expanded). ``grace``: ``"drop"`` or ``"keep"``. ``bare_key``: the mode of a ``K:`` that
    names only a tonic: ``"major"`` (ABC 2.1) or None (unknown: the Essen ABC writes ``K:G``
    for G minor too).
    """
    m = _PROPAGATE.search(text) if "%%propagate" in text else None  # a regex over the tune only if it may
    propagate = m[1] if m else propagate
    for name, value, allowed in (("propagate", propagate, ("octave", "pitch", "not")),
                                 ("form", form, ("written", "played")), ("grace", grace, ("drop", "keep"))):  # fmt: skip
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    tune_ = _Tune(source, tune, ties, propagate, implicit_bars, grace)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for lineno, raw in enumerate(lines, 1):
        tune_.line(raw, lineno)
    score = tune_.score(bare_key)
    if form == "played":
        try:
            return played(score)
        except ValueError as err:  # a play order or endings that would play it for ever
            raise ParseError(source, f"cannot be played as written: {err}", tune=tune) from None
    return score


class _Tune:
    """The header, the voices and their music as the lines come."""

    def __init__(self, source, tune, ties, propagate, implicit_bars, grace):
        self.source, self.tune, self.lineno = source, tune, 0
        self.opts = {"ties": ties, "propagate": propagate, "implicit_bars": implicit_bars, "grace": grace}
        self.fields: dict[str, str] = {}
        self.in_body = False
        self.meter: tuple | None = None
        self.meter_given = False
        self.unit: Fraction | None = None
        self.key = ""
        self.voices: dict[str, Voice] = {}
        self.voice: Voice | None = None

    def fail(self, message: str) -> ParseError:
        return ParseError(self.source, message, tune=self.tune, line=self.lineno)

    # --- lines ---------------------------------------------------------------------------------

    def line(self, raw: str, lineno: int) -> None:
        self.lineno = lineno
        if raw.startswith("%%") or not raw.strip():
            return
        line = _strip_comment(raw)
        if not line.strip():
            return
        m = _FIELD_LINE.match(line)
        if m and (not self.in_body or m[1] in _BODY_FIELDS):
            self.field(m[1], m[2].strip(), inline=False)
            return
        if not self.in_body:
            raise self.fail("music before the K: (key) field")
        self.body(line)

    def field(self, name: str, value: str, *, inline: bool) -> None:
        try:
            self._field(name, value, inline)
        except (ValueError, ZeroDivisionError) as err:
            raise self.fail(f"{name}: field {value!r} {err}") from None

    def _field(self, name: str, value: str, inline: bool) -> None:
        if name in "mU" and value:
            if name == "U" and _USER_SYMBOL.fullmatch(value):
                return  # a letter for a decoration: decorations are ignored anyway
            raise NeedsMusic21(f"{name}: field")
        if not self.in_body:
            self.fields.setdefault(name, value)
            if name == "N":
                self.fields["_notes"] = self.fields.get("_notes", "") + value + "\n"
        if name == "M":
            self.meter, self.meter_given = F.meter(value), True
            if self.in_body:
                self.current().set_meter(self.meter)
        elif name == "L":
            self.unit = F.unit_length(value)
            if self.in_body:
                self.current().unit = self.unit
        elif name == "Q" and self.in_body:
            self.current().tempo_changes.append(F.tempo(value))
        elif name == "K":
            if not self.in_body:
                self.in_body, self.key = True, value
                self.unit = self.unit or F.default_unit(self.meter)
            else:
                self.current().set_key(value)
        elif name == "V" and self.in_body:
            self.switch(value.split()[0] if value.split() else "1")
        elif name == "P" and self.in_body and _PART_LABEL.match(value):
            self.current().part(value[0])  # a part label (P:A, P:B.); P:Modern version is text

    def current(self) -> Voice:
        if self.voice is None:
            self.switch("1")
        return self.voice

    def switch(self, name: str) -> None:
        if name not in self.voices:
            first = next(iter(self.voices.values()), None)
            v = Voice(self, self.key, self.meter, self.unit)
            if first is not None:  # a later voice inherits what changed in the first one's header
                v.unit, v.meter = first.unit, first.meter
            self.voices[name] = v
        self.voice = self.voices[name]

    def body(self, line: str) -> None:
        voice = self.current()
        voice.new_line()
        pos, n = 0, len(line)
        note, starts, bar = _NOTE.match, _NOTE_START, _BAR.match
        while pos < n:
            c = line[pos]
            if c in starts:  # most elements are notes and barlines: read them here, without a call
                m = note(line, pos)
                if m is not None:  # a match holds a letter: never empty
                    voice.note(m)
                    pos = m.end()
                    continue
            elif c in " \t\\":
                pos += 1
                continue
            elif c in "|:" and (m := bar(line, pos)):
                voice.barline(m[0])
                pos = m.end()
                continue
            if c == "[" and (m := _INLINE.match(line, pos)):
                self.field(m[1], m[2].strip(), inline=True)
                voice = self.current()  # [V:] switches the voice
                pos = m.end()
                continue
            pos = self._element(line, pos, voice)

    def _element(self, line: str, pos: int, v) -> int:
        """Read the element at ``pos`` into voice ``v``; the position after it."""
        c = line[pos]
        if c in _NOTE_START:  # most elements are notes: tried first
            m = _NOTE.match(line, pos)
            if m and m.end() > pos:
                v.note(m)
                return m.end()
        m = _BAR.match(line, pos)
        if m and m.end() > pos:
            v.barline(m[0])
            return m.end()
        if c in '"{[':  # a chord symbol or annotation, grace notes, a chord
            close = {'"': '"', "{": "}", "[": "]"}[c]
            end = line.find(close, pos + 1)
            if end < 0:
                what = {
                    '"': "a chord symbol or annotation that is",
                    "{": "grace notes that are",
                    "[": "a chord that is",
                }
                raise self.fail(f"{what[c]} never closed")
            inner = line[pos + 1 : end]
            if c == "[":
                m = _LENGTH.match(line, end + 1)
                v.chord(inner, m[0])
                return m.end()
            if c == "{":
                v.grace(inner)
            elif inner and inner[0] not in "^_<>@":  # an annotation ("^text") is not a chord symbol
                v.chord_symbol(inner)
            return end + 1
        m = _DECORATION.match(line, pos)
        if m:
            return m.end()
        if c in _SINGLE_DECORATIONS or c in "!)":  # !: an old-style line break; ): a slur's end
            return pos + 1
        if c == "(":
            m = _TUPLET.match(line, pos)
            if not m:
                return pos + 1  # a slur
            v.tuplet(int(m[1]), int(m[2]) if m[2] else None, int(m[3]) if m[3] else None)
            return m.end()
        if c == "-":
            v.tie()
            return pos + 1
        if c in "<>":
            run = _BROKEN.match(line, pos)[0]
            v.broken(len(run), c)
            return pos + len(run)
        m = _NOTE.match(line, pos)
        if m and m.end() > pos:
            v.note(m)
            return m.end()
        if c in "^_=":  # an accidental before no note (a slip): skip it
            return pos + 1
        raise NeedsMusic21(
            f"line {self.lineno}: " + ("voice overlay" if c == "&" else f"unexpected {c!r} in the music")
        )

    # --- the Score -----------------------------------------------------------------------------

    def score(self, bare_key: str | None) -> Score:
        if not self.in_body:
            raise ParseError(self.source, "tune has no K: (key) field", tune=self.tune)
        voices = [v for v in self.voices.values() if v.notes or v.rests]
        if not voices:
            raise ParseError(self.source, "tune has no notes", tune=self.tune)
        first = voices[0]
        # plain Python until the arrays are built: a tune is about a hundred notes, where each numpy
        # call costs more than the loop it saves (most of all right after another reader ran)
        notes = [n for v in voices for n in v.notes]
        onset, duration, pitch = (list(c) for c in zip(*notes)) if notes else ([], [], [])
        rests = first.rests
        end = max(map(add, onset, duration), default=0)
        for v in voices:  # a voice's cursor is past its rests, not always past its chords' longer notes
            end = max(end, v.t)
        if end > MAX_QUARTERS * TICKS:
            raise ParseError(self.source, f"the music lasts {end / TICKS:,.0f} quarter notes, more than the "
                             f"{MAX_QUARTERS:,} a tune may (a length typo?)", tune=self.tune)  # fmt: skip
        # ticks a quarter that hold every time of the tune exactly: 480, times what tuplets need (a
        # triplet of 16ths in a 6/8 tune needs 3 more); at most TICKS (480 x 2,520), a divisor of it
        tpq = lcm(TPQ, TICKS // gcd(TICKS, end, *onset, *duration, *chain.from_iterable(rests)))
        per = TICKS // tpq  # every time of the tune is a whole number of ``per``

        def tick(t: int) -> int:
            return t // per

        onset, duration = [o // per for o in onset], [d // per for d in duration]
        rests = [[o // per, d // per] for o, d in rests]  # (the Score makes the array: one numpy call)
        meters = [(tick(t), *(m or (None, None))) for t, m in first.meters]
        tss, pickup = declared_meter(meters, [tick(b) for b in first.bars], tick(end), tpq)
        keys = [(tick(t), *key_name(k)) for t, k in first.keys]
        keys = [(t, tonic, mode or bare_key) for t, tonic, mode in keys if tonic is not None]
        meta = {"source": self.source, "declared_meter": any(m[1] is not None for m in meters)}
        if self.tune is not None:
            meta["tune"] = self.tune
        for field, key in (("T", "title"), ("R", "rhythm"), ("B", "book"), ("C", "composer")):
            if field in self.fields:
                meta[key] = self.fields[field]
        if "_notes" in self.fields and self.fields["_notes"].split():
            meta["essen_id"] = self.fields["_notes"].split()[0]
        meta["barlines"], meta["barlines_tpq"] = [tick(b) for b in first.bars], tpq  # as written
        if first.chord_symbols:
            meta["chords"] = [[tick(t), text] for t, text in first.chord_symbols]
        if first.annotations:
            meta["annotations"] = [[tick(t), text] for t, text in first.annotations]
        if len(voices) > 1:
            meta["voices"] = len(voices)
        return Score(
            onset, duration, pitch, tpq=tpq, time_signatures=tss, keys=keys, pickup=pickup,
            end=tick(end), tempo=F.tempo(self.fields.get("Q", "")),
            rests=rests, form=self._form(first, tick, end), meta=meta,
        )  # fmt: skip

    def _form(self, voice: Voice, tick, end: int) -> Form | None:
        """The first voice's marks (a section bar at the start or the end is only a barline) and
        the header's order of parts; ``end`` in reading ticks, ``tick`` makes the Score's."""
        if not voice.marks and "P" not in self.fields:
            return None
        # a repeat sign is a section bar
        repeats = {t for t, m in voice.marks if m in (REPEAT_END, REPEAT_START)}
        marks: list[tuple] = []
        for t, m in voice.marks:
            if m == SECTION and (t == 0 or t == end or t in repeats):
                continue
            # a repeat or an ending that starts where the piece ends opens nothing ("|:|" or "[|]:" as
            # the last barline): played as abc2midi plays it, and written back as the barline it is
            if t == end and (m == REPEAT_START or m.startswith("[")):
                continue
            if not marks or marks[-1] != (tick(t), m):
                marks.append((tick(t), m))
        order = self.fields.get("P", "").strip() or None
        if order is not None:
            try:
                parse_order(order)
            except ValueError:  # a header P: that is text, not a play order: the parts play as written
                order = None
        form = Form(canonical(marks), order)
        return form or None


def _strip_comment(line: str) -> str:
    """The line without its ``%`` comment (``\\%`` is a percent sign in text)."""
    if "%" not in line:
        return line.rstrip()
    out, i = [], 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line) and line[i + 1] == "%":
            out.append("%")
            i += 2
            continue
        if line[i] == "%":
            break
        out.append(line[i])
        i += 1
    return "".join(out).rstrip()
