"""The 17 musical-quality metrics of the LSTM / Transformer / Hybrid study, exactly as defined.

Reference: Ghoshal et al., "Fusing Memory and Attention" (arXiv 2603.21282, 2026) and its
implementation; definitions and a worked example in ../shared/reference/study-metrics.md.
Quirks kept on purpose, so numbers sit beside the study's table: segments are 4 quarter notes
whatever the meter (an event crossing a boundary is split once, its remainder one element of
the next segment however long, and the event after a remainder longer than a segment opens its
own segment with its length plus that excess); Contour Stability and Syncopation are counts, not ratios;
an undefined value is 0, not NaN; KL Divergence fills a missing probability with 1e-10.

Pure numpy on grid steps (a step is a 16th note, 0.25 quarter notes); no music21.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from tunelab.score import Score

STEP = 0.25  # quarter notes per grid step
SEGMENT = 16  # steps per segment: 4 quarter notes
NAMES = (
    "pitch_variance",
    "pitch_range",
    "rhythmic_variance",
    "note_density",
    "rest_ratio",
    "interval_variability",
    "note_repetition",
    "contour_stability",
    "syncopation",
    "harmonic_tension",
    "kl_divergence",
    "pitch_entropy",
    "rhythmic_entropy",
    "motif_diversity_index",
    "harmonic_complexity",
    "contour_variability",
    "tonal_drift",
)
LOCAL, GLOBAL = NAMES[:11], NAMES[11:]  # per 4-quarter segment, averaged / over the whole melody
# Harmonic Tension by folded interval k = min(d, 12 - d); k never exceeds 6, so 7 and 8 are
# unreachable, as in the study's map.
_TENSION = np.array([0.1, 0.8, 0.6, 0.4, 0.2, 0.3, 0.5, 0.1, 0.2, 0.1, 0.1, 0.1, 0.1])
_MISSING = 1e-10  # the study's probability for a pitch absent from a distribution


def events_of(melody) -> tuple[np.ndarray, np.ndarray]:
    """``(pitch, steps)`` of each event: pitch -1 for a rest; from a grid line or a Score."""
    if isinstance(melody, Score):
        from tunelab.io.gridtext import format_score

        melody = format_score(melody)
    pitches, steps = [], []
    for tok in melody.split():
        if tok == "_":
            if steps:  # a leading hold is skipped
                steps[-1] += 1
        elif tok == "/":
            if steps:
                break
        else:
            pitches.append(-1 if tok == "r" else int(tok))
            steps.append(1)
    return np.array(pitches, dtype=np.int64), np.array(steps, dtype=np.int64)


def segments(
    pitch: np.ndarray, steps: np.ndarray, size: int = SEGMENT
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The study's segments: ``[(pitch, steps)]`` per 4-quarter chunk (see the module notes)."""
    out, cur_p, cur_s, filled = [], [], [], 0
    for p, d in zip(pitch.tolist(), steps.tolist()):
        if filled + d <= size:
            cur_p.append(p)
            cur_s.append(d)
            filled += d
            continue
        fit = size - filled
        if fit > 0:
            cur_p.append(p)
            cur_s.append(fit)
        out.append((cur_p, cur_s))
        # what the event has left opens the next segment: d - fit. After a remainder longer
        # than a segment, fit is negative and the event inherits the excess (the study's
        # segment_stream does this, and its published numbers were computed with it)
        cur_p, cur_s, filled = [p], [d - fit], d - fit
    if cur_p:
        out.append((cur_p, cur_s))
    return [(np.array(p, dtype=np.int64), np.array(s, dtype=np.int64)) for p, s in out]


def study17(melody) -> dict[str, float]:
    """All 17 metrics of one melody (a grid-text line or a monophonic Score), by name."""
    return dict(zip(NAMES, (float(v) for v in _values(*events_of(melody))), strict=True))


def study17_many(melodies, jobs: int | None = 1) -> np.ndarray:
    """``(N, 17)`` values for many melodies, columns in :data:`NAMES` order.

    ``jobs``: processes to spread the melodies over (None: every core); small sets stay in
    this process, where starting workers would cost more than it saves.
    """
    melodies = list(melodies)
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or len(melodies) < 200:
        return _many(melodies)
    import multiprocessing as mp

    chunks = [melodies[i::jobs] for i in range(jobs)]
    ctx = mp.get_context("fork") if sys.platform == "linux" else mp.get_context()
    with ctx.Pool(jobs) as pool:
        parts = pool.map(_many, chunks)
    out = np.empty((len(melodies), len(NAMES)))
    for i, part in enumerate(parts):
        out[i::jobs] = part
    return out


def _many(melodies) -> np.ndarray:
    return np.array([_values(*events_of(m)) for m in melodies], dtype=np.float64).reshape(-1, len(NAMES))


def _values(pitch: np.ndarray, steps: np.ndarray) -> list[float]:
    """The 17 values in :data:`NAMES` order, each filled by its name."""
    notes = pitch >= 0
    P = pitch[notes]
    local = {name: [0.0, 0] for name in LOCAL}  # per local metric: sum over counting segments, count
    G = _distribution(P)
    for sp, ss in segments(pitch, steps):
        is_note = sp >= 0
        p = sp[is_note]
        dur = ss * STEP
        total = dur.sum()
        offsets = (np.cumsum(ss) - ss)[is_note]
        n = len(p)
        _add(local, "note_density", n / total if total else 0.0)  # every segment
        _add(local, "rest_ratio", dur[~is_note].sum() / total if total else 0.0)  # every segment
        _add(local, "syncopation", float(np.count_nonzero(offsets % 4)))  # every segment
        if len(ss):
            _add(local, "rhythmic_variance", dur.var())
        if n >= 1:
            _add(local, "pitch_variance", p.var())
            _add(local, "pitch_range", float(p.max() - p.min()))
            _add(local, "note_repetition", float(_longest_run(p)))
            _add(local, "kl_divergence", _kl(_distribution(p), G))
        if n >= 2:
            d = np.diff(p)
            _add(local, "interval_variability", np.abs(d).var())
            _add(local, "contour_stability", float(np.count_nonzero(d[:-1] * d[1:] < 0)))
            k = np.abs(d) % 12
            _add(local, "harmonic_tension", _TENSION[np.minimum(k, 12 - k)].mean())
    values = {name: s / c if c else 0.0 for name, (s, c) in local.items()}
    values |= _global(P, steps[notes] * STEP, pitch, steps)
    return [values[name] for name in NAMES]


def _add(acc: dict, name: str, value: float) -> None:
    acc[name][0] += value
    acc[name][1] += 1


def _longest_run(p: np.ndarray) -> int:
    if len(p) < 2:
        return len(p)
    breaks = np.flatnonzero(np.diff(p) != 0)
    edges = np.concatenate([[-1], breaks, [len(p) - 1]])
    return int(np.diff(edges).max())


def _distribution(p: np.ndarray) -> dict[int, float]:
    values, counts = np.unique(p, return_counts=True)
    return dict(zip(values.tolist(), (counts / counts.sum()).tolist()))


def _kl(L: dict, G: dict) -> float:
    """sum over p in G or L of L(p) ln(L(p) / G(p)), a missing probability being 1e-10."""
    total = 0.0
    for pitch in sorted(set(G) | set(L)):
        lp, gp = L.get(pitch, _MISSING), G.get(pitch, _MISSING)
        total += lp * np.log(lp / gp)
    return float(total)


def _entropy(values: np.ndarray) -> float:
    if not len(values):
        return 0.0
    _, counts = np.unique(values, return_counts=True)
    prob = counts / counts.sum()
    return float(-(prob * np.log2(prob)).sum())


def _global(P: np.ndarray, note_ql: np.ndarray, pitch: np.ndarray, steps: np.ndarray) -> dict[str, float]:
    n = len(P)
    motif = len({tuple(P[i : i + 3].tolist()) for i in range(n - 2)}) / (n - 2) if n >= 3 else 0.0
    if n >= 2:
        d = np.abs(np.diff(P)) % 12
        second = np.diff(d).var() / 10 if len(d) >= 2 else 0.0
        complexity = (len(np.unique(d)) / 12 + second) / 2
        dp = np.diff(P)
        reversals = np.count_nonzero(dp[:-1] * dp[1:] < 0)
        contour = 100 * reversals / (n - 1)
    else:
        complexity = contour = 0.0
    return {
        "pitch_entropy": _entropy(P),
        "rhythmic_entropy": _entropy(note_ql),
        "motif_diversity_index": motif,
        "harmonic_complexity": float(complexity),
        "contour_variability": float(contour),
        "tonal_drift": float(tonal_drift(pitch, steps)),
    }


def tonal_drift(pitch: np.ndarray, steps: np.ndarray) -> int:
    """#distinct (tonic, mode) over the 4/4 measures with notes, minus 1 (0 without notes).

    Measures are 4/4 bars as music21's ``makeMeasures`` makes them for the study: a note belongs,
    whole, to the bar where it starts. Each bar's key is music21's default finder, in numpy.
    """
    from tunelab.metrics.keys import measure_keys

    keys = measure_keys(pitch, steps, SEGMENT)
    return max(0, len(set(keys)) - 1)
