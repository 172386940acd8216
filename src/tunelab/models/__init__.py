"""Models: every family behind one interface, ``forward(ids, state=None) -> (logits, state)``.

``state`` carries what stepwise generation needs (recurrent states, a KV cache, running sums), so
feeding a sequence one step at a time gives the same logits as feeding it whole. Models know
token ids, not music; torch is imported only here and below.
"""

from __future__ import annotations

from tunelab.models.base import SequenceModel
from tunelab.models.config import ModelConfig, vocab_fields
from tunelab.models.registry import FAMILIES, family_class


def build(config_or_family, vocab_size: int | None = None, preset: str | None = None, **overrides):
    """A model from a ModelConfig or a family name.

    Args:
        config_or_family: a ModelConfig, or a family (``lstm``, ``transformer``, ...; the
            study's ``study-lstm`` / ``study-transformer`` / ``study-hybrid`` have one size each).
        vocab_size: vocabulary size (the study's families default to its 45 symbols), or a list
            of field sizes for a compound encoding (then a :class:`CompoundModel`).
        preset: ``tiny`` or ``small`` sizes for a family; None for the ModelConfig defaults.
        **overrides: ModelConfig fields to change.
    """
    from tunelab.errors import ConfigError

    if isinstance(config_or_family, str) and family_class(config_or_family).fixed_size:
        return build(
            ModelConfig(family=config_or_family, **vocab_fields(vocab_size or 45))
        )  # the study's sizes
    if isinstance(config_or_family, ModelConfig):
        config = config_or_family
    elif preset in ("tiny", "small"):
        base = getattr(ModelConfig, preset)(config_or_family, vocab_size or 64).to_dict()
        config = ModelConfig(**{**base, **overrides})
    elif preset is None:
        config = ModelConfig(family=config_or_family, **vocab_fields(vocab_size or 64), **overrides)
    else:
        raise ConfigError(f"--size must be tiny or small (or none), got {preset!r}")
    if config.field_sizes is not None:
        from tunelab.models.compound import CompoundModel

        return CompoundModel(config)
    return config.family_class()(config)


def sequence_families() -> tuple[str, ...]:
    """The families that predict every next token (not the study's window models): the shared
    contract of tests/models holds them all, and any size preset applies."""
    return tuple(f for f in FAMILIES if not family_class(f).window_model)


__all__ = ["FAMILIES", "ModelConfig", "SequenceModel", "build", "sequence_families"]
