"""Recurrent families: stacked LSTM, GRU or Elman RNN, with optional residual connections.

References: Hochreiter & Schmidhuber 1997 (LSTM); Cho et al. 2014 (GRU); He et al. 2016
(residual connections, used between layers as in the CP vs NB notes).
Shapes: B batch, T time, V vocabulary, C channels.
"""

from __future__ import annotations

import torch
from torch import nn

from tunelab.models.base import SequenceModel
from tunelab.models.config import ModelConfig
from tunelab.models.state import rows

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class RNNModel(SequenceModel):
    """Embedding -> stacked recurrent layers (dropout between, optional residual) -> head.
    The family's name (lstm, gru, rnn) is the cell."""

    recurrent = True

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        cell = _CELLS[config.family]
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        sizes = [config.d_model] + [config.hidden_size] * config.n_layers
        self.layers = nn.ModuleList(
            cell(sizes[i], sizes[i + 1], batch_first=True) for i in range(config.n_layers)
        )
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)
        for layer in self.layers:
            set_forget_bias(layer, config.forget_bias)

    def forward(self, ids: torch.Tensor, state=None):
        """ids (B, T) -> logits (B, T, V) and the per-layer recurrent states."""
        x = self.drop(self.embed(ids))  # (B, T, C)
        state = state or [None] * len(self.layers)
        new_state = []
        one_step = ids.shape[1] == 1 and not torch.is_grad_enabled()  # generation: a step at a time
        for layer, h in zip(self.layers, state):
            out, h = (
                lstm_step(layer, x, h) if one_step and isinstance(layer, nn.LSTM) else layer(x, h)
            )  # (B, T, C)
            x = self.drop(out + x if self.config.residual else out)  # widths match (checked by the config)
            new_state.append(h)
        return self.head(x), new_state

    @staticmethod
    def select_state(state: list, index: torch.Tensor) -> list:
        """The state of the batch rows ``index``: recurrent states are (layers, B, C)."""
        return rows(state, index, dim=1)

    @classmethod
    def check(cls, config: ModelConfig) -> list[str]:
        problems = super().check(config)
        if config.residual and config.d_model != config.hidden_size:
            problems.append(
                "--residual needs --d-model equal to --hidden-size (layer input and output add up)"
            )
        return problems

    @classmethod
    def preset_options(cls, preset: str) -> dict:
        return {"residual": True}  # the presets' widths match, and deeper stacks train better with it

    @classmethod
    def scale_width(cls, options: dict, width: int) -> dict:
        return {**options, "d_model": width, "hidden_size": width}

    @classmethod
    def width_step(cls, options: dict) -> int:
        return 1


def lstm_step(layer: nn.LSTM, x: torch.Tensor, state=None):
    """One time step of a one-layer LSTM, (B, 1, C) -> (B, 1, H) and its state, as ``layer(x,
    state)`` computes it but in a handful of operations: the general kernel's set-up costs 5x
    the arithmetic of a step at generation's batch sizes."""
    b = x.shape[0]
    if state is None:
        zero = x.new_zeros(1, b, layer.hidden_size)
        state = (zero, zero)
    h, c = state
    gates = torch.addmm(layer.bias_ih_l0, x[:, 0], layer.weight_ih_l0.t())
    gates = torch.addmm(gates + layer.bias_hh_l0, h[0], layer.weight_hh_l0.t())
    i, f, g, o = gates.chunk(4, dim=1)  # PyTorch's gate order
    c = torch.sigmoid(f) * c[0] + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return h[:, None], (h[None], c[None])


def recurrent_stack(config: ModelConfig) -> nn.Module:
    """The LSTM or GRU stack of attention-rnn and hybrid (``config.cell``), dropout between layers."""
    stack = _CELLS[config.cell](
        config.d_model,
        config.hidden_size,
        num_layers=config.n_layers,
        batch_first=True,
        dropout=config.dropout if config.n_layers > 1 else 0.0,
    )
    set_forget_bias(stack, config.forget_bias)
    return stack


def set_forget_bias(layer: nn.Module, value: float) -> None:
    """Initialise an ``nn.LSTM``'s forget gates to ``value`` (their two biases add up: the
    input-side one gets it, the hidden-side one 0); other cells are left alone. PyTorch orders
    each bias as the input, forget, cell and output gates' H entries."""
    if not value or not isinstance(layer, nn.LSTM):
        return
    H = layer.hidden_size
    with torch.no_grad():
        for name, b in layer.named_parameters():
            if name.startswith("bias_"):
                b[H : 2 * H] = value if name.startswith("bias_ih") else 0.0
