"""The LSTM study's own preprocessing, written with music21 as the study did (the baseline).

Per song: parse the kern file, drop it if any note or rest has a duration outside
{0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4} quarters, transpose major keys to C and minor keys to A
(the key object at index 4 of the first measure, else ``analyze('key')``), and encode on a
16th-note grid (reference/study-setup.md). Used by ``prepare_kern.py`` for speed and output.
"""

from __future__ import annotations

ACCEPTABLE = (0.25, 0.5, 0.75, 1.0, 1.5, 2, 3, 4)


def prepare(path: str) -> str | None:
    """The study's grid line for one kern file, or None when its durations are not acceptable."""
    import music21 as m21

    song = m21.converter.parse(path)
    if any(n.duration.quarterLength not in ACCEPTABLE for n in song.flatten().notesAndRests):
        return None
    measures = song.getElementsByClass(m21.stream.Part)[0].getElementsByClass(m21.stream.Measure)
    key = measures[0][4]
    if not isinstance(key, m21.key.Key):
        key = song.analyze("key")
    target = "C" if key.mode == "major" else "A"
    song = song.transpose(m21.interval.Interval(key.tonic, m21.pitch.Pitch(target)))
    tokens = []
    for event in song.flatten().notesAndRests:
        symbol = str(event.pitch.midi) if isinstance(event, m21.note.Note) else "r"
        steps = int(event.duration.quarterLength / 0.25)
        tokens += [symbol] + ["_"] * (steps - 1)
    return " ".join(tokens)
