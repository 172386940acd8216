"""Structure: self-similarity, melodic coherence, meter-aware syncopation, beat alignment.

- Self-similarity matrix (Foote 1999; used for melodies in Kumar & Lal 2024,
  ../shared/reference/seeds/004_*): S(i, j) = cos(e_i, e_j) over beat or bar segments, e the
  segment's duration-weighted pitch-class histogram beside its note-length histogram, each
  unit-normalised. Summaries: mean off-diagonal similarity, the strongest repeated diagonal
  (a section that comes back k segments later), and structureness (that diagonal's excess over
  the mean).
- Melodic coherence: mean absolute deviation of pitch from the melody's mean pitch, and mean
  absolute interval, in semitones.
- Syncopation (Longuet-Higgins & Lee 1984): metrical weights per grid position from the
  meter's hierarchy (bar 0, half bar -1 where the bar has an even number of beats, beat, then
  halvings); a note at weight w held or followed by a rest over a stronger position of weight
  W adds W - w. Reported per bar.
- Beat alignment: the share of onsets that fall on a beat (compound meters: dotted beats).
All take a Score; times are read on a 16th-note grid.
"""

from __future__ import annotations

import itertools

import numpy as np

from tunelab.corpus.segment import segments
from tunelab.corpus.transforms import quantize
from tunelab.metrics.distribution import LENGTH_BINS
from tunelab.score import Score

STEPS = 4  # grid steps per quarter note


def _grid(score: Score) -> Score:
    return quantize(score, STEPS) if score.tpq != STEPS else score


def segment_embeddings(score: Score, unit: str = "bar") -> np.ndarray:
    """(segments, 20): pitch-class histogram (12, by sounding time) beside note-length histogram
    (8, by onsets), each scaled to unit length; empty parts stay zero."""
    s = _grid(score)
    rows = []
    for seg in segments(s, unit):
        pc = np.zeros(12)
        for i in seg.sounding:
            pc[s.pitch[i] % 12] += min(s.offset[i], seg.end) - max(s.onset[i], seg.start)
        lengths = np.zeros(len(LENGTH_BINS))
        for i in seg.notes:
            q = s.duration[i] / STEPS
            lengths[min(np.searchsorted(LENGTH_BINS, q - 1e-9), len(LENGTH_BINS) - 1)] += 1
        rows.append(np.concatenate([_unit(pc), _unit(lengths)]))
    return np.array(rows).reshape(-1, 12 + len(LENGTH_BINS))


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n else v


def ssm(score: Score, unit: str = "bar", embeddings: np.ndarray | None = None) -> np.ndarray:
    """S(i, j) = cosine similarity of segment embeddings (0 where a segment is empty).

    ``embeddings`` may be given instead, e.g. a model's hidden state per segment.
    """
    e = segment_embeddings(score, unit) if embeddings is None else np.asarray(embeddings, dtype=float)
    norms = np.linalg.norm(e, axis=1)
    e = np.divide(e, norms[:, None], out=np.zeros_like(e), where=norms[:, None] > 0)
    return e @ e.T


def ssm_summary(S: np.ndarray) -> dict[str, float]:
    """Mean off-diagonal similarity, the strongest repeated diagonal and its lag, structureness."""
    n = len(S)
    if n < 2:
        return {"mean_offdiag": 0.0, "repetition": 0.0, "repetition_lag": 0.0, "structureness": 0.0}
    off = S[~np.eye(n, dtype=bool)].mean()
    lags = range(1, n - 1) if n > 2 else range(1, 2)  # a diagonal of one cell says little
    diag = {k: float(np.diagonal(S, k).mean()) for k in lags}
    lag = max(diag, key=lambda k: (diag[k], -k))
    return {
        "mean_offdiag": float(off),
        "repetition": diag[lag],
        "repetition_lag": float(lag),
        "structureness": float(diag[lag] - off),
    }


def coherence(score: Score) -> dict[str, float]:
    """Mean absolute pitch deviation from the mean pitch, and mean absolute interval."""
    p = score.pitch.astype(float)
    if not len(p):
        return {"pitch_deviation": 0.0, "mean_interval": 0.0}
    return {
        "pitch_deviation": float(np.abs(p - p.mean()).mean()),
        "mean_interval": float(np.abs(np.diff(p)).mean()) if len(p) > 1 else 0.0,
    }


def metrical_weights(num: int, den: int) -> np.ndarray:
    """Longuet-Higgins & Lee weight of each 16th position in a bar of num/den (0 at the downbeat).

    Levels: the bar; the half bar when the bar has an even number (> 2) of beats; the beat
    (dotted in 6/8, 9/8, 12/8); in compound meters the eighth; then halvings down to the 16th.
    """
    bar = STEPS * 4 * num // den
    compound = num % 3 == 0 and num > 3 and den >= 8
    beat = max(1, STEPS * 4 // den) * (3 if compound else 1)  # a 32nd or 64th beat: one grid step
    beats = max(1, bar // beat)
    units = [bar]
    if beats % 2 == 0 and beats > 2:
        units.append(bar // 2)
    units.append(beat)
    u = beat // 3 if compound else beat
    units.append(u)
    while u % 2 == 0:
        u //= 2
        units.append(u)
    units = sorted(set(units), reverse=True)
    weights = np.zeros(bar)
    for level in range(len(units) - 1, -1, -1):
        weights[:: units[level]] = -level
    return weights


def syncopation(score: Score) -> dict[str, float]:
    """Longuet-Higgins & Lee syncopation: total and per bar."""
    s = _grid(score)
    bars = list(s.bar_starts()) + [s.end]
    weight = np.zeros(max(s.end, 1))
    for a, b in itertools.pairwise(bars):
        w = metrical_weights(*s.meter_at(a))
        start = a if not (a == 0 and s.pickup) else b - len(w)  # a pickup is the tail of a bar
        for t in range(a, b):
            weight[t] = w[(t - start) % len(w)]
    onsets = sorted(set(s.onset.tolist()))
    total = 0.0
    for t, nxt in zip(onsets, onsets[1:] + [s.end]):
        if nxt - t > 1:
            strongest = weight[t + 1 : nxt].max()
            if strongest > weight[t]:
                total += strongest - weight[t]
    n_bars = max(1, len(bars) - 1)
    return {"syncopation_lhl": float(total), "syncopation_lhl_per_bar": float(total / n_bars)}


def beat_alignment(score: Score) -> float:
    """Share of distinct onsets that fall on a beat."""
    s = _grid(score)
    onsets = np.unique(s.onset)
    if not len(onsets):
        return 0.0
    return float(np.isin(onsets, s.beat_starts()).mean())


def structure(score: Score, unit: str = "bar") -> dict[str, float]:
    """The structure suite for one score, by name."""
    return {
        **{f"ssm_{k}": v for k, v in ssm_summary(ssm(score, unit)).items()},
        **coherence(score),
        **syncopation(score),
        "beat_alignment": beat_alignment(score),
    }
