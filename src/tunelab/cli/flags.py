"""Command-line flags made from settings dataclasses (:func:`tunelab.settings.setting`): one flag
per field, its type from the annotation, its help, choices and default from the field, so that a
default is written once, in the dataclass. A flag left out is None here and the dataclass's
default applies; :func:`given` collects what was set."""

from __future__ import annotations

import argparse
import sys
import types
import typing
from dataclasses import MISSING, fields


def integer(text: str) -> int:
    """An int flag that also takes 36e6 or 2_000_000."""
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return int(value)


def _base(hint):
    """int / float / str / bool of an annotation (``int | None`` -> int)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def _default(f):
    if f.default is not MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not MISSING else None


def add_flags(parser, cls, *, skip=()) -> None:
    """A flag for every field of dataclass ``cls`` that a command may set."""
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        meta = f.metadata
        if not meta.get("cli") or f.name in skip:
            continue
        flag = "--" + (meta.get("flag") or f.name.replace("_", "-"))
        kind, default = _base(hints[f.name]), _default(f)
        shown = (
            ""
            if default in (None, "")
            else f" (default: {'on' if default is True else 'off' if default is False else default})"
        )
        choices = meta.get("choices")
        choices = choices() if callable(choices) else choices
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, dest=f.name,
                                help=meta["help"] + shown)  # fmt: skip
            continue
        convert = integer if kind is int else kind
        parser.add_argument(flag, type=convert, default=None, choices=choices, dest=f.name, metavar=meta.get("metavar"),
                            help=meta["help"] + shown)  # fmt: skip
        for alias in meta.get("aliases", ()):
            parser.add_argument(
                f"--{alias}", type=convert, default=None, dest=f"_alias_{f.name}", help=argparse.SUPPRESS
            )


def given(args, cls) -> dict:
    """The fields of ``cls`` set on the command line (an old spelling with a deprecation note)."""
    out = {}
    for f in fields(cls):
        if not f.metadata.get("cli"):
            continue
        value = getattr(args, f.name, None)
        old = getattr(args, f"_alias_{f.name}", None)
        if old is not None:
            new = f.metadata.get("flag") or f.name.replace("_", "-")
            alias = f.metadata["aliases"][0]
            print(
                f"note: --{alias} is deprecated and will go in the next release; use --{new}", file=sys.stderr
            )
            value = old if value is None else value
        if value is not None:
            out[f.name] = value
    return out


def defaults_of(fn) -> dict:
    """The defaults of ``fn``'s parameters: a command's flags read them from the function the
    command calls, so that each default is written once, there."""
    import inspect

    return {
        k: v.default
        for k, v in inspect.signature(fn).parameters.items()
        if v.default is not inspect.Parameter.empty
    }
