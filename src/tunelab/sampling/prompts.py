"""Prompts from a seeds file (a primer, any file tunelab reads, is continued by
:mod:`tunelab.sampling.rewrite`).

A seeds file holds one grid-text prompt per
line (the study's ``seeds.txt``); for a grid model its tokens are taken as they are (a seed may
stop inside a note), for the other encodings the line is read as a melody and encoded. The
study's seeds are the first ~20 characters of songs, and 210 of its 1,000 end in a pitch cut
short (``6`` of ``64``): a last token of one digit is dropped (no melody has MIDI pitch 0-9).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tunelab.errors import ParseError
from tunelab.score import Score


def from_seeds(path, tokenizer) -> list[np.ndarray]:
    """One prompt per non-empty line of a grid-text seeds file."""
    from tunelab.io.gridtext import parse_line

    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ParseError(path, f"unreadable ({err})") from None
    prompts = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        tokens = line.split()
        if tokens and len(tokens[-1]) == 1 and tokens[-1].isdigit():
            tokens = tokens[:-1]  # a pitch cut short: no melody has MIDI pitch 0-9
        if tokenizer.text_lines:
            prompts.append(grid_ids(tokens, tokenizer, path, lineno))
            continue
        songs = parse_line(" ".join(tokens), path, lineno)
        try:
            prompts.append(
                tokenizer.prompt(songs[0]) if songs else tokenizer.prompt(Score([], [], [], tpq=4))
            )
        except ValueError as err:
            raise ParseError(path, f"cannot be encoded as {tokenizer.name}: {err}", line=lineno) from None
    if not prompts:
        raise ParseError(path, "holds no seed (one grid-text prompt per line)")
    return prompts


def grid_ids(tokens: list[str], tokenizer, path="<string>", line: int | None = None) -> np.ndarray:
    """Grid tokens -> ids of a grid tokenizer; leading ``_`` are dropped (they hold nothing)."""
    index = {name: i for i, name in enumerate(tokenizer.vocab)}
    while tokens and tokens[0] == "_":
        tokens = tokens[1:]
    ids = []
    for t in tokens:
        if t not in index or t == "<pad>":
            raise ParseError(path, f"token {t!r} is not in the model's vocabulary", line=line)
        ids.append(index[t])
    return np.array(ids, dtype=np.int64)
