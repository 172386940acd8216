"""Models: every family behind one interface, ``forward(ids, state=None) -> (logits, state)``.

``state`` carries what stepwise generation needs (recurrent states, a KV cache, running sums), so
feeding a sequence one step at a time gives the same logits as feeding it whole. Models know
token ids, not music; torch is imported only here and below.
"""

from __future__ import annotations

from tunelab.models.base import SequenceModel
from tunelab.models.config import ModelConfig, vocab_fields
from tunelab.models.registry import FAMILIES


def build(config_or_family, vocab_size: int | None = None, preset: str | None = None, **overrides):
    """A model from a ModelConfig, a family name, or a study preset name.

    Args:
        config_or_family: a ModelConfig; a family (``lstm``, ``transformer``, ...); or
            ``study-lstm`` / ``study-transformer`` / ``study-hybrid`` (the study's models).
        vocab_size: vocabulary size (the study's presets default to its 45 symbols), or a list
            of field sizes for a compound encoding (then a :class:`CompoundModel`).
        preset: ``tiny`` or ``small`` sizes for a family; None for the ModelConfig defaults.
        **overrides: ModelConfig fields to change.
    """
    from tunelab.errors import ConfigError

    if isinstance(config_or_family, str) and config_or_family.startswith("study-"):
        from tunelab.models.study import PRESETS

        if config_or_family not in PRESETS:
            raise ConfigError(
                f"--model: unknown preset {config_or_family!r}; choose from {', '.join(PRESETS)}"
            )
        if isinstance(vocab_size, (list, tuple)):
            raise ConfigError(f"{config_or_family} reads flat token ids; use it with the grid encoding")
        return PRESETS[config_or_family](vocab_size or 45)
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


__all__ = ["FAMILIES", "ModelConfig", "SequenceModel", "build"]
