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
    argv = sys.argv[1:] if argv is None else list(argv)
    commands = command_help()
    wanted = next((a for a in argv if not a.startswith("-")), None)
    if wanted is not None and wanted not in commands:
        print(f"tunelab: error: unknown command {wanted!r}{_did_you_mean(wanted, commands)} (tunelab --help "
              "lists them)", file=sys.stderr)  # fmt: skip
        return 2
    parser = build_parser(wanted)
    args, extra = parser.parse_known_args(argv)
    if extra:
        used = _parser_of(parser, getattr(args, "func", None)) or parser
        options = [o for a in used._actions for o in a.option_strings]
        unknown = next((x.split("=")[0] for x in extra if x.startswith("-")), extra[0])
        used.error(f"unrecognized argument {unknown}{_did_you_mean(unknown, options)}")
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


def command_help() -> dict[str, str]:
    """Every command and its one-line help, from the command modules' ``COMMANDS`` (no parser
    built, nothing heavy imported)."""
    out = {}
    for name in GROUPS:
        out.update(import_module(f"tunelab.cli.{name}").COMMANDS)
    return out


def build_parser(command: str | None = "*") -> argparse.ArgumentParser:
    """The parser with ``command``'s parser in full and a help line for every other (None: help
    lines only; ``"*"``: every parser in full). Building them all imports torch and the rest: a
    second and more for ``tunelab --help``."""
    p = argparse.ArgumentParser(
        prog="tunelab",
        description="Symbolic music generation: corpora, tokenizers, models, sampling, metrics.",
    )
    from tunelab import __version__

    p.add_argument("--version", action="version", version=f"tunelab {__version__}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND")
    for name in GROUPS:
        module = import_module(f"tunelab.cli.{name}")
        if command == "*" or command in module.COMMANDS:
            module.register(sub)
        else:
            for cmd, text in module.COMMANDS.items():
                sub.add_parser(cmd, help=text)
    _every_parser(p, lambda parser: setattr(parser, "formatter_class", HelpFormatter))
    return p


def _parser_of(parser: argparse.ArgumentParser, func) -> argparse.ArgumentParser | None:
    """The (sub)parser whose command runs ``func``."""
    found = []
    _every_parser(
        parser, lambda x: found.append(x) if func is not None and x.get_default("func") is func else None
    )
    return found[-1] if found else None


def _did_you_mean(word: str, choices) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


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
