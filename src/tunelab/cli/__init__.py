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
    return p
