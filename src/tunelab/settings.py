"""Settings declared once: a dataclass field with its default, help and choices, from which the
command line builds its flags (:mod:`tunelab.cli.flags`). A default written in a field is the
only place it is written.

>>> @dataclass                                   # doctest: +SKIP
... class Sampling:
...     temperature: float = setting(1.0, "0 is greedy")
"""

from __future__ import annotations

from dataclasses import MISSING, field


def setting(default=MISSING, help: str = "", *, choices=None, flag: str | None = None, cli: bool = True,
            factory=MISSING, metavar: str | None = None, aliases: tuple = ()):  # fmt: skip
    """A dataclass field carrying its command-line face: ``help`` text, allowed ``choices`` (a
    tuple, or a function returning one so that a registry can fill it), the ``flag`` name
    (default: the field's name with dashes), ``aliases`` (older spellings, accepted with a
    deprecation note), and ``cli=False`` for fields no command sets."""
    meta = {
        "help": help,
        "choices": choices,
        "flag": flag,
        "cli": cli,
        "metavar": metavar,
        "aliases": aliases,
    }
    if factory is not MISSING:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)
