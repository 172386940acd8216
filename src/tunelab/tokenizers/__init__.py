"""Tokenizers: Score <-> token ids, with a grammar for always-valid sampling.

>>> tok = tunelab.tokenizers.get("nb")            # doctest: +SKIP
>>> ids = tok.encode(score); tok.decode(ids)      # doctest: +SKIP

Encodings: ``grid`` (the study's 16th-note grid), ``remi``, ``cp`` (Compound Word) and
``nb`` (note-based compound words whose first field is the bar state).
"""

from __future__ import annotations

from tunelab.errors import ConfigError
from tunelab.tokenizers.base import CONTI, PAD, Grammar, Tokenizer

# encoding -> (module, class): adding an encoding is one module and one line here
ENCODINGS = {
    "grid": ("tunelab.tokenizers.grid", "GridTokenizer"),
    "remi": ("tunelab.tokenizers.remi", "REMITokenizer"),
    "cp": ("tunelab.tokenizers.cp", "CPTokenizer"),
    "nb": ("tunelab.tokenizers.nb", "NBTokenizer"),
}
NAMES = tuple(ENCODINGS)


def tokenizer_class(name: str) -> type[Tokenizer]:
    from importlib import import_module

    if name not in ENCODINGS:
        raise ConfigError(f"unknown encoding {name!r}; choose from {', '.join(NAMES)}")
    module, cls = ENCODINGS[name]
    return getattr(import_module(module), cls)


def get(name: str, **options) -> Tokenizer:
    """A tokenizer by name with its options (e.g. ``steps_per_quarter=4``)."""
    try:
        return tokenizer_class(name)(**options)
    except TypeError as e:
        raise ConfigError(f"encoding {name!r}: {e}") from None


def from_dict(d: dict) -> Tokenizer:
    """Restore a tokenizer saved with ``to_dict`` (a checkpoint carries one). An option the
    dict lacks takes the value it had before the option existed (the class's ``saved_before``),
    so an old checkpoint keeps its vocabulary."""
    d = dict(d)
    name = d.pop("name")
    return get(name, **{**tokenizer_class(name).saved_before, **d})


__all__ = ["CONTI", "ENCODINGS", "NAMES", "PAD", "Grammar", "Tokenizer", "from_dict", "get"]
