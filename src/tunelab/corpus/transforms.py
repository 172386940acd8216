"""Score -> Score transforms used in corpus preparation: duration filter, key finding,
transposition to C major / A minor, quantization to a grid.

Each is a pure function. Filters return the reason a score fails (or None) so the corpus can
report what it dropped and why.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

import numpy as np

from tunelab.score import Score, normalize_changes, tonic_octave_shift, tonic_pitch_class, transpose_tonic

# The LSTM / Transformer / Hybrid study keeps songs whose every note and rest has one of these
# lengths, in quarter notes (reference/study-setup.md).
STUDY_DURATIONS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)

# Aarden-Essen key profiles (Aarden 2003, "Dynamic melodic expectancy"), major then minor,
# tonic first; music21's default for ``analyze('key')``.
_AARDEN_MAJOR = np.array(
    [
        17.7661,
        0.145624,
        14.9265,
        0.160186,
        19.8049,
        11.3587,
        0.291248,
        22.062,
        0.145624,
        8.15494,
        0.232998,
        4.95122,
    ]
)
_AARDEN_MINOR = np.array(
    [
        18.2648,
        0.737619,
        14.0499,
        16.8599,
        0.702494,
        14.4362,
        0.702494,
        18.6161,
        4.56621,
        1.93186,
        7.37619,
        1.75623,
    ]
)


def _profile_terms(profile: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For one key profile, as music21's ``_getDifference`` computes them: ``(12 tonics, 12
    pitch classes)`` weights minus the profile's mean (row t: the profile for tonic t), and each
    tonic's sum of their squares, added pitch class by pitch class."""
    w = profile.tolist()
    mean = sum(w) / len(w)
    dev = np.array([[w[(j - t) % 12] - mean for j in range(12)] for t in range(12)])
    squares = np.zeros(12)
    for j in range(12):
        squares = squares + dev[:, j] ** 2
    return dev, squares


_TERMS = (_profile_terms(_AARDEN_MAJOR), _profile_terms(_AARDEN_MINOR))

# Tonic spelling by pitch class, as music21's key finder spells it.
_FOUND_MAJOR = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
_FOUND_MINOR = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"]


def duration_problem(score: Score, allowed=STUDY_DURATIONS) -> str | None:
    """Why ``score`` fails the duration filter (a note or rest of another length), or None."""
    on, du, pitch = score.event_arrays()
    bad = np.flatnonzero(~np.isin(du, _allowed_ticks(tuple(allowed), score.tpq)))
    if not len(bad):
        return None
    i = int(bad[0])
    what = "rest" if pitch[i] < 0 else "note"
    return f"{what} of {_ql(Fraction(int(du[i]), score.tpq))} quarter notes at {_ql(Fraction(int(on[i]), score.tpq))}"


@lru_cache(maxsize=64)
def _allowed_ticks(allowed: tuple, tpq: int) -> np.ndarray:
    """Allowed lengths in ticks (those that are not whole at this resolution cannot occur)."""
    ticks = [Fraction(a).limit_denominator(64) * tpq for a in allowed]
    return np.array([int(t) for t in ticks if t.denominator == 1], dtype=np.int64)


def estimate_key(score: Score, tonic: str | None = None) -> tuple[str, str]:
    """(tonic, mode) by Aarden-Essen key profiles, as music21's ``analyze('key')``.

    Formula: for each of the 24 keys, the Pearson correlation between the duration-weighted
    pitch-class histogram and the profile rotated to that tonic; the best key wins. With
    ``tonic`` given (an Essen ABC ``K: G`` names the tonic, not the mode), only its major and
    minor compete.
    """
    if not len(score):
        raise ValueError("cannot find the key of a score without notes")
    hist = np.bincount(score.pitch % 12, weights=score.duration / score.tpq, minlength=12)
    if tonic is None:
        pc, mode = best_keys(hist[None, :])[0]
        return (_FOUND_MAJOR if mode == "major" else _FOUND_MINOR)[pc], mode
    r = _key_correlations(hist[None, :])[tonic_pitch_class(tonic), :, 0]
    return tonic, ("major", "minor")[int(r[1] > r[0])]  # an exact tie goes to major


def best_keys(hists: np.ndarray) -> list[tuple[int, str]]:
    """``(tonic pitch class, mode)`` for each row of ``hists`` (M, 12), as music21 picks it.

    music21 sorts ``(correlation, tonic, mode)`` and takes the largest, so an exact tie goes to
    the higher tonic, then to minor; this does the same. All rows are done in one product.
    """
    r = _key_correlations(hists)
    out = []
    for m in range(r.shape[2]):
        col = r[:, :, m]
        best = col.max()
        tonic, mode = max((t, md) for t in range(12) for md in range(2) if col[t, md] == best)
        out.append((tonic, ("major", "minor")[mode]))
    return out


def _key_correlations(hists) -> np.ndarray:
    """(12 tonics, 2 modes, M) Pearson correlations of each histogram row with every key's
    profile (0 where a histogram is flat), with music21's arithmetic in music21's order (sums
    pitch class by pitch class, ``pow(x, 0.5)``): where two keys tie in exact arithmetic (a bar
    of D and G#: G major and C# major), the rounding that breaks the tie is music21's."""
    h = np.asarray(hists, dtype=np.float64)
    total, left = np.zeros(len(h)), np.zeros(len(h))
    for j in range(12):
        total = total + h[:, j]
    dev_h = h - (total / 12)[:, None]
    for j in range(12):
        left = left + dev_h[:, j] ** 2
    out = np.zeros((12, 2, len(h)))
    for mode, (dev, right) in enumerate(_TERMS):
        top = np.zeros((12, len(h)))
        for j in range(12):
            top = top + dev[:, j, None] * dev_h[None, :, j]
        product = right[:, None] * left[None, :]
        root = np.array([x**0.5 for x in product.ravel().tolist()]).reshape(product.shape)
        out[:, mode] = np.divide(top, root, out=np.zeros_like(top), where=(right[:, None] != 0) & (left != 0))
    return out


def score_key(score: Score, rule: str = "first") -> tuple[str, str]:
    """The key a transposition should use.

    Rules: ``"first"``: the key in force at tick 0 (its mode found from the notes when the file
    names only the tonic), else :func:`estimate_key`;
    ``"estimate"``: always :func:`estimate_key`; ``"study"``: the study's rule, which reads the
    key object of the first measure through music21 and so finds it only when that measure
    also declares a regular meter (kern ``*MX`` files fall back to key finding).
    """
    if rule not in ("first", "estimate", "study"):
        raise ValueError(f"key rule must be 'first', 'estimate' or 'study', got {rule!r}")
    first = [(tonic, mode) for t, tonic, mode in score.keys if t == 0]
    if rule == "study" and not score.meta.get("declared_meter", True):
        first = []
    if first and rule != "estimate":
        tonic, mode = first[0]
        return (tonic, mode) if mode in ("major", "minor") else estimate_key(score, tonic)
    return estimate_key(score)


def transpose_to_c_or_a(score: Score, rule: str = "first") -> Score:
    """Transpose a major-key score to C major and a minor-key one to A minor.

    The interval is the one music21 takes from the tonic in octave 4 to C4 or A4 (so G major
    goes down a fifth, D minor up a fifth), which is what the study did.
    """
    tonic, mode = score_key(score, rule)
    target = 60 if mode == "major" else 69
    semitones = target - (60 + tonic_pitch_class(tonic) + tonic_octave_shift(tonic))
    pitch = score.pitch + semitones
    if len(pitch) and (pitch.min() < 0 or pitch.max() > 127):
        raise ValueError(f"transposing by {semitones} leaves the MIDI range 0-127")
    # The key used (found or written) is the key now; later key changes move with the notes.
    later = [(t, transpose_tonic(k, semitones, m), m) for t, k, m in score.keys if t > 0]
    return score.replace(pitch=pitch, keys=[(0, "C" if mode == "major" else "A", mode), *later])


def transposed_copies(scores, copies: int, seed: int = 0) -> list[Score]:
    """The scores, each followed by ``copies`` copies transposed by distinct random intervals of
    1 to 6 semitones up or down (keys move with the notes; a copy that would leave MIDI's range is
    left out): transposition augmentation that keeps every song in its notated key and adds it in
    others."""
    rng = np.random.default_rng(seed)
    shifts = np.array([s for s in range(-6, 7) if s])
    out = []
    for score in scores:
        out.append(score)
        for shift in rng.choice(shifts, size=min(copies, len(shifts)), replace=False).tolist():
            try:
                copy = score.transpose(shift)
            except ValueError:
                continue
            copy.meta = {**score.meta, "transposed": shift}
            out.append(copy)
    return out


def top_line(score: Score) -> Score:
    """The top voice: a note is kept where it is the highest sounding at its onset (a lower voice
    moving under a held note is not), and cut where the next kept note begins. On a chorale, the
    soprano line; on a tune with chords, the tune. Notated rests go (the gaps are the line's)."""
    if not len(score):
        return score
    on, du, pitch = score.onset, score.duration, score.pitch
    off = on + du
    keep = []
    for i in range(len(on)):
        sounding = (on <= on[i]) & (off > on[i])  # every note sounding as this one starts
        if pitch[i] >= pitch[sounding].max():
            if keep and on[keep[-1]] == on[i]:  # one onset, one note: the highest
                if pitch[i] > pitch[keep[-1]]:
                    keep[-1] = i
                continue
            keep.append(i)
    idx = np.array(keep)
    new_du = du[idx].copy()
    new_du[:-1] = np.minimum(new_du[:-1], on[idx][1:] - on[idx][:-1])
    return score.replace(onset=on[idx], duration=new_du, pitch=pitch[idx], velocity=score.velocity[idx],
                         rests=None)  # fmt: skip


def one_voice_problem(score: Score, quantized: Score) -> str | None:
    """Why ``quantized`` (``score`` on a grid) is not one voice, or None: the notes overlapped
    already, or only notes closer than a grid step (32nds, tuplets) collide on the grid."""
    if quantized.is_monophonic():
        return None
    if not score.is_monophonic():
        return "this score has overlapping notes (more than one voice)"
    steps = quantized.tpq
    return (
        f"notes closer than the grid collide when quantized to {steps} steps a quarter "
        "(32nds or tuplets); use a finer grid"
    )


def steps_needed(score: Score) -> int:
    """The coarsest grid (steps a quarter) that holds every onset, length and barline of the
    score exactly: 4 for 16ths, 12 for triplets of 8ths and 16ths, 8 for 32nds."""
    on, du, _ = score.event_arrays()
    ticks = [score.tpq, score.pickup, score.end, *(t for t, _, _ in score.time_signatures)]
    g = math.gcd(int(np.gcd.reduce(np.concatenate([on, du]))) if len(on) else 0, *ticks)
    for _, n, d in score.time_signatures:
        g = math.gcd(g, score.tpq * 4 * n // d)
    return score.tpq // math.gcd(score.tpq, g or score.tpq)


def grid_for(scores, *, at_least: int = 4, at_most: int = 48, share: float = 1.0) -> tuple[int, int]:
    """``(steps per quarter, scores it holds)``: the coarsest multiple of ``at_least`` up to
    ``at_most`` that holds at least ``share`` of the scores exactly (every one by default)."""
    need = [steps_needed(s) for s in scores]
    best = at_least
    for steps in range(at_least, at_most + 1, at_least):
        held = sum(steps % n == 0 for n in need)
        if held >= share * len(need):
            return steps, held
        if held > sum(best % n == 0 for n in need):
            best = steps
    return best, sum(best % n == 0 for n in need)


def on_grid(score: Score, steps_per_quarter: int) -> Score:
    """The score at ``steps_per_quarter`` ticks a quarter, exactly: ValueError naming the first
    note or rest that falls between grid steps (a triplet on a 16th grid) rather than moving it."""
    if score.tpq == steps_per_quarter:
        return score
    for _, num, den in score.time_signatures:
        if steps_per_quarter * 4 * num % den:
            finest = den // math.gcd(4 * num, den)
            raise ValueError(f"a {num}/{den} bar is not whole steps at {steps_per_quarter} steps a quarter; "
                             f"use a multiple of {finest}")  # fmt: skip
    try:
        return score.resample(steps_per_quarter)
    except ValueError:
        pass
    on, du, pitch = score.event_arrays()
    off = (on * steps_per_quarter % score.tpq != 0) | (du * steps_per_quarter % score.tpq != 0)
    i = int(np.flatnonzero(off)[0]) if off.any() else 0
    what = "rest" if off.any() and pitch[i] < 0 else "note"
    raise ValueError(
        f"a {what} at {Fraction(int(on[i]), score.tpq)} quarters, {Fraction(int(du[i]), score.tpq)} long, is "
        f"not on a grid of {steps_per_quarter} steps a quarter (a tuplet or a finer note): use a steps per "
        f"quarter that holds it (tunelab.corpus.transforms.grid_for finds one) or quantize first"
    )


def quantize(score: Score, steps_per_quarter: int = 4) -> Score:
    """Snap onsets and ends to a grid of ``steps_per_quarter`` steps per quarter note.

    Returns a Score at ``tpq = steps_per_quarter``. A note that would vanish keeps one step;
    in a monophonic score a note is cut where the next one starts. ValueError for a meter whose
    bar is not whole steps (15/32 on 16ths): the grid cannot hold its barlines.
    """
    tpq = steps_per_quarter
    for _, num, den in score.time_signatures:
        if tpq * 4 * num % den:
            finest = den // math.gcd(4 * num, den)
            raise ValueError(
                f"a {num}/{den} bar is not whole steps at {tpq} steps a quarter; use a multiple of {finest}"
            )

    def snap(x):
        return (np.asarray(x, dtype=np.int64) * tpq * 2 + score.tpq) // (2 * score.tpq)

    onset = snap(score.onset)
    offset = np.maximum(snap(score.offset), onset + 1)
    if score.is_monophonic() and len(onset) > 1:
        offset[:-1] = np.maximum(np.minimum(offset[:-1], onset[1:]), onset[:-1] + 1)
    rests = None
    if score.rests is not None:
        r0, r1 = snap(score.rests[:, 0]), snap(score.rests[:, 0] + score.rests[:, 1])
        keep = r1 > r0
        rests = np.stack([r0[keep], (r1 - r0)[keep]], axis=1)
    end = max(int(snap(score.end)), int(offset.max()) if len(offset) else 0)
    if rests is not None and len(rests):
        end = max(end, int((rests[:, 0] + rests[:, 1]).max()))
    return score.replace(
        onset=onset,
        duration=offset - onset,
        tpq=tpq,
        time_signatures=normalize_changes([(int(snap(t)), n, d) for t, n, d in score.time_signatures]),
        keys=normalize_changes([(int(snap(t)), k, m) for t, k, m in score.keys]),
        pickup=int(snap(score.pickup)),
        end=end,
        rests=rests,
        form=None if score.form is None else score.form.scaled(lambda t: int(snap(t))),
    )


def _ql(q: Fraction) -> str:
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def home_keys(scores, share: float = 0.9) -> list[tuple[str, str]] | None:
    """The major key and its relative minor that ``share`` of the songs are in (written, else
    found), as in a corpus moved to C major / A minor; None when the songs keep their own keys.
    A model of such songs reads a primer moved there (:func:`tunelab.sampling.rewrite.in_model_key`)."""
    from collections import Counter

    found = Counter()
    n = 0
    for s in scores:
        if isinstance(s, str) or not len(s):
            continue
        n += 1
        tonic, mode = score_key(s, "first" if s.keys and s.keys[0][2] else "estimate")
        pc = tonic_pitch_class(tonic)
        found[(pc if mode == "major" else (pc + 3) % 12)] += 1  # the relative major's tonic
    if not n:
        return None
    pc, count = found.most_common(1)[0]
    if count < share * n:
        return None
    return [(_FOUND_MAJOR[pc], "major"), (_FOUND_MINOR[(pc + 9) % 12], "minor")]
