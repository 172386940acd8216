"""Turning a step's logits into a draw: temperature, top-k, top-p (nucleus), min-p.

Order, as in Hugging Face's logits warpers: the temperature scales the logits, then top-k keeps
the k most likely ids, top-p keeps the most likely ids whose mass reaches p (the first one
always), min-p keeps ids at least ``min_p`` times as likely as the most likely one; each filter
sees the distribution the one before it left, renormalised. Temperature 0 is greedy (argmax).
Ids masked out before (grammar: ``-inf`` logits) never come back.
Shapes: B batch, V vocabulary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from tunelab.settings import setting


@dataclass(frozen=True)
class Filters:
    """How one field (or a flat vocabulary) is sampled."""

    temperature: float = setting(1.0, "0 is greedy (the study's protocol: 0.7 unless given)")
    top_k: int = setting(0, "keep the k likeliest ids (0: off)")
    top_p: float = setting(1.0, "nucleus: keep the likeliest ids up to this mass (1: off)")
    min_p: float = setting(0.0, "keep ids at least this share of the likeliest (0: off)")

    def __post_init__(self):
        problems = []
        if self.temperature < 0:
            problems.append(f"temperature must be >= 0, got {self.temperature}")
        if self.top_k < 0:
            problems.append(f"top_k must be >= 0, got {self.top_k}")
        if not 0 < self.top_p <= 1:
            problems.append(f"top_p must be in (0, 1], got {self.top_p}")
        if not 0 <= self.min_p <= 1:
            problems.append(f"min_p must be in [0, 1], got {self.min_p}")
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict:
        return asdict(self)


def probabilities(logits: torch.Tensor, f: Filters) -> torch.Tensor:
    """(B, V) logits -> (B, V) probabilities after the filters (one-hot argmax at temperature 0)."""
    if f.temperature == 0:
        return torch.zeros_like(logits).scatter_(1, logits.argmax(dim=1, keepdim=True), 1.0)
    p = torch.softmax(logits.float() / f.temperature, dim=1)
    if f.top_k and f.top_k < p.shape[1]:
        keep = torch.zeros_like(p, dtype=torch.bool).scatter_(1, p.topk(f.top_k, dim=1).indices, True)
        p = _renorm(p * keep)
    if f.top_p < 1:
        sorted_p, order = p.sort(dim=1, descending=True)
        before = sorted_p.cumsum(dim=1) - sorted_p  # mass of the more likely ids
        keep_sorted = before < f.top_p
        keep_sorted[:, 0] = True
        p = _renorm(p * torch.zeros_like(keep_sorted).scatter_(1, order, keep_sorted))
    if f.min_p > 0:
        p = _renorm(p * (p >= f.min_p * p.max(dim=1, keepdim=True).values))
    return p


def draw(logits: torch.Tensor, f: Filters, generator: torch.Generator | None) -> torch.Tensor:
    """One id per row, (B, V) -> (B,)."""
    if f.temperature == 0:
        return logits.argmax(dim=1)
    return torch.multinomial(probabilities(logits, f), 1, generator=generator).squeeze(1)


def _renorm(p: torch.Tensor) -> torch.Tensor:
    return p / p.sum(dim=1, keepdim=True)
