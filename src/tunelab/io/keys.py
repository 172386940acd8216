"""Key signatures: how many sharps or flats a key has, whatever is known of its mode."""

from __future__ import annotations

from tunelab.score import tonic_pitch_class

# A key signature in sharps (+) or flats (-) -> the major key it belongs to. A key whose mode is
# not known (``mode None``: ABC ``K:D``, a bare kern ``*k[f#c#]``, a MusicXML ``<key>`` without
# ``<mode>``) is written with its tonic's major signature, which is how every reader spells it.
MAJOR_BY_SHARPS = {-7: "Cb", -6: "Gb", -5: "Db", -4: "Ab", -3: "Eb", -2: "Bb", -1: "F", 0: "C",
                   1: "G", 2: "D", 3: "A", 4: "E", 5: "B", 6: "F#", 7: "C#"}  # fmt: skip


# how far a mode's tonic lies above its major's (its relative major shares the signature)
_ABOVE_MAJOR = {"major": 0, "minor": 9, "aeolian": 9, "dorian": 2, "phrygian": 4, "lydian": 5,
                "mixolydian": 7, "locrian": 11}  # fmt: skip


def signature_sharps(tonic: str, mode: str | None) -> int:
    """The key signature of a tonic in a mode (None: its major's): the fewest sharps or flats
    of its relative major's pitch class."""
    major = (tonic_pitch_class(tonic) - _ABOVE_MAJOR.get(mode or "major", 0)) % 12
    same = [n for n, name in MAJOR_BY_SHARPS.items() if tonic_pitch_class(name) == major]
    # spelled as the tonic is: F# major 6 sharps, A# minor 7 sharps (not Bb minor's 5 flats)
    return min(same, key=lambda n: ((n < 0) if "#" in tonic else (n > 0) if "b" in tonic else False, abs(n)))
