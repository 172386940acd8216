"""Value vocabularies the event encodings share: meters, positions, durations, velocities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Velocity levels: 16 steps of 8 (MIDI 80, the default of scores without dynamics, is one).
VELOCITIES = (8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 127)


@dataclass(frozen=True)
class Values:
    """The value ranges of an event encoding at one grid resolution.

    Attributes:
        steps_per_quarter: grid resolution.
        max_bar_quarters: the longest bar (Essen tunes without barlines reach 133 quarters).
        max_duration_quarters: the longest note; longer ones are clipped.
        max_meter_denominator: the finest meter denominator (64: 3/32 and 5/64 exist where the
            grid holds their bars; 16 was the limit before, and tokenizers saved then keep it).
    """

    steps_per_quarter: int = 4
    max_bar_quarters: int = 136
    max_duration_quarters: int = 16
    max_meter_denominator: int = 64

    @property
    def meters(self) -> list[tuple[int, int]]:
        """Every num/den (den a power of two up to ``max_meter_denominator``) whose bar fits
        ``max_bar_quarters`` and is whole grid steps (at most 128 numerators below quarters)."""
        out = []
        for den in (1, 2, 4, 8, 16, 32, 64):
            if den > self.max_meter_denominator:
                break
            top = self.max_bar_quarters * den // 4
            for num in range(1, (top if den <= 4 else min(128, top)) + 1):
                if (self.steps_per_quarter * 4 * num) % den == 0:  # whole steps per bar
                    out.append((num, den))
        return out

    @property
    def max_bar_steps(self) -> int:
        return self.max_bar_quarters * self.steps_per_quarter

    @property
    def max_duration_steps(self) -> int:
        return self.max_duration_quarters * self.steps_per_quarter

    def bar_steps(self, meter: tuple[int, int]) -> int:
        return self.steps_per_quarter * 4 * meter[0] // meter[1]


# Nearest level for every MIDI velocity, computed once (lower level on a tie).
_NEAREST = tuple(int(np.argmin([abs(v - x) for x in VELOCITIES])) for v in range(128))


def velocity_index(v: int) -> int:
    """Index of the nearest velocity level."""
    return _NEAREST[v]
