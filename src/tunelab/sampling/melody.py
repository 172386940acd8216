"""From sampled ids to Scores people can read: meter and key attached, a title, grid text.

Grid tokens carry no meter or key: they come from the primer, the options, or (key only) the
notes themselves (the key whose profile best fits the duration-weighted pitch classes, as
music21's default key finder). Event encodings carry their meter; their key is added the same way.
"""

from __future__ import annotations

import re

import numpy as np

from tunelab.errors import ConfigError
from tunelab.score import Score, tonic_pitch_class

MAJOR = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")


def parse_meter(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or int(m[1]) <= 0 or int(m[2]) & (int(m[2]) - 1) or int(m[2]) == 0:
        raise ConfigError(f"--meter: expected like 3/4 (a power of two below), got {text!r}")
    return int(m[1]), int(m[2])


def parse_key(text: str | None) -> tuple[str, str] | None:
    """``"G"``, ``"Gm"``, ``"F# minor"``, ``"Bb major"`` -> ``(tonic, mode)``."""
    if not text:
        return None
    m = re.fullmatch(r"\s*([A-Ga-g])([#b]?)\s*(m|min|minor|maj|major)?\s*", text)
    if not m:
        raise ConfigError(f"--key: expected like G, Em, 'F# minor', got {text!r}")
    return m[1].upper() + m[2], "minor" if m[3] in ("m", "min", "minor") else "major"


def estimate_key(score: Score) -> tuple[str, str] | None:
    """The best-fitting key of the notes, or None without notes."""
    from tunelab.corpus.transforms import best_keys

    if not len(score):
        return None
    hist = np.zeros((1, 12))
    np.add.at(hist[0], score.pitch % 12, score.duration)
    pc, mode = best_keys(hist)[0]
    return (MINOR if mode == "minor" else MAJOR)[pc], mode


def to_score(ids, tokenizer, *, meter=None, key=None, title: str = "", default_meter=(4, 4)) -> Score:
    """The Score of one melody's ids (prompt + continuation) with title, and the meter and key
    given where the tokens name none (a grid without meter items: the primer's meter)."""
    score = tokenizer.decode(ids)
    changes = {"meta": {**score.meta, "title": title}}
    if not score.time_signatures:  # a melody's own meter (and upbeat) is never relabelled
        changes["time_signatures"] = [(0, *(meter or default_meter))]
        changes["pickup"] = 0
    k = None if score.keys else key or estimate_key(score)  # nor its own key
    if k:
        changes["keys"] = [(0, *k)]
    return score.replace(**changes)


def grid_line(ids, tokenizer) -> str:
    """Grid text of one melody's ids: token names, without ``/`` and padding."""
    names = tokenizer.vocab
    return " ".join(names[i] for i in np.asarray(ids).tolist() if names[i] not in ("/", "<pad>"))


def transpose_to(score: Score, tonic: str) -> tuple[Score, int]:
    """The score moved so its tonic (written, else the key finder's) is ``tonic``, by the
    smallest interval (up to a tritone either way)."""
    try:
        target = tonic_pitch_class(tonic)
    except ValueError:
        raise ConfigError(f"--key / --transpose-to: {tonic!r} is not a tonic (C, F#, Bb...)") from None
    current = score.keys[0][1:] if score.keys and score.keys[0][0] == 0 else estimate_key(score)
    shift = (target - tonic_pitch_class(current[0])) % 12
    shift = shift - 12 if shift > 6 else shift
    mode = current[1]
    moved = score.transpose(shift)
    return moved.replace(keys=[(0, tonic, mode), *[(t, k, m) for t, k, m in moved.keys if t > 0]]), shift
