"""A melody on request: what a model is asked for, checked against what it knows, turned into a
prompt (the controls a model conditions on, as its training songs began) and a plan (what the
grammar enforces at every step).

>>> r = Request(key="D", mode="dorian", meter=(6, 8), bars=16, type="jig")   # doctest: +SKIP
>>> prompt, plan = r.compile(tokenizer)                                       # doctest: +SKIP

Meter, upbeat and length are enforced (:class:`tunelab.tokenizers.plan.Plan`): a 16-bar jig has
16 bars of 6/8 and ends on the last bar line. Key, mode and tune type are conditioning: the prompt
names them as the model's training songs named theirs, and the model follows as well as it
learned to (measured in docs/results.md). A control the model was not trained with is refused,
naming what it knows, never written on a melody that does not have it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tunelab.errors import ConfigError
from tunelab.score import Score, tonic_pitch_class
from tunelab.tokenizers import controls as C
from tunelab.tokenizers.plan import Plan

MODES = tuple(m for m in C.MODES if m)


@dataclass(frozen=True)
class Request:
    """What a melody is asked to be; None: the model's choice."""

    key: str | None = None  # tonic: "D", "F#", "Bb"
    mode: str | None = None  # major, minor, dorian, phrygian, lydian, mixolydian, locrian
    meter: tuple[int, int] | None = None
    bars: int | None = None
    pickup: float | None = None  # quarters of upbeat (0: none)
    type: str | None = None  # reel, jig, hornpipe...

    def __post_init__(self):
        problems = []
        if self.key is not None:
            try:
                tonic_pitch_class(self.key)
            except ValueError:
                problems.append(f"--key: {self.key!r} is not a tonic (C, F#, Bb...)")
        if self.mode is not None and self.mode not in MODES:
            problems.append(f"--mode: {self.mode!r} is not one of {', '.join(MODES)}")
        if self.bars is not None and not 1 <= self.bars <= C.MAX_BARS:
            problems.append(f"--bars must be 1 to {C.MAX_BARS}, got {self.bars}")
        if self.pickup is not None and self.pickup < 0:
            problems.append(f"--pickup must be 0 or more quarters, got {self.pickup}")
        if problems:
            raise ConfigError("; ".join(problems))

    def asks(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def compile(self, tokenizer) -> tuple[np.ndarray, Plan | None]:
        """(the prompt that conditions the model, the plan its grammar keeps). ConfigError for a
        control the tokenizer was not trained with, or a value it never saw, naming what it knows."""
        known = knows(tokenizer)
        self._refuse_unknown(tokenizer, known)
        if (self.bars is not None or self.pickup) and self.meter is None:  # bars are counted in a meter
            if len(known["meter"]) != 1:
                flag = "--bars" if self.bars is not None else "--pickup"
                shown = ", ".join(f"{n}/{d}" for n, d in known["meter"]) or "none: it cannot count bars"
                raise ConfigError(f"{flag} needs --meter (this model knows {shown})")
            return Request(**{**self.__dict__, "meter": known["meter"][0]}).compile(tokenizer)
        steps = tokenizer.steps_per_quarter
        pickup = None if self.pickup is None else round(self.pickup * steps)
        if self.pickup is not None and abs(self.pickup * steps - pickup) > 1e-9:
            raise ConfigError(
                f"--pickup {self.pickup}: not whole steps of the model's grid ({steps} a quarter)"
            )
        if self.bars is not None and pickup is None:
            pickup = 0
        plan = Plan(self.meter, self.bars, pickup) if self.meter or self.bars or pickup else None
        if plan is not None:
            plan.check(steps)
        return self._prompt(tokenizer, pickup or 0), plan

    def _refuse_unknown(self, tokenizer, known: dict) -> None:
        def refuse(flag: str, value, values) -> None:
            shown = ", ".join(sorted(map(str, values))) if values else "none (it was trained without one)"
            raise ConfigError(f"--{flag} {value}: this model knows {shown}")

        if self.meter is not None and self.meter not in known["meter"]:
            refuse("meter", f"{self.meter[0]}/{self.meter[1]}", [f"{n}/{d}" for n, d in known["meter"]])
        if self.type is not None and C.tune_type(self.type) not in known["type"]:
            refuse("type", self.type, known["type"])
        if self.bars is not None and known["bars"] and self.bars > max(known["bars"]):
            refuse("bars", self.bars, [f"1 to {max(known['bars'])}"])
        if (self.key is not None or self.mode is not None) and not known["key"]:
            refuse("key" if self.key is not None else "mode", self.key or self.mode, [])
        if self.mode is not None and self.mode not in {m for _, m in known["key"]}:
            refuse("mode", self.mode, sorted({m for _, m in known["key"] if m}))
        if self.key is not None:
            tonics = {t for t, m in known["key"] if self.mode is None or m == self.mode}
            if self.key not in tonics:
                refuse("key", self.key + (f" {self.mode}" if self.mode else ""), sorted(tonics))

    def _prompt(self, tokenizer, pickup: int) -> np.ndarray:
        """The ids a song with these controls begins with: a song of no notes encoded, cut after
        the controls at its start (each encoding places them as it places them in training)."""
        steps = tokenizer.steps_per_quarter
        meter = self.meter or (4, 4)
        bar = steps * 4 * meter[0] // meter[1]
        end = (self.bars or 1) * bar
        tss = [(0, *self.meter)] if self.meter else []
        keys = [(0, self.key, self.mode or "major")] if self.key else []
        meta = {"rhythm": self.type} if self.type else {}
        template = Score(
            [], [], [], tpq=steps, time_signatures=tss, keys=keys, pickup=pickup, end=end, meta=meta
        )
        return tokenizer.head(template, bars=self.bars is not None)


def knows(tokenizer) -> dict:
    """The controls and values a fitted tokenizer was trained with: meters, keys ``(tonic,
    mode)``, tune types, bar counts."""
    items = tokenizer.items
    meters = [tuple(m) for m in tokenizer.meters_seen or []]
    if not tokenizer.carries_meter:
        meters = [tuple(map(int, n[2:].split("/"))) for n in items if n.startswith("M:") and "/" in n]
    keys = []
    for n in items:
        if n.startswith("K:"):
            k = C._key(n[2:])
            if k:
                keys.append(k)
    return {
        "meter": meters,
        "key": keys,
        "type": [n[2:] for n in items if n.startswith("T:")],
        "bars": [int(n[2:]) for n in items if n.startswith("B:")],
    }
