"""Score <-> music21 streams: the path for ABC, MusicXML and kern beyond the native reader.

music21 is heavy (about 1 s to import, 30-45 ms to parse a folk tune), so it is imported here
only, inside the functions. Bars come from music21's measures and go through the same
:func:`~tunelab.io.bars.meter_from_barlines` as the native kern reader, so both readers give a
tune the same bars, meters and pickup.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from pathlib import Path

import numpy as np

from tunelab.errors import MissingDependency, ParseError
from tunelab.io.bars import declared_meter, meter_from_barlines, notated_bars
from tunelab.io.keys import MAJOR_BY_SHARPS
from tunelab.score import Score, normalize_changes

TPQ = 480


def music21():
    """Import music21 or say how to get it."""
    try:
        import music21 as m21
    except ImportError:  # pragma: no cover - music21 is a core dependency
        raise MissingDependency("music21", "reading ABC, kern and MusicXML") from None
    return m21


def parse_with_music21(path, *, ties: str = "merge", fmt: str | None = None) -> Score:
    """Parse a file with music21 and convert it; ParseError names the file on failure."""
    m21 = music21()
    try:
        stream = m21.converter.parse(str(path), format=fmt, forceSource=True)
    except Exception as e:  # music21 raises many exception types with varied messages
        raise ParseError(path, f"music21 could not parse it ({_one_line(e)})") from None
    return from_music21(stream, source=str(path), ties=ties)


def parse_data_with_music21(
    text: str, fmt: str, *, source: str, tune=None, ties: str = "merge", meters: str = "barlines"
) -> Score:
    """Parse text (one ABC tune, say) with music21 and convert it (``meters`` as in
    :func:`from_music21`)."""
    m21 = music21()
    try:
        stream = m21.converter.parseData(text, format=fmt)
    except Exception as e:
        raise ParseError(source, f"music21 could not parse it ({_one_line(e)})", tune=tune) from None
    return from_music21(stream, source=source, ties=ties, tune=tune, meters=meters)


def read_part(path, part: int, *, ties: str = "merge") -> Score:
    """One part of a score file music21 reads (a chorale's soprano: part 0)."""
    m21 = music21()
    try:
        stream = m21.converter.parse(str(path))
    except Exception as e:
        raise ParseError(path, f"music21 could not parse it ({_one_line(e)})") from None
    parts = list(stream.parts) if hasattr(stream, "parts") else []
    if part >= len(parts):
        raise ParseError(path, f"has {len(parts)} parts, no part {part + 1}")
    score = from_music21(parts[part], source=str(path), ties=ties)
    if not score.keys:  # the key is the score's, written in its first part alone at times
        found = list(stream.recurse().getElementsByClass(m21.key.KeySignature))
        if found:
            score = score.replace(keys=_keys(stream, score.tpq, m21)[:1])
    return score


def from_music21(
    stream, *, source: str = "", ties: str = "merge", tune=None, meters: str = "barlines"
) -> Score:
    """Convert a music21 Score/Part/Stream into a Score (all parts merged; rests kept for one part).

    ``meters``: ``"barlines"`` reads a bar's meter off its barlines where the written meter does
    not fit it (kern and MusicXML, as the native kern reader); ``"declared"`` keeps the written
    meters only (ABC, whose short bars before a repeat are bars, not meter changes)."""
    m21 = music21()
    if isinstance(stream, m21.stream.Opus):
        if not stream.scores:
            raise ParseError(source, "no tune in the file", tune=tune)
        stream = stream.scores[0]
    parts = list(stream.parts) if hasattr(stream, "parts") and stream.parts else [stream]
    notes, rests = [], []
    for part in parts:
        pn, pr = _part_events(part, m21, ties == "merge")
        notes += pn
        rests += pr
    if not notes and not rests:
        raise ParseError(source, "no notes", tune=tune)
    first = parts[0]
    end = Fraction(stream.highestTime).limit_denominator(10_000)
    meter_rule, meters, bars = meters, [], []
    for m in first.getElementsByClass(m21.stream.Measure):
        bars.append(Fraction(m.offset).limit_denominator(10_000))
    for ts in first.recurse().getElementsByClass(m21.meter.TimeSignature):
        t = Fraction(ts.getOffsetInHierarchy(first)).limit_denominator(10_000)
        den_ok = ts.denominator > 0 and not ts.denominator & (ts.denominator - 1)
        meters.append((t, ts.numerator, ts.denominator) if den_ok else (t, None, None))
    has_meter = bool(meters) and meters[0][0] == 0
    if not meters:
        meters = [(Fraction(0), None, None)]
    times = [x for n in notes for x in n[:2]] + [x for r in rests for x in r] + [end] + bars
    tpq = TPQ
    for t in times:
        tpq = math.lcm(tpq, Fraction(t).denominator)
    if tpq > TPQ * 64:
        raise ParseError(source, "durations finer than the tick grid", tune=tune)
    written = meters
    form = _read_form(first, tpq, int(end * tpq), m21)
    marked = (
        [(int(t * tpq), n, d) for t, n, d in written],
        [int(b * tpq) for b in bars[1:]],
        int(end * tpq),
        tpq,
    )
    if meter_rule == "declared":
        tss, pickup = declared_meter(*marked)
    else:
        tss, pickup = meter_from_barlines(*marked, sections={t for t, _ in form.marks} if form else ())
    keys = _keys(first, tpq, m21)
    tempo = None
    marks = list(stream.recurse().getElementsByClass(m21.tempo.MetronomeMark))
    if marks and marks[0].getQuarterBPM():
        tempo = float(marks[0].getQuarterBPM())
    arr = np.array([[int(o * tpq), int(d * tpq), p, v] for o, d, p, v in notes], dtype=np.int64).reshape(
        -1, 4
    )
    rest_arr = np.array([[int(o * tpq), int(d * tpq)] for o, d in rests], dtype=np.int64).reshape(-1, 2)
    meta = {"source": source, **({"tune": tune} if tune is not None else {}), "declared_meter": has_meter}
    if stream.metadata is not None and stream.metadata.title:
        meta["title"] = stream.metadata.title
    return Score(
        arr[:, 0],
        arr[:, 1],
        arr[:, 2],
        arr[:, 3],
        tpq=tpq,
        time_signatures=tss,
        keys=normalize_changes(keys),
        pickup=pickup,
        end=int(end * tpq),
        tempo=tempo,
        rests=rest_arr if len(parts) == 1 else None,
        form=form,
        meta=meta,
    )


def _keys(part, tpq: int, m21) -> list[tuple]:
    """``(tick, tonic, mode)`` of every key in the part (a signature alone: mode unknown)."""
    keys = []
    for k in part.recurse().getElementsByClass(m21.key.KeySignature):
        t = int(Fraction(k.getOffsetInHierarchy(part)).limit_denominator(10_000) * tpq)
        if isinstance(k, m21.key.Key):
            keys.append((t, k.tonic.name.replace("-", "b"), k.mode))
        elif k.sharps in MAJOR_BY_SHARPS:  # a signature alone (no <mode>): kept, mode unknown
            keys.append((t, MAJOR_BY_SHARPS[k.sharps], None))
    return keys


def _part_events(part, m21, merge_ties: bool):
    """Notes ``(onset, duration, pitch, velocity)`` and rests ``(onset, duration)`` in quarters."""
    notes, rests = [], []
    open_ties: dict[int, int] = {}  # pitch -> index in notes of a note whose tie is open
    for el in part.flatten().notesAndRests:
        dur = Fraction(el.duration.quarterLength).limit_denominator(10_000)
        if dur <= 0:
            continue  # grace notes take no time
        onset = Fraction(el.offset).limit_denominator(10_000)
        if el.isRest:
            rests.append((onset, dur))
            continue
        tie = el.tie.type if getattr(el, "tie", None) is not None else None
        for p in getattr(el, "pitches", ()):
            midi = round(p.ps)
            if not 0 <= midi <= 127:
                continue
            vel = el.volume.velocity if el.volume.velocity else 80
            j = open_ties.get(midi)
            if (
                merge_ties
                and j is not None
                and tie in ("stop", "continue")
                and notes[j][0] + notes[j][1] == onset
            ):
                notes[j][1] += dur
                if tie == "stop":
                    del open_ties[midi]
                continue
            notes.append([onset, dur, midi, int(vel)])
            if tie == "start":
                open_ties[midi] = len(notes) - 1
    return notes, rests


def to_music21(score: Score):
    """A music21 Score with real measures (pickup as a short first measure), one part per voice;
    the written form's repeats, endings and part labels (as rehearsal marks) on the first part."""
    m21 = music21()
    out = m21.stream.Score()
    if score.meta.get("title"):
        out.insert(0, m21.metadata.Metadata(title=str(score.meta["title"])))
    bars = notated_bars(score)
    for voice in _voices(score):
        part = m21.stream.Part()
        for i, (a, b) in enumerate(itertools.pairwise(bars)):
            measure = m21.stream.Measure(number=i if score.pickup else i + 1)
            num, den = score.meter_at(a)
            if i == 0 or (a, num, den) in score.time_signatures or score.meter_at(bars[i - 1]) != (num, den):
                measure.timeSignature = m21.meter.TimeSignature(f"{num}/{den}")
            for t, tonic, mode in score.keys:
                if a <= t < b:
                    spelled = tonic.replace("b", "-") if len(tonic) > 1 else tonic
                    sign = (
                        m21.key.Key(spelled, mode)
                        if mode
                        else m21.key.KeySignature(m21.key.Key(spelled).sharps)
                    )
                    measure.insert((t - a) / score.tpq, sign)  # a signature alone where the mode is unknown
            short = score.bar_length(num, den) - (b - a)
            if i == 0 and score.pickup:
                measure.paddingLeft = short / score.tpq
            elif short > 0 and i < len(bars) - 2:  # a short bar as written (before a repeat): not filled
                measure.paddingRight = short / score.tpq
            _fill_measure(measure, voice, a, b, score.tpq, m21)
            part.append(measure)
        first = part.getElementsByClass("Measure")[0]
        first.insert(0, m21.clef.bestClef(part, recurse=True))  # treble or bass by the notes' range
        if score.form and not out.parts:
            _write_form(part, score, bars, m21)
        part.makeAccidentals(inPlace=True)  # shown against the key signature, as engravers expect
        out.insert(0, part)
    if score.tempo:
        out.parts[0].measure(out.parts[0].getElementsByClass("Measure")[0].number).insert(
            0, m21.tempo.MetronomeMark(number=score.tempo)
        )
    return out


def _write_form(part, score: Score, bars: list[int], m21) -> None:
    """Repeat barlines, double bars, ending brackets and part labels at the measures they mark."""
    measures = list(part.getElementsByClass("Measure"))
    at = {a: m for a, m in zip(bars, measures)}
    ends = {b: m for b, m in zip(bars[1:], measures)}
    ending = None  # (first measure index, passes) of the ending open now
    closing = []

    def close(upto: int) -> None:
        nonlocal ending
        if ending is not None and upto > ending[0]:
            closing.append((measures[ending[0] : upto], ending[1]))
        ending = None

    index = {a: i for i, a in enumerate(bars[:-1])}
    for t, m in score.form.marks:
        if m == ":|" and t in ends:
            ends[t].rightBarline = m21.bar.Repeat(direction="end")
            close(index.get(t, len(measures)))
        elif m == "||" and t in ends:
            ends[t].rightBarline = m21.bar.Barline("double")
            close(index.get(t, len(measures)))
        elif m == "|:" and t in at:
            at[t].leftBarline = m21.bar.Repeat(direction="start")
            close(index[t])
        elif m.startswith("P:") and t in at:
            at[t].insert(0, m21.expressions.RehearsalMark(m[2:]))
            close(index[t])
        elif m.startswith("[") and t in at:
            close(index[t])
            ending = (index[t], m[1:].replace(",", ", "))
    close(len(measures))
    for spanned, number in closing:
        part.insert(0, m21.spanner.RepeatBracket(spanned, number=number))


def _read_form(first, tpq: int, end: int, m21):
    """The written form a music21 part notates: repeat barlines, double bars inside the piece,
    ending brackets and rehearsal-mark part labels (A-Z)."""
    from tunelab.form import Form, canonical, ending

    marks = []
    for m in first.getElementsByClass(m21.stream.Measure):
        a = int(Fraction(m.offset).limit_denominator(10_000) * tpq)
        b = a + int(Fraction(m.duration.quarterLength).limit_denominator(10_000) * tpq)
        for r in m.getElementsByClass(m21.expressions.RehearsalMark):
            if str(r.content).strip()[:1].isupper() and len(str(r.content).strip()) == 1:
                marks.append((a, "P:" + str(r.content).strip()))
        if isinstance(m.leftBarline, m21.bar.Repeat):
            marks.append((a, "|:"))
        if isinstance(m.rightBarline, m21.bar.Repeat) and m.rightBarline.direction == "end":
            marks.append((b, ":|"))
        elif m.rightBarline is not None and m.rightBarline.type == "double" and b < end:
            marks.append((b, "||"))
    for sp in first.spanners.getElementsByClass(m21.spanner.RepeatBracket):
        spanned = sp.getSpannedElements()
        if spanned and sp.numberRange:
            a = int(Fraction(spanned[0].offset).limit_denominator(10_000) * tpq)
            marks.append((a, ending(sp.numberRange)))
    form = Form(canonical([(t, m) for t, m in marks if 0 <= t <= end]))
    return form or None


def _voices(score: Score) -> list[list[tuple]]:
    """Split notes into monophonic voices (greedy), each a list of (onset, duration, pitch, vel)."""
    voices: list[list[tuple]] = []
    for note in sorted(score.notes(), key=lambda n: (n[0], -n[2])):
        for v in voices:
            if v[-1][0] + v[-1][1] <= note[0]:
                v.append(note)
                break
        else:
            voices.append([note])
    return voices or [[]]


def _fill_measure(measure, voice, a: int, b: int, tpq: int, m21) -> None:
    """Notes of ``voice`` inside [a, b), cut at the barlines with ties, rests in the gaps."""
    t = a
    for o, d, p, v in voice:
        s, e = max(o, a), min(o + d, b)
        if e <= a or s >= b:
            continue
        if s > t:
            measure.insert((t - a) / tpq, m21.note.Rest(quarterLength=Fraction(s - t, tpq)))
        n = m21.note.Note(p, quarterLength=Fraction(e - s, tpq))
        if n.pitch.accidental is not None and n.pitch.accidental.alter == 0:
            n.pitch.accidental = None  # a MIDI number gives every white key a natural sign
        n.volume.velocity = v
        if o < a or o + d > b:
            n.tie = m21.tie.Tie("continue" if o < a and o + d > b else "stop" if o < a else "start")
        measure.insert((s - a) / tpq, n)
        t = e
    if t < b:
        measure.insert((t - a) / tpq, m21.note.Rest(quarterLength=Fraction(b - t, tpq)))


def _one_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return (text[0][:160] if text else type(e).__name__) or type(e).__name__


def write_musicxml(score: Score, path) -> None:
    """Write MusicXML through music21 (atomically)."""
    import tempfile

    from tunelab.io.atomic import atomic_write_bytes

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "out.musicxml"
        to_music21(score).write("musicxml", fp=str(target))
        atomic_write_bytes(path, target.read_bytes())
