"""Grid text: the 16th-note melody format of the Deutschl LSTM recipe and the study.

One melody per line, tokens separated by spaces: a MIDI pitch number starts a note, ``r``
starts a rest, ``_`` extends the previous event by one 16th. Leading ``_`` are ignored, and
``/`` separates songs (a line may hold a stream of several). Scores read from grid text have
``tpq = 4`` (one tick per 16th) and keep their notated rests, so parse -> write is exact.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from tunelab.errors import ParseError
from tunelab.score import Score

STEPS_PER_QUARTER = 4


def parse_line(line: str, path="<string>", lineno: int | None = None) -> list[Score]:
    """The songs on one line of grid text (usually one; ``/`` separates several)."""
    songs, current = [], []
    for tok in line.split():
        if tok == "/":
            if current:
                songs.append(current)
            current = []
        else:
            current.append(tok)
    if current:
        songs.append(current)
    return [_parse_song(toks, path, lineno) for toks in songs]


def _parse_song(tokens: list[str], path, lineno) -> Score:
    notes, rests = [], []
    last = None  # the open event: [onset, duration, pitch or None]
    for step, tok in enumerate(tokens):
        if tok == "_":
            if last is not None:
                last[1] += 1
            continue
        if tok == "r":
            last = [step, 1, None]
            rests.append(last)
            continue
        try:
            pitch = int(tok)
        except ValueError:
            raise ParseError(
                path, f"grid token {tok!r} is not a pitch, 'r', '_' or '/'", line=lineno
            ) from None
        if not 0 <= pitch <= 127:
            raise ParseError(path, f"grid pitch {pitch} is outside MIDI 0-127", line=lineno)
        last = [step, 1, pitch]
        notes.append(last)
    start = next((i for i, t in enumerate(tokens) if t != "_"), len(tokens))
    arr = np.array([[o - start, d, p] for o, d, p in notes], dtype=np.int64).reshape(-1, 3)
    rest_arr = np.array([[o - start, d] for o, d, _ in rests], dtype=np.int64).reshape(-1, 2)
    return Score(
        arr[:, 0], arr[:, 1], arr[:, 2], tpq=STEPS_PER_QUARTER, end=len(tokens) - start, rests=rest_arr
    )


def read_gridtext(path) -> tuple[list[Score], list[ParseError]]:
    """Every song of a grid text file; a bad line is reported and the rest still read."""
    path = Path(path)
    scores, errors = [], []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return [], [ParseError(path, f"cannot read as text: {e}")]
    for lineno, line in enumerate(text.splitlines(), 1):
        try:
            for i, song in enumerate(parse_line(line, path, lineno)):
                song.meta.update(
                    source=str(path), line=lineno, title=f"{path.stem}:{lineno}" + (f".{i}" if i else "")
                )
                scores.append(song)
        except ParseError as e:
            errors.append(e)
    return scores, errors


def format_score(score: Score) -> str:
    """One line of grid text for a monophonic score on the 16th-note grid.

    Raises:
        ValueError: the score is polyphonic or has times off the 16th grid (quantize first).
    """
    if not score.is_monophonic():
        raise ValueError("grid text holds one voice; this score has overlapping notes")
    if score.tpq % STEPS_PER_QUARTER:
        raise ValueError(f"tpq {score.tpq} is not a multiple of 4; quantize to 16ths first")
    g = score.tpq // STEPS_PER_QUARTER
    out: list[str] = []
    for onset, dur, pitch in score.events():
        if onset % g or dur % g:
            at, length = Fraction(onset, score.tpq), Fraction(dur, score.tpq)
            raise ValueError(
                f"the {'rest' if pitch is None else 'note'} at quarter {at} lasting {length} quarters is off "
                "the 16th-note grid; quantize first (--steps-per-quarter 4)"
            )
        out.append("r" if pitch is None else str(pitch))
        out.extend("_" * (dur // g - 1))
    return " ".join(out)


def write_gridtext(scores, path) -> None:
    """Write scores as grid text, one per line (atomically)."""
    from tunelab.io.atomic import atomic_write_text

    atomic_write_text(path, "".join(format_score(s) + "\n" for s in scores))
