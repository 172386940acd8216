"""A Score's note and rest arrays checked and put in order: whole ticks as 1-D int64 arrays of
one length, sorted by (onset, pitch), onsets >= 0, lengths >= 1, pitches and velocities 0-127
and 1-127, each bad value named in a one-line ValueError.

Up to ``SMALL`` notes the checks run over Python lists: one numpy call costs more than a pass
over a folk tune's hundred notes, most of all when other work has just left the CPU's caches
cold (four numpy calls took 0.10 ms against 0.04 ms for the lists, right after music21 read a
tune: benchmarks/abc_speed.py reads tune by tune, each reader right after the other)."""

from __future__ import annotations

from itertools import pairwise
from operator import add, le

import numpy as np

SMALL = 1024
_INT64 = np.dtype(np.int64)


def checked_notes(
    onset, duration, pitch, velocity=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """(onset, duration, pitch, velocity) as checked int64 arrays in (onset, pitch) order
    (velocity 80 where None), and where the last note ends. Lists of ints are welcome: a
    reader's lists are checked as they are, without reading them back from the arrays."""
    given = [onset, duration, pitch]
    onset, duration, pitch = (
        int_array(onset, "onset"),
        int_array(duration, "duration"),
        int_array(pitch, "pitch"),
    )
    n = len(onset)
    has_velocity = velocity is not None
    # (np.array of a list, as the reader's lists come: np.full's own path costs 30 us when cold)
    velocity = int_array(velocity, "velocity") if has_velocity else np.array([80] * n, dtype=np.int64)
    if not (len(duration) == len(pitch) == len(velocity) == n):
        raise ValueError(
            f"onset, duration, pitch and velocity must have one length, got "
            f"{n}, {len(duration)}, {len(pitch)}, {len(velocity)}"
        )
    if n > SMALL:
        if not in_order(onset, pitch):
            order = np.lexsort((pitch, onset))
            onset, duration, pitch, velocity = onset[order], duration[order], pitch[order], velocity[order]
        least, lowest, highest = int(onset[0]), int(pitch.min()), int(pitch.max())
        shortest, last = int(duration.min()), int((onset + duration).max())
    elif n:
        o, d, p = (x if type(x) is list else a.tolist() for x, a in zip(given, (onset, duration, pitch)))
        keys = [
            t * 256 + q for t, q in zip(o, p)
        ]  # (onset, pitch) as one number; bad pitches are refused below
        if not all(map(le, keys, keys[1:])):
            order = np.lexsort((pitch, onset))
            onset, duration, pitch, velocity = onset[order], duration[order], pitch[order], velocity[order]
        least, lowest, highest, shortest, last = min(o), min(p), max(p), min(d), max(map(add, o, d))
    if n:
        if least < 0:
            raise ValueError(f"onset must be >= 0, got {least}")
        if shortest < 1:
            raise ValueError(f"duration must be >= 1, got {shortest}")
        if lowest < 0 or highest > 127:
            raise ValueError(
                f"pitch must be {'>= 0' if lowest < 0 else '<= 127'}, got {lowest if lowest < 0 else highest}"
            )
    if has_velocity:
        check_range(velocity, 1, 127, "velocity")
    return onset, duration, pitch, velocity, last if n else 0


def checked_rests(rests) -> tuple[np.ndarray, int]:
    """Notated rests as a checked ``(R, 2)`` int64 array of ``[onset, duration]`` by onset, and
    where the last one ends (0 for none)."""
    if type(rests) is list and not rests:  # a reader's list: one numpy call, not two (each costs when cold)
        return np.empty((0, 2), dtype=np.int64), 0
    rests = np.asarray(rests, dtype=np.int64).reshape(-1, 2)
    if not len(rests):
        return rests, 0
    if len(rests) > SMALL:
        if not in_order(rests[:, 0]):
            rests = rests[np.argsort(rests[:, 0], kind="stable")]
        check_range(rests[:, 0], 0, None, "rest onset")
        check_range(rests[:, 1], 1, None, "rest duration")
        return rests, last_end(rests[:, 0], rests[:, 1])
    pairs = rests.tolist()
    if not all(a[0] <= b[0] for a, b in pairwise(pairs)):
        rests = rests[np.argsort(rests[:, 0], kind="stable")]
    least, shortest = min(o for o, _ in pairs), min(d for _, d in pairs)
    if least < 0:
        raise ValueError(f"rest onset must be >= 0, got {least}")
    if shortest < 1:
        raise ValueError(f"rest duration must be >= 1, got {shortest}")
    return rests, max(o + d for o, d in pairs)


def in_order(onset: np.ndarray, pitch: np.ndarray | None = None) -> bool:
    """Whether a long piece's notes are in (onset, pitch) order already, or the onsets alone
    without ``pitch`` (sorting is the exception; tune-sized pieces are checked over lists)."""
    step = onset[1:] - onset[:-1]
    if pitch is None:
        return not (step < 0).any()
    return not (step < 0).any() and not ((step == 0) & (pitch[1:] < pitch[:-1])).any()


def last_end(onset: np.ndarray, duration: np.ndarray) -> int:
    """Where the last of these notes (or rests) ends; 0 for none."""
    if not len(onset):
        return 0
    if len(onset) <= SMALL:
        return max(map(add, onset.tolist(), duration.tolist()))
    return int((onset + duration).max())


def int_array(x, name: str) -> np.ndarray:
    if type(x) is np.ndarray and x.ndim == 1 and x.dtype is _INT64:  # the common case, at once
        return x
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype is _INT64:  # a list of ints: no more calls (each costs when the caches are cold)
        return arr
    if arr.size and arr.dtype.kind not in "iu":  # (np.issubdtype: Python calls, 30 us a Score cold)
        as_int = arr.astype(np.int64)
        if np.any(as_int != arr):
            raise ValueError(f"{name} must be whole ticks, got {arr[as_int != arr][:3]}")
        arr = as_int
    return arr.astype(np.int64, copy=False)


def check_range(arr: np.ndarray, lo, hi, name: str) -> None:
    if not arr.size:
        return
    if arr.size <= SMALL:
        values = arr.tolist()
        least, most = min(values), max(values)
    else:
        least, most = int(arr.min()), int(arr.max())
    if lo is not None and least < lo:
        raise ValueError(f"{name} must be >= {lo}, got {least}")
    if hi is not None and most > hi:
        raise ValueError(f"{name} must be <= {hi}, got {most}")
