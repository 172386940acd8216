"""Rendering: Scores as files people open, hear and read: MIDI, MusicXML, ABC, grid text, WAV, SVG
sheet music and PNG piano rolls, laid out as a generation dir (DESIGN.md section 6) with an
``index.html`` that shows every melody with its score, a player and its piano roll.

>>> render_score(score, "0001", "out/", ["mid", "wav", "svg", "png"])    # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from tunelab.errors import ConfigError
from tunelab.score import Score

FORMATS = ("mid", "musicxml", "abc", "grid", "wav", "svg", "png")
SUFFIX = {"mid": ".mid", "musicxml": ".musicxml", "abc": ".abc", "wav": ".wav", "svg": ".svg", "png": ".png"}


def parse_formats(text: str, allowed=FORMATS) -> list[str]:
    """``"mid,wav"`` -> ``["mid", "wav"]``, refusing unknown names."""
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in allowed]
    if unknown:
        raise ConfigError(f"--formats: unknown {', '.join(unknown)}; choose from {', '.join(allowed)}")
    return formats


def render_score(
    score: Score, name: str, out_dir, formats, *, program: int | None = None, synth: str = "auto",
    number: int = 1, explicit_repeats: bool = False,
) -> dict[str, Path]:  # fmt: skip
    """Write ``score`` as ``out_dir/<format>/<name>.<suffix>`` for each format but ``grid``
    (a generation dir's grid text is one file for all melodies); returns the paths. ``number``:
    the tune's ``X:`` in ABC (its place in its set, so that files put together stay apart)."""
    from tunelab.render.audio import DEFAULT_PROGRAM

    out_dir = Path(out_dir)
    program = DEFAULT_PROGRAM if program is None else program
    paths, xml = {}, None
    for fmt in formats:
        if fmt == "grid":
            continue
        path = out_dir / fmt / f"{name}{SUFFIX[fmt]}"
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "mid":
            from tunelab.io.midi import write_midi

            write_midi(score.replace(meta={**score.meta, "program": program}), path)
        elif fmt == "abc":
            from tunelab.io.abc_write import write_abc

            write_abc(score, path, titles=[score.meta.get("title") or name], first=number,
                      explicit_repeats=explicit_repeats)  # fmt: skip
        elif fmt in ("musicxml", "svg"):
            from tunelab.render.sheet import musicxml_text, write_svg

            xml = xml or musicxml_text(score)
            if fmt == "musicxml":
                from tunelab.io.atomic import atomic_write_text

                atomic_write_text(path, xml)
            else:
                write_svg(score, path, xml)
        elif fmt == "wav":
            from tunelab.render.audio import write_wav

            write_wav(score, path, program, synth)
        elif fmt == "png":
            from tunelab.render.roll import write_png

            write_png(score, path, score.meta.get("title"))
        paths[fmt] = path
    return paths


__all__ = ["FORMATS", "parse_formats", "render_score"]
