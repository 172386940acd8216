"""The model families by name: one line each (module, class), imported when first used.

Adding a family: write its module (a :class:`tunelab.models.base.SequenceModel` subclass taking a
:class:`tunelab.models.config.ModelConfig`), add one line here; tests/models/test_families.py then
holds it to the shared contract (carried state equals recomputing, causality, save and load).
"""

from __future__ import annotations

from importlib import import_module

FAMILIES: dict[str, tuple[str, str]] = {
    "lstm": ("tunelab.models.rnn", "RNNModel"),
    "gru": ("tunelab.models.rnn", "RNNModel"),
    "rnn": ("tunelab.models.rnn", "RNNModel"),
    "attention-rnn": ("tunelab.models.attention_rnn", "AttentionRNNModel"),
    "transformer": ("tunelab.models.transformer", "TransformerModel"),
    "linear-transformer": ("tunelab.models.transformer", "LinearTransformerModel"),
    "hybrid": ("tunelab.models.hybrid", "HybridModel"),
    "mlp": ("tunelab.models.mlp", "MLPModel"),
    # the study's models at its sizes, reading a 64-token window (reference/study-setup.md)
    "study-lstm": ("tunelab.models.study", "StudyLSTM"),
    "study-transformer": ("tunelab.models.study", "StudyTransformer"),
    "study-hybrid": ("tunelab.models.study", "StudyHybrid"),
}


def names() -> tuple[str, ...]:
    return tuple(FAMILIES)


def family_class(name: str):
    """The model class of family ``name``."""
    from tunelab.errors import ConfigError

    if name not in FAMILIES:
        raise ConfigError(f"--model: unknown family {name!r}; choose from {', '.join(FAMILIES)}")
    module, cls = FAMILIES[name]
    return getattr(import_module(module), cls)
