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


def test_the_help_lines_are_each_commands_own():
    """``tunelab --help`` lists every command without building its parser: the same line."""
    from tunelab.cli import command_help

    lines = command_help()
    full = {a.dest: a.help for a in build_parser()._subparsers._group_actions[0]._choices_actions}
    assert lines == full and len(lines) >= 14


def test_help_version_and_a_listing_start_without_torch():
    """What ``tunelab --help``, ``--version`` and ``corpus list`` import: no torch (a second
    of start-up); a fresh interpreter, so that no other test's imports count."""
    import subprocess
    import sys

    code = (
        "import sys, contextlib, io\n"
        "from tunelab.cli import main\n"
        "for argv in (['--help'], ['--version'], ['corpus', 'list']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try:\n"
        "            main(argv)\n"
        "        except SystemExit:\n"
        "            pass\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False")


def test_a_typo_gets_a_suggestion(capsys):
    from tunelab.cli import main

    assert main(["genrate"]) == 2
    assert "unknown command 'genrate' (did you mean generate?)" in capsys.readouterr().err
    try:
        main(["generate", "--model", "study-lstm", "--out", "x", "--temprature", "0.5"])
    except SystemExit as e:
        assert e.code == 2
    assert "unrecognized argument --temprature (did you mean --temperature?)" in capsys.readouterr().err
