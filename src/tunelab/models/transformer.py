"""Decoder-only Transformers: softmax attention with a KV cache, and causal linear attention
with its recurrent form.

References: Vaswani et al. 2017; the study's sinusoidal encoding (reference/study-setup.md:
PE = concat(sin(angles[:, 0::2]), cos(angles[:, 1::2]))); Katharopoulos et al. 2020,
"Transformers are RNNs" (linear attention, feature map elu + 1).
Shapes: B batch, T new steps, S steps so far (cache), H heads, D head width, C model width.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from tunelab.models.base import ONE_HOT_PROBLEM, SequenceModel
from tunelab.models.config import ModelConfig
from tunelab.models.state import last_keys, rows


def attention_problems(config: ModelConfig, *, one_hot: bool) -> list[str]:
    """The configuration problems every family with softmax or linear attention blocks checks."""
    problems = []
    if config.head_dim is None and config.d_model % max(config.n_heads, 1):
        problems.append(f"--d-model {config.d_model} must be a multiple of --n-heads {config.n_heads}")
    if config.embedding == "onehot" and (
        not one_hot or config.d_model != config.vocab_size or config.field_sizes
    ):
        problems.append(ONE_HOT_PROBLEM)
    return problems


def sinusoidal(positions: torch.Tensor, d_model: int) -> torch.Tensor:
    """The study's positional encoding: angles = pos / 10000^(2 (i // 2) / d), then the sines
    of the even columns beside the cosines of the odd ones. (T,) -> (T, C)."""
    i = torch.arange(d_model, device=positions.device)
    rates = 1.0 / torch.pow(10000.0, (2 * (i // 2)).float() / d_model)
    angles = positions.float()[:, None] * rates[None, :]  # (T, C)
    return torch.cat([torch.sin(angles[:, 0::2]), torch.cos(angles[:, 1::2])], dim=-1)


def input_embedding(config: ModelConfig) -> tuple[nn.Embedding, float]:
    """The id embedding and the factor its output is multiplied by: learned (see
    :func:`scaled_embedding`), or one-hot (``embedding="onehot"``: the identity, frozen, with
    d_model = vocab_size; the study's "no embedding" ablation feeds one-hot vectors straight to
    the encoder)."""
    if config.embedding == "onehot":
        embed = nn.Embedding(config.vocab_size, config.d_model)
        with torch.no_grad():
            embed.weight.copy_(torch.eye(config.vocab_size))
        embed.weight.requires_grad_(False)
        return embed, 1.0
    return scaled_embedding(config.vocab_size, config.d_model), math.sqrt(config.d_model)


def scaled_embedding(vocab_size: int, d_model: int) -> nn.Embedding:
    """An embedding initialised with std d_model^-0.5, so that after the usual sqrt(d_model)
    scaling it has unit size like the positional encoding (PyTorch's default std 1 would make
    it sqrt(d_model) times larger and drown the positions)."""
    embed = nn.Embedding(vocab_size, d_model)
    nn.init.normal_(embed.weight, std=d_model**-0.5)
    return embed


class _Block(nn.Module):
    """Pre-LayerNorm block: x + attn(ln(x)), then x + mlp(ln(x)).

    Heads are ``head_dim`` wide (d_model / n_heads unless set). When the heads together are
    wider than the model (the study's 8 x 256 at d_model 256), generation caches the block's
    normalised inputs, C numbers per step, instead of keys and values, 2 x H x D: a step folds
    the key projection into the query and the value projection after the weighted sum, which
    is the same attention (a key's bias adds the same to every score) for an eighth of the
    memory read per step."""

    def __init__(self, config: ModelConfig, linear: bool):
        super().__init__()
        c = config
        self.n_heads, self.head_dim, self.linear = c.n_heads, c.head_width, linear
        self.inner = c.n_heads * c.head_width
        self.absorb = not linear and self.inner > c.d_model
        self.ln1, self.ln2 = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.qkv = nn.Linear(c.d_model, 3 * self.inner)
        self.proj = nn.Linear(self.inner, c.d_model)
        self.mlp = nn.Sequential(nn.Linear(c.d_model, c.d_ff), nn.GELU(), nn.Linear(c.d_ff, c.d_model))
        self.drop = nn.Dropout(c.dropout)
        # relative positions (ALiBi, Press et al. 2022): head h adds -slope_h x distance to its scores
        slopes = 2.0 ** (-8.0 * torch.arange(1, c.n_heads + 1) / c.n_heads)
        self.register_buffer("slopes", slopes if c.positional == "relative" else None, persistent=False)

    def forward(self, x: torch.Tensor, cache):
        h = self.ln1(x)
        if self.absorb:
            attn, cache = self._absorbed(h, cache)
        else:
            q, k, v = self._heads(h)
            if self.linear:
                y, cache = self._linear(q, k, v, cache)
            else:
                k, v, cache = _append(cache, k, v)  # (B, H, S, D): the keys so far, new ones included
                y = self._attend(q, k, v)
            attn = self._project(y)
        x = x + self.drop(attn)
        return x + self.drop(self.mlp(self.ln2(x))), cache

    def _project(self, y: torch.Tensor) -> torch.Tensor:
        """(B, H, T, D) heads -> (B, T, C)."""
        B, _, T, _ = y.shape
        return self.proj(y.transpose(1, 2).reshape(B, T, self.inner))

    def _heads(self, h: torch.Tensor):
        B, T, _ = h.shape
        return (
            t.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)
            for t in self.qkv(h).split(self.inner, -1)
        )  # q, k, v: (B, H, T, D)

    def _attend(self, q, k, v):
        """Causal softmax attention of T queries over S keys (the last T are the queries' own)."""
        T, S = q.shape[2], k.shape[2]
        bias = self._bias(T, S, q)
        if T == 1 or bias is not None:  # plain matmuls beat the fused kernel here (measured)
            w = (q @ k.transpose(-1, -2)) * self.head_dim**-0.5  # (B, H, T, S)
            if bias is not None:  # query t (absolute position S - T + t) sees keys 0 .. S - T + t
                causal = torch.ones(T, S, dtype=torch.bool, device=q.device).tril(diagonal=S - T)
                w = w + bias.masked_fill(~causal, float("-inf"))
            return w.softmax(dim=-1) @ v
        if S == T:  # no cache: the fused kernel's own causal mask
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        mask = torch.ones(T, S, dtype=torch.bool, device=q.device).tril(diagonal=S - T)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    def _bias(self, T: int, S: int, like: torch.Tensor):
        if self.slopes is None:
            return None
        distance = torch.arange(S - T, S, device=like.device)[:, None] - torch.arange(S, device=like.device)
        return -self.slopes[:, None, None] * distance.to(like.dtype)  # (H, T, S)

    def _absorbed(self, h: torch.Tensor, cache):
        """Attention from cached normalised inputs ``(B, 1, S, C)`` (wide heads)."""
        hs, cache = _append(cache, h[:, None])
        if h.shape[1] > 1 or torch.is_grad_enabled():  # a prompt, or training: keys and values of every step
            q, k, v = self._heads(hs[:, 0])
            return self._project(self._attend(q[:, :, -h.shape[1] :], k, v)), cache
        B, H, C = h.shape[0], self.n_heads, h.shape[-1]
        qk_w, qk_b, vo_w, vo_b = self._folded()
        qk = (h[:, 0] @ qk_w).view(B, H, C) + qk_b  # each head's query in input space
        x = hs[:, 0]  # (B, S, C); one batched product per row with H queries (no broadcast copy)
        w = torch.bmm(qk, x.transpose(1, 2))  # (B, H, S)
        bias = self._bias(1, x.shape[1], h)
        w = (w if bias is None else w + bias[:, 0]).softmax(dim=-1)
        context = torch.bmm(w, x)  # (B, H, C): each head's weighted input
        return (context.reshape(B, H * C) @ vo_w + vo_b)[:, None], cache

    def _folded(self):
        """The per-head products a generation step uses, computed once per weight version:
        ``Wq_h^T Wk_h / sqrt(D)`` (C, H x C) with the query bias's share, and ``Wv_h^T Wo_h``
        (H x C, C) with the value and output biases (attention weights sum to 1)."""
        key = (self.qkv.weight._version, self.proj.weight._version, self.qkv.weight.data_ptr())
        if getattr(self, "_fold_key", None) != key:
            H, D = self.n_heads, self.head_dim
            C = self.qkv.weight.shape[1]
            wq, wk, wv = self.qkv.weight.view(3, H, D, C)
            bq, _, bv = self.qkv.bias.view(3, H, D)
            wo = self.proj.weight.view(C, H, D)
            qk_w = torch.einsum("hdc,hde->che", wq, wk).reshape(C, H * C) * D**-0.5
            qk_b = torch.einsum("hd,hde->he", bq, wk) * D**-0.5
            vo_w = torch.einsum("hdc,ehd->hce", wv, wo).reshape(H * C, C)
            vo_b = torch.einsum("hd,ehd->e", bv, wo) + self.proj.bias
            self._fold, self._fold_key = (qk_w, qk_b, vo_w, vo_b), key
        return self._fold

    @staticmethod
    def _linear(q, k, v, cache):
        q, k = F.elu(q) + 1, F.elu(k) + 1
        kv = torch.einsum("bhtd,bhte->bhtde", k, v).cumsum(dim=2)  # (B, H, T, D, D) running sums
        z = k.cumsum(dim=2)  # (B, H, T, D)
        if cache is not None:
            kv, z = kv + cache[0][:, :, None], z + cache[1][:, :, None]
        num = torch.einsum("bhtd,bhtde->bhte", q, kv)
        den = torch.einsum("bhtd,bhtd->bht", q, z)[..., None]
        return num / (den + 1e-6), (kv[:, :, -1], z[:, :, -1])  # the state: (B, H, D, D), (B, H, D)


def _append(cache, *new: torch.Tensor):
    """The cached tensors (keys and values, or inputs) with ``new`` steps added along dim 2, and
    the new cache ``(*buffers, length)``.

    Without gradients (generation) the buffers have spare room and new steps are written in
    place, doubling the room when full, so a step costs O(1) copies instead of the O(S) of
    concatenating; with gradients every step concatenates, so nothing earlier is overwritten.
    In place means a cache must not be continued twice (branching): select or clone it first.
    """
    if cache is None:
        return (*new, (*new, new[0].shape[2]))
    *bufs, n = cache
    T = new[0].shape[2]
    if torch.is_grad_enabled():
        full = [torch.cat([b[:, :, :n], x], dim=2) for b, x in zip(bufs, new)]
        return (*full, (*full, n + T))
    if bufs[0].shape[2] < n + T:  # grow: double the room
        room = max(n + T, 2 * bufs[0].shape[2])
        bufs = [
            torch.cat([b[:, :, :n], b.new_empty(*b.shape[:2], room - n, b.shape[3])], dim=2) for b in bufs
        ]
    for b, x in zip(bufs, new):
        b[:, :, n : n + T] = x
    return (*(b[:, :, : n + T] for b in bufs), (*bufs, n + T))


class TransformerModel(SequenceModel):
    """Embedding + positions -> causal blocks -> LayerNorm -> head. ``state`` is the per-block
    cache (softmax: keys and values; linear: running sums) and the position reached."""

    linear: ClassVar[bool] = False  # linear attention (running sums) instead of softmax

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        linear = self.linear
        self.embed, self.scale = input_embedding(config)
        self.pos = nn.Embedding(config.max_len, config.d_model) if config.positional == "learned" else None
        self.blocks = nn.ModuleList(_Block(config, linear) for _ in range(config.n_layers))
        self.ln = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab_size)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, ids: torch.Tensor, state=None):
        """ids (B, T) -> logits (B, T, V), state ``{"pos": int, "cache": [per block]}``."""
        start = state["pos"] if state else 0
        caches = state["cache"] if state else [None] * len(self.blocks)
        positions = torch.arange(start, start + ids.shape[1], device=ids.device)
        x = self.embed(ids) * self.scale  # (B, T, C)
        if self.config.positional == "sinusoidal":
            x = x + sinusoidal(positions, self.config.d_model)
        elif self.pos is not None:
            x = x + self.pos(positions)
        x = self.drop(x)
        new = []
        for block, cache in zip(self.blocks, caches):
            x, cache = block(x, cache)
            new.append(cache)
        return self.head(self.ln(x)), {"pos": start + ids.shape[1], "cache": new}

    @staticmethod
    def select_state(state: dict, index: torch.Tensor) -> dict:
        """The state of the batch rows ``index`` (generation drops finished sequences)."""
        return {"pos": state["pos"], "cache": rows(state["cache"], index)}

    def slide(self, state: dict, keep: int) -> dict | None:
        """Attend to the last ``keep`` steps only (a sliding window), or None where that would
        change what positions mean (absolute positions) or cannot be undone (linear sums)."""
        if self.linear or self.absolute_positions(self.config):
            return None
        return {"pos": state["pos"], "cache": last_keys(state["cache"], keep)}

    @classmethod
    def absolute_positions(cls, config: ModelConfig) -> bool:
        return config.positional in ("sinusoidal", "learned")

    @classmethod
    def body_width(cls, config: ModelConfig) -> int:
        return config.d_model

    @classmethod
    def check(cls, config: ModelConfig) -> list[str]:
        problems = attention_problems(config, one_hot=not cls.linear)
        if cls.linear and config.positional == "relative":
            problems.append("--positional relative (ALiBi) needs softmax attention, not linear-transformer")
        return problems


class LinearTransformerModel(TransformerModel):
    """The Transformer with causal linear attention (Katharopoulos et al. 2020): its state is a
    running sum per head, so a step costs the same at any length."""

    linear = True
