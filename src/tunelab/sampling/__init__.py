"""Sampling: continue prompts with any trained model, batched, under the tokenizer's grammar.

>>> from tunelab.sampling import generate, Settings, Filters           # doctest: +SKIP
>>> samples = generate("runs/lstm", n=8, settings=Settings(Filters(temperature=0.9)))  # doctest: +SKIP
>>> samples[0].ids, samples[0].stop                                     # doctest: +SKIP

``generate`` loads a run and builds the prompts (none, a primer, seeds, or the study's
protocol); :func:`sample` is the loop itself for a model and tokenizer in hand.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tunelab.errors import ConfigError
from tunelab.sampling.filters import Filters, draw, probabilities
from tunelab.sampling.sampler import FALLBACK_STEPS, Sample, Settings, boundary, closed, sample
from tunelab.tokenizers.grid import GridTokenizer

STUDY = {"temperature": 0.7, "max_steps": 1500, "context": GridTokenizer.song_gap}  # reference/study-setup.md


def study_settings(settings: Settings | None = None) -> Settings:
    """The study's generation protocol: temperature 0.7, up to 1,500 steps (unless the settings
    give a cap), stop at ``/``."""
    s = settings or Settings()
    return replace(
        s,
        filters=Filters(temperature=STUDY["temperature"]),
        max_steps=STUDY["max_steps"] if s.max_steps is None else s.max_steps,  # a cap given is kept
        stop_at_end=True,
    )


def lookback_of(meta: dict | None) -> int | None:
    """How far back a run's model can look: the training sequence length for models with
    absolute positions (they never saw a position past it); None for the others."""
    spec = (meta or {}).get("model", {})
    if "config" not in spec:  # a study window model saved before they were families
        return None
    from tunelab.models import ModelConfig
    from tunelab.training.config import TrainConfig

    config = ModelConfig(**spec["config"])
    cls = config.family_class()
    if not cls.window_model and cls.absolute_positions(config):  # a window model reads its own window
        return int(meta.get("train", {}).get("seq_len", TrainConfig.seq_len))
    return None


def generate(
    run,
    n: int | None = None,
    *,
    prompts=None,
    settings: Settings | None = None,
    protocol: str | None = None,
    filters: Filters | None = None,
    device: str = "cpu",
    progress=None,
) -> list[Sample]:
    """Melodies from a run directory (``tunelab train --out``).

    Args:
        run: the run directory, or what ``load_run`` returned for it.
        n: how many melodies; with prompts, the first ``n`` (all by default), cycling through them
            in turn; without, ``n`` melodies from scratch (default 1).
        prompts: id arrays to continue (see :mod:`tunelab.sampling.prompts`).
        settings: :class:`Settings`; the run's lookback is filled in when unset.
        protocol: ``"study"``: 64 ``/`` before each prompt, temperature 0.7, at most 1,500
            steps, stop at ``/`` (grid models only).
        filters: sampling filters that replace the protocol's (the study's context and stops
            at temperature 1.0 with top-p 0.95, say); None: the protocol's or the settings'.
    """
    from tunelab.training.checkpoint import load_run

    model, tokenizer, meta = run if isinstance(run, tuple) else load_run(run, device)
    s = settings or Settings()
    if s.lookback is None:
        s = replace(s, lookback=lookback_of(meta))
    gap = 1
    if protocol == "study":
        if not tokenizer.song_gap:
            raise ConfigError(f"--protocol study needs a grid model (songs between separators); {run} uses "
                              f"{tokenizer.name}")  # fmt: skip
        s, gap = study_settings(s), STUDY["context"]
        if filters is not None:
            s = replace(s, filters=filters)
    elif protocol is not None:
        raise ConfigError(f"--protocol: unknown {protocol!r}; the one protocol is 'study'")
    elif tokenizer.song_gap:
        gap = int(meta.get("train", {}).get("gap") or tokenizer.song_gap)
    if s.max_steps is None:  # a melody longer than every training song has run away
        s = replace(s, max_steps=corpus_cap(meta))
    if isinstance(s.plan, (list, tuple)):  # one plan per prompt: cycled as the prompts are
        s = replace(s, plan=[s.plan[i % len(s.plan)] for i in range(len(expand(prompts, n)))])
    prompts = expand(prompts, n)
    return sample(model, tokenizer, prompts, s, context=boundary(tokenizer, gap), progress=progress)


def corpus_cap(meta: dict | None) -> int:
    """The default step cap of a run: its longest training song in tokens (runs trained before
    tunelab recorded it: :data:`FALLBACK_STEPS`)."""
    return int((meta or {}).get("data", {}).get("longest_song") or FALLBACK_STEPS)


def expand(prompts, n: int | None) -> list[np.ndarray]:
    """``n`` prompts: each given prompt repeated in turn, or ``n`` empty ones."""
    if not prompts:
        return [np.zeros(0, dtype=np.int64)] * (n or 1)
    if n is None or n <= len(prompts):
        return list(prompts)[: n or len(prompts)]
    return [prompts[i % len(prompts)] for i in range(n)]


__all__ = [
    "STUDY",
    "Filters",
    "Sample",
    "Settings",
    "boundary",
    "closed",
    "corpus_cap",
    "draw",
    "expand",
    "generate",
    "lookback_of",
    "probabilities",
    "sample",
    "study_settings",
]
