"""Models: every family behind one interface, ``forward(ids, state=None) -> (logits, state)``.

``state`` carries what stepwise generation needs (recurrent states, a KV cache, running sums), so
feeding a sequence one step at a time gives the same logits as feeding it whole. Models know
token ids, not music; torch is imported only here and below.
"""

from __future__ import annotations

from tunelab.models.config import FAMILIES, ModelConfig


def build(config_or_family, vocab_size: int | None = None, **overrides):
    """A model from a ModelConfig, or from a family name with a vocabulary size and overrides."""
    if isinstance(config_or_family, ModelConfig):
        config = config_or_family
    else:
        config = ModelConfig(family=config_or_family, vocab_size=vocab_size or 64, **overrides)
    if config.family in ("lstm", "gru", "rnn"):
        from tunelab.models.rnn import RNNModel

        return RNNModel(config)
    if config.family == "attention-rnn":
        from tunelab.models.attention_rnn import AttentionRNNModel

        return AttentionRNNModel(config)
    if config.family == "hybrid":
        from tunelab.models.hybrid import HybridModel

        return HybridModel(config)
    from tunelab.models.transformer import TransformerModel

    return TransformerModel(config)


__all__ = ["FAMILIES", "ModelConfig", "build"]
