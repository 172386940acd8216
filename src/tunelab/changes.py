"""What changes along a piece: meters and keys as lists of changes ``[(tick, ...)]``, and tonics
spelled as key signatures spell them. Below the Score and its form, which both keep such lists."""

from __future__ import annotations

# Tonic spellings used when a key is transposed, by pitch class (the usual key-signature choice).
_MAJOR_TONICS = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
_MINOR_TONICS = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"]
_STEP_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def tonic_pitch_class(tonic: str) -> int:
    """Pitch class (0-11) of a spelled tonic such as ``"F#"``, ``"Bb"`` or music21's ``"B-"``."""
    step, alter = tonic[:1].upper(), tonic[1:]
    if step not in _STEP_PC or alter.strip("#b-"):  # only sharps and flats after the letter
        raise ValueError(f"not a tonic name: {tonic!r}")
    return (_STEP_PC[step] + alter.count("#") - alter.count("b") - alter.count("-")) % 12


def tonic_octave_shift(tonic: str) -> int:
    """Semitones by which a spelled tonic in octave 4 leaves the C4..B4 span (B#4 = C5: +12)."""
    step, alter = tonic[:1].upper(), tonic[1:]
    raw = _STEP_PC[step] + alter.count("#") - alter.count("b") - alter.count("-")
    return raw - raw % 12


def normalize_changes(items) -> list[tuple]:
    """A change list such as time signatures or keys, ``[(tick, ...)]`` sorted by tick, made
    canonical: the last of several changes at one tick wins, and a change that repeats what is
    already in force is dropped."""
    out: list[tuple] = []
    for item in items:
        if out and out[-1][0] == item[0]:
            out[-1] = item
            if len(out) > 1 and out[-2][1:] == item[1:]:
                out.pop()
        elif not out or out[-1][1:] != item[1:]:
            out.append(item)
    return out


def transpose_tonic(tonic: str, semitones: int, mode: str | None = "major") -> str:
    """Spell the tonic ``semitones`` away, as key signatures usually do (Bb major, C# minor)."""
    pc = (tonic_pitch_class(tonic) + semitones) % 12
    if semitones % 12 == 0:
        return tonic
    return (_MINOR_TONICS if mode == "minor" else _MAJOR_TONICS)[pc]
