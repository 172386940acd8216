"""Standard MIDI files through symusic (C++; about 100x faster than pretty_midi).

MIDI has no pickup and no end-of-piece rest, so the writer records both: a pickup becomes a
short first bar (a time signature of the pickup's length, which every sequencer shows) plus a
``tunelab:pickup=<ticks>;short-bar`` marker, and the end gets a ``tunelab:end`` marker. The
reader undoes this.
All tracks are read into one Score; drum tracks are skipped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tunelab.errors import ParseError
from tunelab.io.keys import MAJOR_BY_SHARPS, signature_sharps
from tunelab.score import Score, normalize_changes

_PICKUP_MARKER = "tunelab:pickup="
_SHORT_BAR = "short-bar"  # the writer added a time signature for the pickup's own short bar
# Key signature in sharps (+) or flats (-) -> tonic, by mode (MIDI meta event 0x59).
_MINOR_BY_SHARPS = {
    -7: "Ab",
    -6: "Eb",
    -5: "Bb",
    -4: "F",
    -3: "C",
    -2: "G",
    -1: "D",
    0: "A",
    1: "E",
    2: "B",
    3: "F#",
    4: "C#",
    5: "G#",
    6: "D#",
    7: "A#",
}


def read_midi(path) -> Score:
    """Read a MIDI file; raises ParseError naming the file for anything symusic rejects."""
    import symusic

    path = Path(path)
    if path.stat().st_size == 0:
        raise ParseError(path, "empty file")
    try:
        midi = symusic.Score(str(path), ttype="tick")
    except Exception as e:  # symusic raises RuntimeError/ValueError with C++ messages
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ParseError(path, f"not a readable MIDI file ({reason})") from None
    return from_symusic(midi, source=str(path))


def from_symusic(midi, source: str = "") -> Score:
    """Convert a ``symusic.Score`` (tick time) to a Score."""
    rows = []
    for track in midi.tracks:
        if track.is_drum or not len(track.notes):
            continue
        arr = track.notes.numpy()
        rows.append(np.stack([arr["time"], arr["duration"], arr["pitch"], arr["velocity"]], axis=1))
    notes = np.concatenate(rows).astype(np.int64) if rows else np.zeros((0, 4), dtype=np.int64)
    notes = notes[notes[:, 1] > 0]  # zero-length notes carry no sound and no time
    tss = [(int(t.time), int(t.numerator), int(t.denominator)) for t in midi.time_signatures]
    tss = normalize_changes([ts for ts in tss if ts[1] > 0 and ts[2] > 0 and not ts[2] & (ts[2] - 1)])
    if tss and tss[0][0] != 0:
        tss.insert(0, (0, 4, 4))  # MIDI's default meter until the first time signature
    pickup = 0
    markers = [m.text for m in midi.markers if m.time == 0 and m.text.startswith(_PICKUP_MARKER)]
    if markers:
        value, _, flag = markers[0][len(_PICKUP_MARKER) :].partition(";")
        pickup = int(value)
        if flag == _SHORT_BAR and len(tss) > 1 and tss[1][0] == pickup:
            tss = [(0, *tss[1][1:])] + tss[2:]  # the short first bar the writer added
    keys = []
    for k in midi.key_signatures:
        table = _MINOR_BY_SHARPS if k.tonality else MAJOR_BY_SHARPS
        if int(k.key) in table:
            keys.append((int(k.time), table[int(k.key)], "minor" if k.tonality else "major"))
    tempo = float(midi.tempos[0].qpm) if len(midi.tempos) else None
    last = int((notes[:, 0] + notes[:, 1]).max()) if len(notes) else 0
    end = max(last, int(midi.end()))
    return Score(
        notes[:, 0],
        notes[:, 1],
        notes[:, 2],
        notes[:, 3],
        tpq=int(midi.ticks_per_quarter),
        time_signatures=tss,
        keys=normalize_changes(keys),
        pickup=pickup,
        end=end,
        tempo=tempo,
        meta={"source": source} if source else {},
    )


def to_symusic(score: Score):
    """Convert a Score to a ``symusic.Score``: one track, General MIDI program
    ``score.meta["program"]`` (0-127; default 0, piano)."""
    import symusic

    midi = symusic.Score(score.tpq)
    track = symusic.Track(name=str(score.meta.get("title", "")), program=int(score.meta.get("program", 0)))
    for o, d, p, v in score.notes():
        track.notes.append(symusic.Note(o, d, p, v))
    midi.tracks.append(track)
    tss = list(score.time_signatures)
    if score.pickup and tss:
        num, den = tss[0][1], tss[0][2]
        short = _meter_of_length(score.pickup, score.tpq, den)
        if (
            short is not None and max(short) > 255
        ):  # MIDI's meter bytes: such a pickup lives in the marker only
            short = None
        added = short is not None and not (len(tss) > 1 and tss[1][0] == score.pickup)
        if added:
            tss = [(0, *short), (score.pickup, num, den)] + tss[1:]
        flag = f";{_SHORT_BAR}" if added else ""
        midi.markers.append(symusic.TextMeta(0, f"{_PICKUP_MARKER}{score.pickup}{flag}"))
    for t, n, d in tss:
        if max(n, d) > 255:
            raise ValueError(f"meter {n}/{d} at tick {t}: MIDI holds numerators and denominators up to 255")
        midi.time_signatures.append(symusic.TimeSignature(t, n, d))
    for t, tonic, mode in score.keys:
        # MIDI knows major and minor only: another mode, or none known, is written as the
        # signature it has on paper (tonality major), so no key signature is ever dropped
        midi.key_signatures.append(
            symusic.KeySignature(t, signature_sharps(tonic, mode), int(mode == "minor"))
        )
    if score.tempo:
        midi.tempos.append(symusic.Tempo(0, qpm=float(score.tempo)))
    if score.end > (int(score.offset.max()) if len(score) else 0):
        # An end-of-piece rest (MIDI has none): a marker at the end keeps the end-of-track time.
        midi.markers.append(symusic.TextMeta(score.end, "tunelab:end"))
    return midi


def write_midi(score: Score, path) -> None:
    """Write a Score as a standard MIDI file (atomically)."""
    from tunelab.io.atomic import atomic_write_bytes

    atomic_write_bytes(path, to_symusic(score).dumps_midi())


def _meter_of_length(ticks: int, tpq: int, den: int) -> tuple[int, int] | None:
    for d in (den, 4, 8, 16, 32):
        num, rem = divmod(ticks * d, 4 * tpq)
        if not rem and num > 0:
            return num, d
    return None
