"""The contract every model family keeps, and the optional capabilities it may declare.

A family is a subclass of :class:`SequenceModel` registered by name in
:mod:`tunelab.models.registry`. Everything outside ``models/`` (training, sampling, the study)
asks a model or its class for what it can do through the attributes and methods below, never by
its family's name, and never by probing for attributes.

Required: ``forward(ids, state=None) -> (logits, state)`` (feeding a sequence one step at a time
with the state carried gives the same logits as feeding it whole) and ``select_state(state,
index)`` (the state of some batch rows). Optional, with their defaults here:

- ``stream``: the carried-state form used for generation (``forward`` itself, except for window
  models that also have a carried form); ``carries_state``: whether stepping with a carried state
  is possible at all;
- ``slide(state, keep)``: the state attending to the last ``keep`` steps only (a sliding KV
  cache), or None where that would change what positions mean;
- ``absolute_positions(config)``: whether the model never saw a position past its training
  length (generation then re-reads a recent window instead of sliding);
- ``window_model`` / ``window``: the study's window models, which read a fixed window and predict
  only the token after it;
- ``compound`` with ``body`` / ``field_logits`` / ``first_field``: per-field heads (cp, nb);
- ``l2_default``: the Keras-style L2 penalties the family's own recipe asks for;
- ``body_width(config)``: the width of the body's output (per-field heads read it);
- ``check(config)``: the family's own configuration problems (one message each);
- ``preset_options(preset)``: what the ``tiny`` / ``small`` presets set for this family;
- ``scale_width(options, width)``: the options of this family at another width (the encodings
  study matches parameter counts with it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import torch
from torch import nn

STUDY_WINDOW = 64  # the study's models read 64 tokens and predict the one after them
ONE_HOT_PROBLEM = (
    "--embedding onehot is for flat transformer and hybrid models with --d-model equal to the vocabulary size"
)


class SequenceModel(nn.Module, ABC):
    """Base class of every family: ids in, next-token logits out, with a carried state. A family
    that leaves out ``forward`` cannot be built (an abstract method)."""

    recurrent: ClassVar[bool] = False  # a recurrent body (its embedding and state widths go together)
    carries_state: ClassVar[bool] = True  # generation can step with a carried state
    window_model: ClassVar[bool] = False  # reads a fixed window, predicts the token after it only
    window: ClassVar[int] = STUDY_WINDOW  # the window of a window model
    fixed_size: ClassVar[bool] = (
        False  # the family has one size (the study's): --size and size flags do not apply
    )
    compound: ClassVar[bool] = False  # per-field heads over compound words
    first_field: int = 0  # compound: the field predicted first
    l2_default: ClassVar[dict] = {}  # parameter-name glob -> Keras-style L2 coefficient

    @abstractmethod
    def forward(self, ids: torch.Tensor, state=None):
        """``(logits [B, T, V] (or per field), state)`` for ``ids`` [B, T], carrying ``state``."""

    def select_state(self, state, index: torch.Tensor):
        """The state of the batch rows ``index`` (sampling drops finished sequences). A family
        that carries state defines it (the shared model tests check that it does); a family
        that does not (``carries_state = False``) has none to select."""
        if self.carries_state:
            raise TypeError(f"{type(self).__name__} carries state but does not define select_state")
        return state

    def stream(self, ids: torch.Tensor, state=None):
        """The carried-state form: logits at every position, the state carried."""
        return self(ids, state)

    def slide(self, state, keep: int):
        """The state attending to the last ``keep`` steps only; None: this model cannot slide."""
        return None

    @classmethod
    def absolute_positions(cls, config) -> bool:
        """Whether positions are absolute (a model never saw one past its training length)."""
        return False

    @classmethod
    def body_width(cls, config) -> int:
        """The width of the body's output, which heads read."""
        return config.hidden_size

    @classmethod
    def check(cls, config) -> list[str]:
        """Problems with ``config`` that only this family has (empty: none). One-hot input is
        for the families that say so."""
        if config.embedding == "onehot":
            return [ONE_HOT_PROBLEM]
        return []

    @classmethod
    def preset_options(cls, preset: str) -> dict:
        """ModelConfig fields the ``tiny`` and ``small`` presets set for this family."""
        return {}

    @classmethod
    def scale_width(cls, options: dict, width: int) -> dict:
        """``options`` with the model's width set to ``width``."""
        return {**options, "d_model": width}

    @classmethod
    def width_step(cls, options: dict) -> int:
        """The widths this family takes are multiples of this (its heads divide d_model; the
        presets have 4)."""
        return options.get("n_heads", 4)
