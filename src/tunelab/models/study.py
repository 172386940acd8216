"""The study's three models, layer for layer (reference/study-setup.md), as window models.

They read a window of one-hot ids and predict the token after it, as the study's Keras code
did; ``forward`` returns logits for that next token only, shape (B, 1, V), and generation
recomputes the window each step (``state`` is the window). Parameter counts (trainable, as
Keras reports them): the Transformer has the study's 10,543,917 exactly. The LSTM has 848,685
against 846,637 (+0.24%) and the Hybrid 8,178,989 against 8,176,941 (+0.03%): a PyTorch LSTM
layer has two bias vectors (input and recurrent) where Keras has one, 4 x 256 more per layer,
and both models have two LSTM layers.
Shapes: B batch, T window, V vocabulary, C channels.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from tunelab.models.base import SequenceModel
from tunelab.models.state import rows
from tunelab.models.transformer import sinusoidal


class _KerasMHA(nn.Module):
    """Keras MultiHeadAttention: H heads of width ``key_dim`` each, projected back to C."""

    def __init__(self, d_model: int, n_heads: int, key_dim: int, dropout: float):
        super().__init__()
        self.h, self.k = n_heads, key_dim
        self.q, self.kk, self.v = (nn.Linear(d_model, n_heads * key_dim) for _ in range(3))
        self.out = nn.Linear(n_heads * key_dim, d_model)
        self.drop = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        q, k, v = (
            p(x).view(B, T, self.h, self.k).transpose(1, 2) for p in (self.q, self.kk, self.v)
        )  # (B, H, T, K)
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.drop if self.training else 0.0
        )  # no causal mask
        return self.out(y.transpose(1, 2).reshape(B, T, self.h * self.k))


def _keras_block(d_model: int, n_heads: int, d_ff: int, dropout: float) -> nn.ModuleDict:
    """The layers of one of the study's encoder blocks: attention, two LayerNorms, feed-forward."""
    return nn.ModuleDict(
        {
            "attn": _KerasMHA(d_model, n_heads, d_model, dropout),
            "ln1": nn.LayerNorm(d_model),
            "ln2": nn.LayerNorm(d_model),
            "ff": nn.Sequential(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Linear(d_ff, d_model)),
        }
    )


class _StudyModel(SequenceModel):
    """The study's models are families of their own (``--model study-lstm``...), registered as
    the others are, at the study's sizes: they read a window of :data:`WINDOW` tokens and
    predict the one after it. Built from a ModelConfig (only its vocabulary counts) or a
    vocabulary size."""

    window_model = True
    fixed_size = True
    family = ""

    def _setup(self, config) -> int:
        from tunelab.models.config import ModelConfig

        if not isinstance(config, ModelConfig):
            config = ModelConfig(family=self.family, vocab_size=int(config))
        self.config = config
        return config.vocab_size

    @classmethod
    def check(cls, config) -> list[str]:
        if config.field_sizes is not None:
            return [f"--model {cls.family} reads flat token ids; use it with the grid encoding"]
        return []


class StudyLSTM(_StudyModel):
    """one-hot -> LSTM(256) -> BatchNorm -> LSTM(256) -> Dropout(0.2) -> Dense(V)."""

    family = "study-lstm"
    recurrent = True
    l2_default: ClassVar[dict] = {"lstm1.weight_ih_l0": 0.01}  # Keras L2(0.01) on the first LSTM's kernel

    def __init__(self, config=45, hidden: int = 256, dropout: float = 0.2):
        super().__init__()
        self.vocab_size = vocab_size = self._setup(config)
        self.lstm1 = nn.LSTM(vocab_size, hidden, batch_first=True)
        self.norm = nn.BatchNorm1d(hidden)
        self.lstm2 = nn.LSTM(hidden, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids: torch.Tensor, state=None):
        x, _ = self.lstm1(F.one_hot(ids, self.vocab_size).float())  # (B, T, C)
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        x, _ = self.lstm2(x)
        return self.head(self.drop(x[:, -1:])), ids

    def stream(self, ids: torch.Tensor, state=None):
        """Logits at every position, the two LSTM states carried (B, T) -> (B, T, V): how
        generation runs this model without recomputing a window each step. The state then
        reaches back past the window; with the window's 64 tokens from a zero state this is
        :meth:`forward`."""
        s1, s2 = state if state else (None, None)
        x, s1 = self.lstm1(F.one_hot(ids, self.vocab_size).float(), s1)
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        x, s2 = self.lstm2(x, s2)
        return self.head(self.drop(x)), (s1, s2)

    @staticmethod
    def select_state(state, index: torch.Tensor):
        return rows(state, index, dim=1)


class StudyTransformer(_StudyModel):
    """Dense(256) on one-hot; 4 blocks with the positional encoding re-added to each block's
    input, LayerNorm before the attention (8 heads x 256, no causal mask) and before the
    feed-forward (1024), residuals around both; the last position -> Dense(V)."""

    family = "study-transformer"
    carries_state = False  # no causal mask: every step recomputes the window

    def __init__(
        self,
        config=45,
        d_model: int = 256,
        n_blocks: int = 4,
        n_heads: int = 8,
        d_ff: int = 1024,
        dropout: float = 0.2,
    ):
        super().__init__()
        self.vocab_size = vocab_size = self._setup(config)
        self.d_model = d_model
        self.inp = nn.Linear(vocab_size, d_model)
        self.blocks = nn.ModuleList(_keras_block(d_model, n_heads, d_ff, dropout) for _ in range(n_blocks))
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, ids: torch.Tensor, state=None):
        x = self.inp(F.one_hot(ids, self.vocab_size).float())  # (B, T, C)
        pe = sinusoidal(torch.arange(ids.shape[1], device=ids.device), self.d_model)
        for b in self.blocks:
            h = b["ln1"](x + pe)  # the encoding is re-added every block; the residual skips it
            x = x + self.drop(b["attn"](h))
            x = x + self.drop(b["ff"](b["ln2"](x)))
        return self.head(x[:, -1:]), ids


class StudyHybrid(_StudyModel):
    """Dense(256) on one-hot, no positions; 3 pre-LN encoder blocks (8 heads x 256, FF 512,
    dropout 0.1); the whole window of encoder outputs -> LSTM(256) -> BatchNorm -> LSTM(256)
    -> Dropout(0.2) -> Dense(V)."""

    family = "study-hybrid"
    carries_state = False  # no causal mask: every step recomputes the window
    l2_default: ClassVar[dict] = {"lstm1.weight_ih_l0": 0.01}  # Keras L2(0.01) on the first LSTM's kernel

    def __init__(
        self,
        config=45,
        d_model: int = 256,
        n_blocks: int = 3,
        n_heads: int = 8,
        d_ff: int = 512,
        hidden: int = 256,
    ):
        super().__init__()
        self.vocab_size = vocab_size = self._setup(config)
        self.inp = nn.Linear(vocab_size, d_model)
        self.blocks = nn.ModuleList(_keras_block(d_model, n_heads, d_ff, 0.1) for _ in range(n_blocks))
        self.enc_drop = nn.Dropout(0.1)
        self.lstm1 = nn.LSTM(d_model, hidden, batch_first=True)
        self.norm = nn.BatchNorm1d(hidden)
        self.lstm2 = nn.LSTM(hidden, hidden, batch_first=True)
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids: torch.Tensor, state=None):
        x = self.inp(F.one_hot(ids, self.vocab_size).float())  # (B, T, C)
        for b in self.blocks:
            x = x + self.enc_drop(b["attn"](b["ln1"](x)))
            x = x + self.enc_drop(b["ff"](b["ln2"](x)))
        x, _ = self.lstm1(x)
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        x, _ = self.lstm2(x)
        return self.head(self.drop(x[:, -1:])), ids


STUDY_PARAMETERS = {"study-lstm": 846_637, "study-transformer": 10_543_917, "study-hybrid": 8_176_941}
PRESETS = {cls.family: cls for cls in (StudyLSTM, StudyTransformer, StudyHybrid)}  # registered as families


def trainable_parameters(model: nn.Module) -> int:
    """Trainable parameters as Keras counts them (BatchNorm's running statistics excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
