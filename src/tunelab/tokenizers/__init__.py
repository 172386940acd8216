"""Tokenizers: Score <-> token ids, with a grammar for always-valid sampling.

>>> tok = tunelab.tokenizers.get("nb")            # doctest: +SKIP
>>> ids = tok.encode(score); tok.decode(ids)      # doctest: +SKIP

Encodings: ``grid`` (the study's 16th-note grid), ``remi``, ``cp`` (Compound Word) and
``nb`` (note-based compound words whose first field is the bar state).
"""

from __future__ import annotations

from tunelab.errors import ConfigError
from tunelab.tokenizers.base import CONTI, PAD, Grammar, Tokenizer


def _registry() -> dict:
    from tunelab.tokenizers.cp import CPTokenizer
    from tunelab.tokenizers.grid import GridTokenizer
    from tunelab.tokenizers.nb import NBTokenizer
    from tunelab.tokenizers.remi import REMITokenizer

    return {"grid": GridTokenizer, "remi": REMITokenizer, "cp": CPTokenizer, "nb": NBTokenizer}


NAMES = ("grid", "remi", "cp", "nb")


def get(name: str, **options) -> Tokenizer:
    """A tokenizer by name with its options (e.g. ``steps_per_quarter=4``)."""
    registry = _registry()
    if name not in registry:
        raise ConfigError(f"unknown encoding {name!r}; choose from {', '.join(NAMES)}")
    try:
        return registry[name](**options)
    except TypeError as e:
        raise ConfigError(f"encoding {name!r}: {e}") from None


def from_dict(d: dict) -> Tokenizer:
    """Restore a tokenizer saved with ``to_dict`` (a checkpoint carries one)."""
    d = dict(d)
    return get(d.pop("name"), **d)


__all__ = ["CONTI", "NAMES", "PAD", "Grammar", "Tokenizer", "from_dict", "get"]
