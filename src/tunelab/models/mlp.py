"""mlp: a feed-forward network over a fixed window of the last tokens, the no-memory baseline.

The next token is predicted from the last ``attn_window`` tokens only (Bengio et al. 2003, "A
Neural Probabilistic Language Model"): their embeddings, concatenated, go through ``n_layers``
ReLU layers of ``hidden_size`` units. Nothing older than the window reaches the prediction, so
it measures how much of a melody a model needs to remember. Before the first token the window
is zero embeddings; the carried state is the last ``attn_window - 1`` embeddings.
Shapes: B batch, T time, W window, C channels, V vocabulary.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

from tunelab.models.base import SequenceModel
from tunelab.models.config import ModelConfig
from tunelab.models.state import rows


class MLPModel(SequenceModel):
    def __init__(self, config: ModelConfig):
        super().__init__()
        c = self.config = config
        self.embed = nn.Embedding(c.vocab_size, c.d_model)
        sizes = [c.attn_window * c.d_model] + [c.hidden_size] * c.n_layers
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(sizes))
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(sizes[-1], c.vocab_size)

    def forward(self, ids: torch.Tensor, state=None):
        """ids (B, T) -> logits (B, T, V); state: the last W - 1 embeddings (B, W - 1, C)."""
        W = self.config.attn_window
        x = self.drop(self.embed(ids))  # (B, T, C)
        past = state if state is not None else x.new_zeros(x.shape[0], W - 1, x.shape[2])
        seq = torch.cat([past, x], dim=1)  # (B, W - 1 + T, C)
        windows = seq.unfold(1, W, 1)  # (B, T, C, W): the window ending at each new token
        h = windows.transpose(2, 3).reshape(x.shape[0], x.shape[1], -1)  # (B, T, W x C), oldest first
        for layer in self.layers:
            h = self.drop(torch.relu(layer(h)))
        return self.head(h), seq[:, seq.shape[1] - (W - 1) :]

    @staticmethod
    def select_state(state: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return rows(state, index)

    @classmethod
    def scale_width(cls, options: dict, width: int) -> dict:
        return {**options, "d_model": width, "hidden_size": width}

    @classmethod
    def width_step(cls, options: dict) -> int:
        return 1
