"""Losses and accuracy for next-token training, flat or compound.

Focal loss (Lin et al. 2017, "Focal Loss for Dense Object Detection"), multi-class form:
FL = -alpha * (1 - p_t)^gamma * log p_t; gamma = 0 and alpha = 1 give cross-entropy.
Padding never counts, and for compound encodings neither do ignore (0) and CONTI fields
(the CP vs NB notes), via the tokenizer's ``accuracy_mask``.
Shapes: B batch, T time, F fields, V vocabulary.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def token_nll(
    logits: torch.Tensor, targets: torch.Tensor, *, gamma: float = 0.0, alpha: float = 1.0
) -> torch.Tensor:
    """Per-position (focal) cross-entropy, (B, T), for logits (B, T, V) and target ids (B, T).

    ``gamma`` is the focusing parameter (0: plain cross-entropy), ``alpha`` weighs every term.
    """
    logp = F.log_softmax(logits.float(), dim=-1).gather(-1, targets[..., None]).squeeze(-1)  # (B, T)
    return -alpha * logp if gamma == 0 else -alpha * (1 - logp.exp()).pow(gamma) * logp


def token_loss(
    logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, *, gamma: float = 0.0, alpha: float = 1.0
) -> torch.Tensor:
    """Mean (focal) cross-entropy over the positions where ``mask`` (B, T) is True."""
    m = mask.float()
    return (token_nll(logits, targets, gamma=gamma, alpha=alpha) * m).sum() / m.sum().clamp(min=1.0)


def masked_accuracy(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> tuple[int, int]:
    """(correct, counted) argmax predictions over the positions where ``mask`` is True."""
    hit = (logits.argmax(dim=-1) == targets) & mask
    return int(hit.sum()), int(mask.sum())
