"""How a model is advanced one step during generation, whatever its family.

A stepper hides what a family carries between steps: ``start(ids)`` reads a whole context once
and gives the next-token logits, ``step(ids)`` reads the next steps of every row (usually one),
``keep(index)`` keeps the rows ``index`` (drops finished ones, or copies one row to many: a
prefix every row shares is read once, at batch size 1). Three kinds:

- :class:`Carried`: every causal family (``forward(ids, state)``): recurrent state, KV cache or
  running sums carried, nothing recomputed. With ``lookback`` set, attention looks back at most
  that far: models with relative or no positions slide their KV cache (the oldest step drops
  out); models with absolute positions, which never saw a position past their training length,
  re-read the last ``lookback // 2`` tokens from position 0 when the next would pass it
  (amortised, one extra token of work per generated token).
- :class:`Window`: the study's window models, whose attention has no causal mask: the last W
  tokens are recomputed every step, as the study did, but for the whole batch at once.
- :class:`Compound`: :class:`Carried` for compound models, returning hidden states; the fields
  are sampled by the sampler through the model's heads.
Shapes: B batch, T time, F fields, V vocabulary, C channels.
"""

from __future__ import annotations

import torch


class Carried:
    def __init__(self, model, lookback: int | None = None):
        self.model, self.lookback = model, lookback
        self.run = model.stream  # the carried-state form (study-lstm: of a window model)
        self.state, self.pos = None, 0
        self.device = next(model.parameters()).device

    def _out(self, out: torch.Tensor) -> torch.Tensor:
        return out[:, -1].cpu()  # the sampler masks and draws on the CPU

    def start(self, ids: torch.Tensor) -> torch.Tensor:
        out, self.state = self.run(ids.to(self.device), None)
        self.pos = ids.shape[1]
        return self._out(out)

    def step(self, ids: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        """``ids`` (B, T) the newest steps; ``history`` (B, pos + T) every step so far, newest last."""
        T = ids.shape[1]
        if self.lookback and self.pos + T > self.lookback:
            keep = max(self.lookback - T, 0)
            slid = self.model.slide(self.state, keep)
            if slid is None:  # absolute positions: re-read the recent past from position 0
                return self.start(history[:, -max(self.lookback // 2, T) :])
            self.state = slid
        out, self.state = self.run(ids.to(self.device), self.state)
        self.pos += T
        return self._out(out)

    def keep(self, index: torch.Tensor) -> None:
        self.state = self.model.select_state(self.state, index.to(self.device))


class Compound(Carried):
    def __init__(self, model, lookback: int | None = None):
        super().__init__(model, lookback)
        self.run = model.body  # hidden states; the sampler calls the heads


class Window:
    def __init__(self, model, width: int, pad_id: int):
        self.model, self.width, self.pad_id = model, width, pad_id
        self.window: torch.Tensor | None = None
        self.device = next(model.parameters()).device

    def start(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.shape[1] < self.width:  # the study's context is 64 `/`: pad with the separator
            ids = torch.cat([ids.new_full((ids.shape[0], self.width - ids.shape[1]), self.pad_id), ids], 1)
        self.window = ids[:, -self.width :]
        return self.model(self.window.to(self.device))[0][:, -1].cpu()

    def step(self, ids: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        return self.start(torch.cat([self.window, ids], dim=1))

    def keep(self, index: torch.Tensor) -> None:
        self.window = self.window.index_select(0, index)


def stepper(model, *, window: bool | None = None, lookback: int | None = None, pad_id: int = 0):
    """The stepper for ``model`` (a :class:`tunelab.models.SequenceModel`): window models
    recompute their window unless they can carry state and ``window`` is not True."""
    if model.compound:
        return Compound(model, lookback)
    if model.window_model and (window or not model.carries_state):
        return Window(model, model.window, pad_id)
    return Carried(model, lookback)
