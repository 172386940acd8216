"""Writing ABC 2.1: a Score as one tune (``X:`` ... ), or many as a tunebook.

Header: X, T, M (the first meter), L (1/16 below 3/4, else 1/8, as ABC's default), Q, P (the
written form's order of parts), K (tonic and mode as the Score has them: ``K:Gmaj``, ``K:Em``;
``K:G`` for a tonic whose mode is not known, which ABC 2.1 readers take for major). Bars follow
the source's barlines where the reader kept them, else the Score's meter and pickup; a note
across a barline is split and tied; meter changes are inline fields at their bar, key changes
``K:`` lines where they happen. The written form's marks become its barlines (``|:``, ``:|``,
``::``, ``||``, endings ``|1`` and ``:|[2,4``) and ``P:`` lines; chord symbols (``meta["chords"]``)
are written before the note they sound with (a note they fall inside is split and tied there).
Notes shorter than a quarter are beamed within a beat (a dotted quarter in 6/8, 9/8, 12/8). Notes
that start and end together are a chord, other overlaps go to further voices (``V:``). Rests are
the notated ones where the Score keeps them, else the gaps. Accidentals are written wherever a
note leaves the key signature (and where it returns to it after an accidental in the bar), so
readers agree whether or not they carry an accidental to the barline as ABC 2.1 says. Lengths
are whole or fractional multiples of L; three notes in the time of two are a triplet ``(3``
where their lengths need it. Reading the text back gives the same Score, and music21 reads the
same notes (tests/io/test_abc_write.py).
"""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise

from tunelab.io.bars import notated_bars
from tunelab.io.keys import signature_sharps
from tunelab.score import Score

_NAMES_SHARP = ["C", "^C", "D", "^D", "E", "F", "^F", "G", "^G", "A", "^A", "B"]
_NAMES_FLAT = ["C", "_D", "D", "_E", "E", "F", "_G", "G", "_A", "A", "_B", "B"]
_MODE_WORD = {"major": "maj", "minor": "m", "dorian": "dor", "phrygian": "phr", "lydian": "lyd",
              "mixolydian": "mix", "locrian": "loc"}  # fmt: skip
_STEP = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def write_abc(scores, path, *, titles=None, first: int = 1, explicit_repeats: bool = False) -> None:
    """Write one Score, or several as a tunebook (X: first, first + 1, ...), to ``path``
    (``explicit_repeats``: a ``|:`` wherever a repeat's start is only implied)."""
    from tunelab.io.atomic import atomic_write_text

    scores = [scores] if isinstance(scores, Score) else list(scores)
    titles = titles or [None] * len(scores)
    atomic_write_text(
        path,
        "\n".join(
            abc_text(s, number=first + i, title=t, explicit_repeats=explicit_repeats)
            for i, (s, t) in enumerate(zip(scores, titles))
        ),
    )


def abc_text(
    score: Score, *, number: int = 1, title: str | None = None, explicit_repeats: bool = False
) -> str:
    """One tune as ABC text (``explicit_repeats``: every repeat's ``|:`` written, also where the
    form only implies it; :func:`tunelab.form.with_repeat_starts`)."""
    if explicit_repeats and score.form:
        from tunelab.form import with_repeat_starts

        score = score.replace(form=with_repeat_starts(score.form))
    meter = score.meter_at(0)
    unit = Fraction(1, 16) if Fraction(*meter) < Fraction(3, 4) else Fraction(1, 8)
    key = score.keys[0] if score.keys and score.keys[0][0] == 0 else None
    head = [f"X:{number}", f"T:{_one_line(title or score.meta.get('title') or f'tune {number}')}"]
    head += [f"M:{meter[0]}/{meter[1]}" if score.time_signatures else "M:none", f"L:{unit}"]
    if score.tempo:
        head.append(f"Q:1/4={score.tempo:g}")
    if score.form and score.form.order:
        head.append(f"P:{score.form.order}")
    head.append(f"K:{_key_field(key)}")
    voices = _voices(score)
    body = []
    for v, notes in enumerate(voices):
        if len(voices) > 1:
            body.append(f"V:{v + 1}")
        # further voices: their silences are plain rests (the reader keeps the first voice's rests
        # only; music21 10.5 reads an invisible x rest as taking no time)
        rests = _rests(score, notes) if v == 0 else [(o, d, "z") for o, d in _gaps(notes, score.end)]
        body += _Writer(score, unit, marks=v == 0).lines(notes, rests)
    return "\n".join(head + body) + "\n"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _key_field(key) -> str:
    if key is None:
        return "none"
    _, tonic, mode = key
    return tonic + (_MODE_WORD.get(mode, "") if mode else "")


def _signature(key) -> dict[str, int]:
    """step letter -> alteration of the key signature (a tonic without mode: its major's)."""
    if key is None:
        return {}
    sharps = signature_sharps(key[1], key[2])
    order = "FCGDAEB"[:sharps] if sharps >= 0 else "BEADGCF"[:-sharps]
    return dict.fromkeys(order, 1 if sharps >= 0 else -1)


def _voices(score: Score) -> list[list[tuple]]:
    """Notes grouped into voices: each voice a sequence of chords ``(onset, duration,
    [(pitch, duration)])`` that never overlap. Notes that start and end together are one chord;
    notes of other lengths sounding with them go to further voices (ABC 2.1 gives a chord the
    length of its first note, and music21 and abc2midi sound all its notes that long)."""
    chords: dict[tuple, list] = {}
    for o, d, p, _ in score.notes():
        chords.setdefault((o, d), []).append((p, d))
    voices: list[list] = []
    for (o, d), notes in sorted(chords.items(), key=lambda c: (c[0][0], -c[0][1])):
        for v in voices:
            if v[-1][0] + v[-1][1] <= o:
                v.append((o, d, sorted(notes)))
                break
        else:
            voices.append([(o, d, sorted(notes))])
    return voices or [[]]


def _rests(score: Score, notes: list) -> list[tuple]:
    """The notated rests where the Score keeps them, else the gaps between the voice's notes."""
    if score.rests is None:  # a format without notated rests: the gaps are rests
        return [(o, d, "z") for o, d in _gaps(notes, score.end)]
    written = [(int(o), int(d), "z") for o, d in score.rests]
    filled = sorted(notes + [(o, d, None) for o, d, _ in written])
    return written + [(o, d, "x") for o, d in _gaps(filled, score.end)]  # spacers, not rests


def _gaps(notes: list, end: int) -> list[tuple]:
    out, t = [], 0
    for o, d, _ in notes:
        if o > t:
            out.append((t, o - t))
        t = max(t, o + d)
    if end > t:
        out.append((t, end - t))
    return out


class _Writer:
    """One voice's body: events split at barlines, bars of ABC text, four bars a line; the first
    voice carries the form's marks and the chord symbols."""

    def __init__(self, score: Score, unit: Fraction, *, marks: bool = True):
        self.score, self.unit = score, unit
        self.key = next((k for k in score.keys if k[0] == 0), None)
        self._set_key(self.key)
        self.marks: dict[int, list[str]] = {}
        if marks and score.form:
            for t, m in score.form.marks:
                self.marks.setdefault(t, []).append(m)
        self.chords: dict[int, str] = {}
        if marks:
            for t, text in score.meta.get("chords", []):
                if 0 <= t < score.end and str(text).strip():
                    self.chords[int(t)] = self.chords.get(int(t), "") + str(text).replace('"', "'")
        self.beats = set(score.beat_starts().tolist())

    def _set_key(self, key) -> None:
        self.signature, self.bar_alter = _signature(key), {}
        self.sharps = signature_sharps(key[1], key[2]) >= 0 if key else True
        self.tonic_pc = (_STEP.get(key[1][0], 0) + {"#": 1, "b": -1}.get(key[1][1:], 0)) % 12 if key else 0

    def bars(self) -> list[int]:
        """The source's barlines where the reader kept them (a bar the meter does not explain
        stays as written), else the Score's bars; every form mark is a barline."""
        return notated_bars(self.score)

    def lines(self, notes: list, rests: list) -> list[str]:
        s = self.score
        events = sorted(
            [(o, d, ps) for o, d, ps in notes] + [(o, d, letter) for o, d, letter in rests],
            key=lambda e: e[0],
        )
        bars = self.bars()
        keys = [(t, k) for t, *k in s.keys if t > 0]
        meters = {t: (n, d) for t, n, d in s.time_signatures if t > 0}
        out, line = [], []
        parts = [m for m in self.marks.get(0, []) if m.startswith("P:")]
        if parts:
            out.append(parts[0])
        opening = self._barline(self.marks.get(0, []), opening=True)
        if opening:
            line.append(opening)
        for i, (a, b) in enumerate(pairwise(bars)):
            prefix = f"[M:{meters[a][0]}/{meters[a][1]}]" if a in meters else ""
            self.bar_alter = {}
            line.append(prefix + self._bar(events, a, b, [k for k in keys if a <= k[0] < b]))
            last = i == len(bars) - 2
            marks = self.marks.get(b, [])
            part = [m for m in marks if m.startswith("P:")] if not last else []
            if part:  # the part's own marks open its first line, after the P: field
                before = [m for m in marks if m in (":|", "||")] or ["||"]
                out += [" ".join([*line, self._barline(before, final=False)]), part[0]]
                opening = self._barline([m for m in marks if m not in before], opening=True)
                line = [opening] if opening else []
                continue
            line.append(self._barline(marks, final=last))
            if len([x for x in line if x.strip("|:[]0123456789,")]) >= 4 and not last:  # four bars a line
                out.append(" ".join(line))
                line = []
        if line:
            out.append(" ".join(line))
        return [x.strip() for text in out for x in text.split("\n") if x.strip()]

    @staticmethod
    def _barline(marks: list, *, opening: bool = False, final: bool = False) -> str:
        """The barline text of a bar's marks: repeat signs, a section bar, an ending's start."""
        end, start = ":|" in marks, "|:" in marks
        if opening:
            text = "|:" if start else ""
            endings = [m for m in marks if m.startswith("[")]
            return text + (f"[{endings[-1][1:]}" if endings else "")
        elif end and start:
            text = "::"
        elif end:
            text = ":|"
        elif start:
            text = "|:" if not final else "|]"
        elif "||" in marks:
            text = "||"
        else:
            text = "|]" if final else "|"
        endings = [m for m in marks if m.startswith("[")]
        if endings and not final:
            numbers = endings[-1][1:]
            text += numbers if ("," not in numbers and text not in ("", "::")) else f"[{numbers}"
        return text

    def _bar(self, events: list, a: int, b: int, keys: list) -> str:
        """The events (and parts of events) inside [a, b), notes tied across the edges; a key
        change inside the bar is written where it happens."""
        parts = []
        cuts = sorted(t for t in self.chords if a < t < b)
        for o, d, ps in events:
            lo, hi = max(o, a), min(o + d, b)
            edges = [lo, *(t for t in cuts if lo < t < hi), hi]  # a chord symbol inside: split, tied
            for x, y in pairwise(edges):
                if x < y:
                    parts.append((x, y - x, ps, isinstance(ps, list) and (y < hi or o + d > b)))
        if not keys:
            return self._group(parts)
        inside = self._inside_triplets(parts)  # a key change waits for the end of a triplet
        text, rest = [], parts
        for t, (tonic, mode) in keys:
            t = min([x[0] for x in parts if x[0] >= t and x[0] not in inside] + [b])
            before = [x for x in rest if x[0] < t]
            rest = [x for x in rest if x[0] >= t]
            text.append(self._group(before))
            self.key = (t, tonic, mode)
            self._set_key(self.key)
            text.append(f"\nK:{_key_field(self.key)}\n")  # a field line: music21 ignores an inline [K:]
        text.append(self._group(rest))
        return " ".join(x for x in text if x)

    def _inside_triplets(self, parts: list) -> set[int]:
        """Onsets of the parts that are the second or third note of a triplet (``_group``'s rule)."""
        tpq = self.score.tpq
        units = [Fraction(d, tpq * 4) / self.unit for _, d, _, _ in parts]
        out, i = set(), 0
        while i < len(parts):
            triple = units[i : i + 3]
            if (
                units[i].denominator % 3 == 0
                and len(triple) == 3
                and all((u * 3 / 2).denominator % 3 for u in triple)
            ):
                out |= {parts[i + 1][0], parts[i + 2][0]}
                i += 3
                continue
            i += 1
        return out

    def _group(self, parts: list) -> str:
        """Text of a bar's parts, with triplets where three parts need them, and beams: notes
        shorter than a quarter that share a beat are written together."""
        tpq = self.score.tpq
        units = [Fraction(d, tpq * 4) / self.unit for _, d, _, _ in parts]
        out, i = [], 0  # (text, onset, beamable)
        while i < len(parts):
            if units[i].denominator % 3 == 0 and i + 3 <= len(parts):
                scaled = [u * Fraction(3, 2) for u in units[i : i + 3]]
                if all(x.denominator % 3 for x in scaled):
                    text = "(3" + "".join(self._event(parts[j], scaled[j - i]) for j in range(i, i + 3))
                    out.append((text, parts[i][0], False))
                    i += 3
                    continue
            short = not isinstance(parts[i][2], str) and parts[i][1] < tpq and parts[i][0] not in self.chords
            out.append((self._event(parts[i], units[i]), parts[i][0], short))
            i += 1
        text = ""
        for k, (piece, onset, short) in enumerate(out):
            beamed = k and short and out[k - 1][2] and onset not in self.beats
            text += ("" if beamed or not k else " ") + piece
        return text

    def _event(self, part, units: Fraction) -> str:
        onset, _, pitches, tied = part
        chord = f'"{self.chords[onset]}"' if onset in self.chords else ""
        return chord + self._sounds(pitches, units, tied)

    def _sounds(self, pitches, units: Fraction, tied: bool) -> str:
        if isinstance(pitches, str):  # a rest: z, or x (invisible) in a further voice
            return pitches + _length(units)
        if len(pitches) == 1:
            return self._pitch(pitches[0][0]) + _length(units) + ("-" if tied else "")
        return (
            "[" + "".join(self._pitch(p) for p, _ in pitches) + "]" + _length(units) + ("-" if tied else "")
        )

    def _pitch(self, pitch: int) -> str:
        """The note's name with the accidental the key and the bar so far need."""
        pc = pitch % 12
        sharps = self.sharps or pc == (self.tonic_pc - 1) % 12  # a raised leading tone: F# in G minor
        name = (_NAMES_SHARP if sharps else _NAMES_FLAT)[pc]
        for letter, alter in self.signature.items():  # the key's own spelling first (F# in G, Bb in F)
            if (_STEP[letter] + alter) % 12 == pc:
                name = ("^" if alter > 0 else "_") + letter if alter else letter
                break
        letter, alter = name[-1], {"^": 1, "_": -1}.get(name[0], 0)
        octave = (pitch - _STEP[letter] - alter) // 12 - 1  # B#3 is C4's pitch, Cb5 is B4's
        # an accidental wherever the note leaves the key signature, or the bar has left it before:
        # ABC 2.1 would carry ^F on to the next F of the bar, music21 10.5 would not; written out,
        # every reader agrees
        # (also where the bar altered the letter in another octave: readers that carry an
        # accidental to every octave, as Essen ABC wants, then agree too)
        key = self.signature.get(letter, 0)
        state = self.bar_alter.get((letter, octave), key)
        other = self.bar_alter.get(letter, key)  # the letter's last alteration in any octave
        plain = alter == key == state == other
        acc = "" if plain else {1: "^", -1: "_", 0: "=", 2: "^^", -2: "__"}[alter]
        self.bar_alter[(letter, octave)] = self.bar_alter[letter] = alter
        if octave >= 5:
            text = letter.lower() + "'" * (octave - 5)
        else:
            text = letter + "," * (4 - octave)
        return acc + text


def _length(units: Fraction) -> str:
    """An ABC length suffix: '' for 1, '2', '/2', '3/2', '/4', '5/3'..."""
    if units == 1:
        return ""
    if units.denominator == 1:
        return str(units.numerator)
    return (str(units.numerator) if units.numerator != 1 else "") + f"/{units.denominator}"
