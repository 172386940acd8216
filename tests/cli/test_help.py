"""Every command's --help: each argument explained, no "(default: None)" noise."""

import argparse

from tunelab.cli import _every_parser, build_parser


def _parsers():
    found = []
    _every_parser(build_parser(), found.append)
    return found


def test_every_argument_has_help_and_no_empty_defaults():
    parsers = _parsers()
    assert len(parsers) >= 25  # every command and subcommand was visited
    missing, noise = [], []
    for parser in parsers:
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if action.help is None:
                missing.append(f"{parser.prog}: {'/'.join(action.option_strings) or action.dest}")
        text = parser.format_help()
        for bad in ("(default: None)", "(default: False)", "(default: )"):
            if bad in text:
                noise.append(f"{parser.prog}: {bad}")
    assert not missing, missing
    assert not noise, noise


def test_real_defaults_are_still_shown():
    text = next(p for p in _parsers() if p.prog == "tunelab tokenize").format_help()
    assert "(default: auto)" in text and "(default: played)" in text  # --steps-per-quarter, --form
    assert "--show" in text and "(default: False)" not in text
