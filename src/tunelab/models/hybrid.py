"""hybrid: a Transformer encoder feeding an LSTM decoder (the study's proposal, causal form).

Causal Transformer blocks (as in :mod:`tunelab.models.transformer`, with a KV cache) turn the
embedded ids into contextual vectors; stacked LSTM/GRU layers read those vectors in order; a
head predicts the next id at every position. The study's window form (a non-causal encoder
over a 64-token window, next token only) is a preset for the training issue's window mode.
Shapes: B batch, T time, C channels, V vocabulary.
"""

from __future__ import annotations

import torch
from torch import nn

from tunelab.models.base import SequenceModel
from tunelab.models.config import ModelConfig
from tunelab.models.rnn import recurrent_stack
from tunelab.models.state import last_keys, rows
from tunelab.models.transformer import _Block, attention_problems, input_embedding, sinusoidal


class HybridModel(SequenceModel):
    def __init__(self, config: ModelConfig):
        super().__init__()
        c = self.config = config
        self.embed, self.scale = input_embedding(c)
        self.blocks = nn.ModuleList(_Block(c, linear=False) for _ in range(c.encoder_layers))
        self.ln = nn.LayerNorm(c.d_model)
        self.rnn = recurrent_stack(c)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden_size, c.vocab_size)

    def forward(self, ids: torch.Tensor, state=None):
        """ids (B, T) -> logits (B, T, V); state = position, per-block caches, recurrent state."""
        start, caches, h = (
            (state["pos"], state["cache"], state["rnn"]) if state else (0, [None] * len(self.blocks), None)
        )
        x = self.embed(ids) * self.scale  # (B, T, C)
        if self.config.positional == "sinusoidal":
            x = x + sinusoidal(
                torch.arange(start, start + ids.shape[1], device=ids.device), self.config.d_model
            )
        x = self.drop(x)
        new = []
        for block, cache in zip(self.blocks, caches):
            x, cache = block(x, cache)
            new.append(cache)
        out, h = self.rnn(self.ln(x), h)  # (B, T, C)
        return self.head(self.drop(out)), {"pos": start + ids.shape[1], "cache": new, "rnn": h}

    @staticmethod
    def select_state(state: dict, index: torch.Tensor) -> dict:
        """The state of the batch rows ``index``: caches (B, ...), recurrent state (layers, B, C)."""
        return {
            "pos": state["pos"],
            "cache": rows(state["cache"], index),
            "rnn": rows(state["rnn"], index, 1),
        }

    def slide(self, state: dict, keep: int) -> dict | None:
        """The encoder attends to the last ``keep`` steps only (None with absolute positions)."""
        if self.absolute_positions(self.config):
            return None
        return {**state, "cache": last_keys(state["cache"], keep)}

    @classmethod
    def absolute_positions(cls, config: ModelConfig) -> bool:
        return config.positional in ("sinusoidal", "learned")

    @classmethod
    def check(cls, config: ModelConfig) -> list[str]:
        return attention_problems(config, one_hot=True)
