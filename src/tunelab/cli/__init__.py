"""The ``tunelab`` command: one module per command group, each with ``register(subparsers)``.

Exit codes: 0 success, 2 bad usage or bad input (with a one-line reason naming the file).
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from tunelab.errors import TunelabError

# the command groups, in the order `tunelab --help` lists them (tunelab.cli.<name>.register)
GROUPS = ("corpus", "music", "evaluate", "train", "generate", "study", "listen", "pretrained")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except TunelabError as e:
        print(f"tunelab: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tunelab: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tunelab",
        description="Symbolic music generation: corpora, tokenizers, models, sampling, metrics.",
    )
    from tunelab import __version__

    p.add_argument("--version", action="version", version=f"tunelab {__version__}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND")
    for name in GROUPS:
        import_module(f"tunelab.cli.{name}").register(sub)
    _every_parser(p, lambda parser: setattr(parser, "formatter_class", HelpFormatter))
    return p


def _every_parser(parser: argparse.ArgumentParser, visit) -> None:
    visit(parser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases share a parser
                _every_parser(child, visit)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written; an option's default after its help where it has a real one (not
    None, off or empty) and the help does not already say it."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (
            "(default" in text
            or default in (None, False, "", argparse.SUPPRESS)
            or not action.option_strings
            or isinstance(action, argparse.BooleanOptionalAction)
        ):
            return text
        return f"{text} (default: %(default)s)"
