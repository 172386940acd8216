"""Numeric precision of forward passes: float32, or bfloat16 autocast (weights and optimizer
state stay float32). On this project's CPU (AMD EPYC with AVX-512 BF16) bf16 trains the study-size
Transformer 3-4.8x faster (docs/results.md, "Converged"); LSTMs gain little."""

from __future__ import annotations

import sys

import torch


def autocast(precision: str, device):
    """A factory of the forward passes' autocast context for ``precision`` (None for fp32)."""
    if precision != "bf16":
        return None
    if device.type == "cpu" and not torch.cpu._is_avx512_bf16_supported():
        print("note: this CPU has no bfloat16 instructions; --precision bf16 will be slow", file=sys.stderr)
    return lambda: torch.autocast(device.type, dtype=torch.bfloat16)
