"""The Score: notes as parallel integer arrays in ticks, with meter, key, pickup and end.

Everything between the file formats (``tunelab.io``) and the tokenizers speaks Score. It is a
plain value: numpy arrays and lists, no music21 objects, cheap to pickle and to compare.

Time is in ticks, ``tpq`` ticks per quarter note. A note sounds from ``onset`` for ``duration``
ticks. Rests are the gaps between notes; formats that notate rests as events (kern, ABC,
MusicXML, grid text) also record them in ``rests`` so that a round trip writes them back as they
were (two quarter rests stay two quarter rests rather than one half rest).

Meter: ``time_signatures`` is a list of ``(tick, numerator, denominator)`` starting at tick 0.
``pickup`` is the length of an anacrusis in ticks: the first full bar starts at tick ``pickup``,
and the pickup is the tail of a bar of the first time signature.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from tunelab.changes import normalize_changes, tonic_octave_shift, tonic_pitch_class, transpose_tonic
from tunelab.form import Form
from tunelab.note_checks import checked_notes, checked_rests, last_end

__all__ = ["Score", "normalize_changes", "tonic_octave_shift", "tonic_pitch_class", "transpose_tonic"]


@dataclass(eq=False)
class Score:
    """A piece of symbolic music. Arrays are sorted by (onset, pitch) on construction.

    Attributes:
        onset: note starts, ticks, shape (N,).
        duration: note lengths, ticks, > 0.
        pitch: MIDI pitch numbers, 0-127.
        velocity: MIDI velocities, 1-127.
        tpq: ticks per quarter note.
        time_signatures: ``[(tick, numerator, denominator)]``, sorted, the first at tick 0.
        keys: ``[(tick, tonic, mode)]`` with tonic like ``"F#"`` and mode ``"major"``/``"minor"``.
        pickup: anacrusis length in ticks (0 when the piece starts on a downbeat).
        end: length of the piece in ticks (covers trailing rests); defaults to the last offset.
        tempo: quarter notes per minute, if the source says.
        rests: notated rests as an (R, 2) array of ``[onset, duration]`` ticks, or None.
        form: the written form's repeat marks, endings and parts (:class:`tunelab.form.Form`),
            or None for music as played (``tunelab.form.played`` expands a written Score).
        meta: title, source file, collection and the like.
    """

    onset: np.ndarray
    duration: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray | None = None
    tpq: int = 480
    time_signatures: list = field(default_factory=list)
    keys: list = field(default_factory=list)
    pickup: int = 0
    end: int | None = None
    tempo: float | None = None
    rests: np.ndarray | None = None
    form: Form | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.tpq, (int, np.integer)) or self.tpq <= 0:
            raise ValueError(f"tpq must be a positive integer, got {self.tpq!r}")
        self.tpq = int(self.tpq)
        self.onset, self.duration, self.pitch, self.velocity, last = checked_notes(
            self.onset, self.duration, self.pitch, self.velocity
        )
        self.time_signatures = [(int(t), int(num), int(den)) for t, num, den in self.time_signatures]
        for i, (tick, num, den) in enumerate(self.time_signatures):
            if num <= 0 or den <= 0 or den & (den - 1):
                raise ValueError(f"time signature {num}/{den}: need num > 0 and den a power of two")
            if self.tpq * 4 * num % den:  # bars of a fraction of a tick would never end
                raise ValueError(f"time signature {num}/{den}: a bar is not whole ticks at tpq={self.tpq}")
            if i == 0 and tick != 0:
                raise ValueError(f"the first time signature must be at tick 0, got {tick}")
            if i and tick <= self.time_signatures[i - 1][0]:
                raise ValueError("time signatures must be sorted by tick, one per tick")
        self.time_signatures = normalize_changes(self.time_signatures)  # a repeated meter says nothing
        self.keys = normalize_changes(
            [(int(t), str(tonic), None if mode is None else str(mode)) for t, tonic, mode in self.keys]
        )
        for _, tonic, _ in self.keys:
            tonic_pitch_class(tonic)
        if self.pickup < 0:
            raise ValueError(f"pickup must be >= 0 ticks, got {self.pickup}")
        self.pickup = int(self.pickup)
        if self.rests is not None:
            self.rests, rests_end = checked_rests(self.rests)
            last = max(last, rests_end)
        if self.end is None:
            self.end = last
        elif self.end < last:
            raise ValueError(f"end {self.end} is before the last note or rest ends ({last})")
        self.end = int(self.end)
        self._check_form()

    def _check_form(self) -> None:
        if self.form is None:
            return
        if isinstance(self.form, dict):
            self.form = Form(**self.form)
        if not isinstance(self.form, Form):
            raise ValueError(f"form must be a tunelab.form.Form or None, got {type(self.form).__name__}")
        if self.form.marks and self.form.marks[-1][0] > self.end:
            raise ValueError(f"a form mark at tick {self.form.marks[-1][0]} is after the end ({self.end})")

    # ---- construction and copies -------------------------------------------------------------

    @classmethod
    def from_notes(cls, notes, tpq: int = 480, **kwargs) -> Score:
        """Build from ``(onset, duration, pitch[, velocity])`` tuples in ticks."""
        rows = [tuple(n) + (80,) * (4 - len(n)) for n in notes]
        cols = list(zip(*rows)) if rows else [(), (), (), ()]
        return cls(*(np.array(c, dtype=np.int64) for c in cols), tpq=tpq, **kwargs)

    def replace(self, **changes) -> Score:
        """A copy with some fields changed (arrays are shared unless replaced)."""
        if changes.keys() <= {"meta", "form", "tempo"}:  # nothing the notes' checks depend on
            new = copy.copy(self)
            for name, value in changes.items():
                setattr(new, name, value)
            if changes.get("form") is not None:
                new._check_form()
            return new
        return dataclasses.replace(self, **changes)

    def __copy__(self) -> Score:
        """A shallow copy (arrays shared), as ``copy.copy`` would make it through ``__reduce_ex__``
        at a third of the cost: reading a tunebook copies every tune for its played form."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def __len__(self) -> int:
        return len(self.onset)

    @property
    def offset(self) -> np.ndarray:
        """Note ends in ticks."""
        return self.onset + self.duration

    def last_offset(self) -> int:
        """Where the last note or notated rest ends, ticks (0 for an empty score)."""
        last = last_end(self.onset, self.duration)
        return last if self.rests is None else max(last, last_end(self.rests[:, 0], self.rests[:, 1]))

    def is_monophonic(self) -> bool:
        """True when no two notes sound at once."""
        return bool(np.all(self.onset[1:] >= self.offset[:-1]))

    def event_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Notes and rests in time order as arrays ``(onset, duration, pitch)``, pitch -1 for a
        rest. Rests are the notated ones where the score has them; any other gap (from tick 0,
        between events, up to ``end``) is a rest too. At one onset a rest comes first."""
        on, du, pi = self.onset, self.duration, self.pitch
        if self.rests is not None and len(self.rests):
            on = np.concatenate([on, self.rests[:, 0]])
            du = np.concatenate([du, self.rests[:, 1]])
            pi = np.concatenate([pi, np.full(len(self.rests), -1, dtype=np.int64)])
        order = np.lexsort((pi >= 0, on))
        on, du, pi = on[order], du[order], pi[order]
        ends = np.maximum.accumulate(on + du) if len(on) else on
        before = np.concatenate([[0], ends[:-1]]) if len(on) else on
        gap = on > before
        if gap.any():  # fill gaps with rests, each placed before the event it precedes
            idx = np.flatnonzero(gap)
            gap_on, gap_du = before[idx], on[idx] - before[idx]
            on, du, pi = np.insert(on, idx, gap_on), np.insert(du, idx, gap_du), np.insert(pi, idx, -1)
        last = int(ends[-1]) if len(ends) else 0
        if self.end > last:
            on, du, pi = np.append(on, last), np.append(du, self.end - last), np.append(pi, -1)
        return on, du, pi

    def events(self) -> list[tuple[int, int, int | None]]:
        """:meth:`event_arrays` as ``(onset, duration, pitch or None)`` tuples of Python ints."""
        on, du, pi = self.event_arrays()
        return [(o, d, None if p < 0 else p) for o, d, p in zip(on.tolist(), du.tolist(), pi.tolist())]

    def notes(self) -> list[tuple[int, int, int, int]]:
        """``(onset, duration, pitch, velocity)`` of every note, as Python ints in ticks."""
        return list(
            zip(self.onset.tolist(), self.duration.tolist(), self.pitch.tolist(), self.velocity.tolist())
        )

    # ---- transformations -----------------------------------------------------------------------

    def transpose(self, semitones: int) -> Score:
        """Shift every pitch and key by ``semitones``; raises ValueError outside 0-127."""
        pitch = self.pitch + int(semitones)
        if len(pitch) and (pitch.min() < 0 or pitch.max() > 127):
            raise ValueError(f"transposing by {semitones} leaves the MIDI range 0-127")
        keys = [(t, transpose_tonic(tonic, semitones, mode), mode) for t, tonic, mode in self.keys]
        return self.replace(pitch=pitch, keys=keys)

    def resample(self, tpq: int) -> Score:
        """The same music at another resolution; raises ValueError if a time would not be whole.

        Use ``tunelab.corpus.transforms.quantize`` to snap times to a coarser grid instead.
        """
        if tpq == self.tpq:
            return self
        ratio = Fraction(tpq, self.tpq)

        def scale(x):
            x = np.asarray(x, dtype=np.int64)
            scaled = x * ratio.numerator
            if np.any(scaled % ratio.denominator):
                raise ValueError(f"times are not whole at tpq={tpq}; quantize first")
            return scaled // ratio.denominator

        return self.replace(
            onset=scale(self.onset),
            duration=scale(self.duration),
            tpq=tpq,
            time_signatures=[(int(scale(t)), n, d) for t, n, d in self.time_signatures],
            keys=[(int(scale(t)), k, m) for t, k, m in self.keys],
            pickup=int(scale(self.pickup)),
            end=int(scale(self.end)),
            rests=None if self.rests is None else scale(self.rests),
            form=None if self.form is None else self.form.scaled(lambda t: int(scale(t))),
        )

    # ---- meter ---------------------------------------------------------------------------------

    def meter_at(self, tick: int) -> tuple[int, int]:
        """(numerator, denominator) in force at ``tick``; 4/4 when the score has none."""
        num, den = 4, 4
        for t, n, d in self.time_signatures:
            if t > tick:
                break
            num, den = n, d
        return num, den

    def bar_length(self, num: int, den: int) -> int:
        """Ticks in one bar of num/den."""
        return self.tpq * 4 * num // den

    def bar_starts(self) -> np.ndarray:
        """Tick of every bar start in ``[0, end)``: 0, then ``pickup`` (if any), then bar by bar.

        A time signature change starts a new bar at its tick even if the previous bar was short.
        """
        changes = [t for t, _, _ in self.time_signatures if t > 0] + [self.end]
        starts = [0]
        tick = self.pickup if self.pickup > 0 else 0
        ci = 0
        while tick < self.end:
            while changes[ci] <= tick and changes[ci] < self.end:
                ci += 1
            if tick > starts[-1]:
                starts.append(tick)
            step = self.bar_length(*self.meter_at(tick))
            tick = min(tick + step, changes[ci]) if changes[ci] > tick else tick + step
        return np.array([s for s in starts if s < self.end] or [0], dtype=np.int64)

    def cut_bars(self) -> list[int]:
        """Where the bars start that a meter change cuts short (neither the pickup nor the last
        bar): a bar shorter than its meter, followed by another meter."""
        starts = [*self.bar_starts().tolist(), self.end]
        first = 1 if self.pickup else 0
        return [a for a, b in itertools.pairwise(starts[first:-1] + starts[-1:])
                if b < self.end and b - a < self.bar_length(*self.meter_at(a))]  # fmt: skip

    def beat_length(self, num: int, den: int) -> int:
        """Ticks in one beat: a dotted beat in compound meters (6/8, 9/8, 12/8), else 1/den; the
        whole bar where a beat is not whole ticks (a 32nd at 4 ticks a quarter)."""
        if self.tpq * 4 % den:
            return self.bar_length(num, den)
        unit = self.tpq * 4 // den
        return unit * 3 if num % 3 == 0 and num > 3 and den >= 8 else unit

    def beat_starts(self) -> np.ndarray:
        """Tick of every beat start in ``[0, end)``. Beats of a short first bar count back from
        its end, so the pickup's beats line up with the bars that follow."""
        bars = list(self.bar_starts()) + [self.end]
        beats = []
        for i, (a, b) in enumerate(itertools.pairwise(bars)):
            step = self.beat_length(*self.meter_at(a))
            if i == 0 and self.pickup > 0:
                first = b - step * ((b - a) // step)
                beats.extend(([a] if first > a else []) + list(range(first, b, step)))
            else:
                beats.extend(range(a, b, step))
        return np.array(beats, dtype=np.int64)

    # ---- comparison ----------------------------------------------------------------------------

    def __eq__(self, other) -> bool:
        if not isinstance(other, Score):
            return NotImplemented
        return self.diff(other) is None

    __hash__ = None  # mutable container of arrays

    def diff(self, other: Score, *, rests: bool = True, meta: bool = False) -> str | None:
        """A sentence naming the first difference from ``other`` (in quarter notes), or None.

        Times are compared at a common resolution, so scores at different ``tpq`` can be equal.
        """
        tpq = math.lcm(self.tpq, other.tpq)
        a, b = self.resample(tpq), other.resample(tpq)
        if len(a) != len(b):
            return f"{len(a)} notes vs {len(b)}"
        for name in ("onset", "duration", "pitch", "velocity"):
            x, y = getattr(a, name), getattr(b, name)
            bad = np.flatnonzero(x != y)
            if len(bad):
                i = int(bad[0])
                return (
                    f"note {i} (at {Fraction(int(a.onset[i]), tpq)} quarters) differs in {name}: "
                    f"{x[i]} vs {y[i]}"
                )
        for name in ("time_signatures", "keys", "pickup", "end", "tempo"):
            if getattr(a, name) != getattr(b, name):
                return f"{name} differ: {getattr(a, name)} vs {getattr(b, name)}"
        if (a.form or None) != (b.form or None):
            return f"form differs: {a.form} vs {b.form}"
        if rests and not _same_rests(a.rests, b.rests):
            return f"notated rests differ: {_rests_str(a.rests, tpq)} vs {_rests_str(b.rests, tpq)}"
        if meta and a.meta != b.meta:
            return f"meta differ: {a.meta} vs {b.meta}"
        return None

    def __repr__(self) -> str:
        title = self.meta.get("title") or self.meta.get("source") or ""
        meter = "/".join(map(str, self.meter_at(0)))
        return (
            f"Score({title!r}, {len(self)} notes, tpq={self.tpq}, {meter}, "
            f"pickup={self.pickup}, end={self.end})"
        )


def _same_rests(x, y) -> bool:
    if x is None or y is None:
        return x is None and y is None
    return x.shape == y.shape and bool(np.all(x == y))


def _rests_str(r, tpq) -> str:
    if r is None:
        return "none"
    return "[" + ", ".join(f"{Fraction(int(o), tpq)}+{Fraction(int(d), tpq)}" for o, d in r[:6]) + "]"
