"""What a melody asked for must be: the controls a grammar enforces at every step.

A :class:`Plan` is given to a tokenizer's grammar (``tok.grammar(plan)``) when sampling. Its
meter is the meter of every bar (the first meter token can name no other, and none follows);
its pickup is the upbeat's length (0: the melody starts on a downbeat); its bars are how many
bars the melody has from the first full one: it ends exactly ``bars`` bars of the meter after
its start, that is on the bar line of bar ``bars`` (with an upbeat, the last bar is short by the
upbeat, as written tunes end), never before it, and no note sounds past it. Controls a grammar
cannot enforce (key, mode, tune type) are conditioning: items in the prompt.
"""

from __future__ import annotations

from dataclasses import dataclass

from tunelab.errors import ConfigError


@dataclass(frozen=True)
class Plan:
    meter: tuple[int, int] | None = None
    bars: int | None = None
    pickup: int | None = None  # steps of the grid; None: as the model likes

    def __post_init__(self):
        if self.meter is not None and (len(self.meter) != 2 or min(self.meter) <= 0):
            raise ConfigError(f"a meter is two positive numbers, got {self.meter}")
        if self.bars is not None and self.bars <= 0:
            raise ConfigError(f"--bars must be positive, got {self.bars}")
        if self.pickup is not None and self.pickup < 0:
            raise ConfigError(f"--pickup must be 0 or more, got {self.pickup}")
        if (self.bars is not None or self.pickup) and self.meter is None:
            raise ConfigError("a number of bars or an upbeat needs a meter to count them in")

    def bar_steps(self, steps_per_quarter: int) -> int:
        num, den = self.meter
        if steps_per_quarter * 4 * num % den:
            raise ConfigError(f"a {num}/{den} bar is not whole steps at {steps_per_quarter} steps a quarter")
        return steps_per_quarter * 4 * num // den

    def end(self, steps_per_quarter: int) -> int | None:
        """Where the melody ends, in steps from its start (None: where the model ends it)."""
        if self.bars is None:
            return None
        return self.bars * self.bar_steps(steps_per_quarter)

    def check(self, steps_per_quarter: int) -> None:
        """ConfigError for a plan a grid cannot hold (an upbeat of a bar or more, say)."""
        if self.meter is None:
            return
        length = self.bar_steps(steps_per_quarter)
        if self.pickup is not None and self.pickup >= length:
            raise ConfigError(
                f"an upbeat of {self.pickup} steps is a bar or more of {self.meter[0]}/{self.meter[1]}"
            )
