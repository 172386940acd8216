"""Compound-word models (cp, nb): any family's body with per-field embeddings and heads.

One word of F fields is one time step. Its fields are embedded apart and summed, the family's
body (recurrent layers or causal blocks) reads the sums, and per-field heads predict the next
word. One field is predicted first (CP's family field, NB's bar-state field, or NB's pitch in
the pitch-first variant) and the other heads see its value: the true one in training (teacher
forcing), the sampled one in generation (Hsiao et al. 2021, "Compound Word Transformer";
the CP vs NB notes in ../shared/reference/seeds/).
Shapes: B batch, T time, F fields, C channels, V_f field vocabulary.
"""

from __future__ import annotations

import torch
from torch import nn

from tunelab.models.base import SequenceModel
from tunelab.models.config import ModelConfig


class FieldEmbedding(nn.Module):
    """(B, T, F) ids -> (B, T, C): the sum of one embedding per field."""

    def __init__(self, sizes: list[int], width: int):
        super().__init__()
        self.fields = nn.ModuleList(nn.Embedding(v, width) for v in sizes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return sum(emb(ids[..., f]) for f, emb in enumerate(self.fields))


class CompoundModel(SequenceModel):
    """Per-field embeddings -> a family's body -> the first field's head, then the other heads
    conditioned on the first field's value.

    ``forward(ids, state=None, first=None) -> (logits, state)`` where ``logits`` is a list of F
    tensors (B, T, V_f) in field order. ``first`` (B, T) is the first field's value for the
    next word: the targets' in training; None takes the argmax of its head (scoring without
    teacher forcing). Generation calls :meth:`body` once per step and :meth:`heads` after
    sampling the first field.
    """

    compound = True

    def __init__(self, config: ModelConfig):
        super().__init__()
        from dataclasses import replace

        from tunelab.models import build  # the family's body

        self.config, self.field_sizes, self.first_field = config, list(config.field_sizes), config.first_field
        self.core = build(replace(config, field_sizes=None))
        width = config.d_model
        hidden = config.family_class().body_width(config)
        self.core.embed = FieldEmbedding(self.field_sizes, width)
        self.core.head = nn.Identity()  # the body's output is the hidden state
        self.first_head = nn.Linear(hidden, self.field_sizes[self.first_field])
        self.first_embed = nn.Embedding(self.field_sizes[self.first_field], width)
        self.condition = nn.Sequential(nn.Linear(hidden + width, hidden), nn.GELU())
        self.heads = nn.ModuleList(nn.Linear(hidden, v) for v in self.field_sizes)

    @property
    def embed(self) -> FieldEmbedding:
        return self.core.embed

    def body(self, ids: torch.Tensor, state=None):
        """ids (B, T, F) -> hidden (B, T, C) and the family's state."""
        return self.core(ids, state)

    def field_logits(self, hidden: torch.Tensor, first: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Logits per field; the non-first heads see ``first`` (argmax of its head if None)."""
        first_logits = self.first_head(hidden)
        if first is None:
            first = first_logits.argmax(dim=-1)
        h = self.condition(torch.cat([hidden, self.first_embed(first)], dim=-1))
        out = [head(h) for head in self.heads]
        out[self.first_field] = first_logits
        return out

    def select_state(self, state, index: torch.Tensor):
        return self.core.select_state(state, index)

    def slide(self, state, keep: int):
        return self.core.slide(state, keep)

    @classmethod
    def absolute_positions(cls, config: ModelConfig) -> bool:
        return config.family_class().absolute_positions(config)

    def forward(self, ids: torch.Tensor, state=None, first: torch.Tensor | None = None):
        hidden, state = self.body(ids, state)
        return self.field_logits(hidden, first), state
