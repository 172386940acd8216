"""attention-rnn: a recurrent network that attends over a window of its own recent outputs.

References: Bahdanau et al. 2015 (additive attention); Magenta's Attention RNN (attention over
the last n outputs); Kumar & Lal 2024 (../shared/reference/seeds/004_*). At step t the top
layer's output h_t attends over h_{t-W+1} .. h_t; the context and h_t are combined by a tanh
layer before the head. Shapes: B batch, T time, W window, C channels, V vocabulary.
"""

from __future__ import annotations

import torch
from torch import nn

from tunelab.models.base import SequenceModel
from tunelab.models.config import ModelConfig
from tunelab.models.rnn import recurrent_stack
from tunelab.models.state import rows


class AttentionRNNModel(SequenceModel):
    def __init__(self, config: ModelConfig):
        super().__init__()
        c = self.config = config
        self.embed = nn.Embedding(c.vocab_size, c.d_model)
        self.rnn = recurrent_stack(c)
        if c.attention == "additive":
            self.w_query = nn.Linear(c.hidden_size, c.hidden_size, bias=False)
            self.w_key = nn.Linear(c.hidden_size, c.hidden_size)
            self.v = nn.Linear(c.hidden_size, 1, bias=False)
        self.combine = nn.Linear(2 * c.hidden_size, c.hidden_size)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden_size, c.vocab_size)

    def forward(self, ids: torch.Tensor, state=None):
        """ids (B, T) -> logits (B, T, V); state = (recurrent state, last W - 1 outputs)."""
        h0, past = state if state else (None, None)
        out, h = self.rnn(self.drop(self.embed(ids)), h0)  # (B, T, C)
        keys = out if past is None else torch.cat([past, out], dim=1)  # (B, P + T, C)
        P = keys.shape[1] - out.shape[1]
        scores = self._scores(out, keys)  # (B, T, P + T)
        t = torch.arange(out.shape[1], device=ids.device)[:, None] + P
        j = torch.arange(keys.shape[1], device=ids.device)[None, :]
        allowed = (j <= t) & (j > t - self.config.attn_window)  # the window ending at t
        weights = scores.masked_fill(~allowed, float("-inf")).softmax(dim=-1)
        context = weights @ keys  # (B, T, C)
        mixed = torch.tanh(self.combine(torch.cat([out, context], dim=-1)))
        keep = self.config.attn_window - 1
        return self.head(self.drop(mixed)), (h, keys[:, max(0, keys.shape[1] - keep) :])

    @staticmethod
    def select_state(state: tuple, index: torch.Tensor) -> tuple:
        """The state of the batch rows ``index``: (layers, B, C) recurrent state, (B, W - 1, C) outputs."""
        return rows(state[0], index, dim=1), rows(state[1], index)

    def _scores(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        if self.config.attention == "dot":
            return query @ keys.transpose(1, 2) / query.shape[-1] ** 0.5
        q = self.w_query(query)[:, :, None]  # (B, T, 1, C)
        k = self.w_key(keys)[:, None]  # (B, 1, S, C)
        return self.v(torch.tanh(q + k)).squeeze(-1)  # (B, T, S)
