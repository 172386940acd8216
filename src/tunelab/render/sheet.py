"""Sheet music: a Score engraved as SVG by verovio (offline), from its MusicXML, with the title,
meter and key the Score carries; one tall page, so a melody is one file."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from tunelab.errors import MissingDependency, TunelabError
from tunelab.score import Score

OPTIONS = {
    "pageWidth": 2100,
    "pageHeight": 60000,  # one page; adjustPageHeight trims it
    "adjustPageHeight": True,
    "scale": 40,
    "footer": "none",
    "header": "auto",
    "breaks": "auto",
}


def musicxml_text(score: Score) -> str:
    from tunelab.io.m21 import write_musicxml

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "score.musicxml"
        write_musicxml(score, path)
        return path.read_text()


def anonymous_musicxml(xml: str) -> str:
    """MusicXML without anything that names the piece or how it was made: work and movement
    titles, credits, the identification block (creator, rights, encoding software), part names."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(xml.encode())
    for tag in ("work", "movement-number", "movement-title", "identification", "credit"):
        for el in root.findall(tag):
            root.remove(el)
    for el in root.iter():
        if el.tag in ("part-name", "part-abbreviation", "instrument-name"):
            el.text = ""
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def svg_from_musicxml(xml: str, where="<score>") -> str:
    """SVG text of one page holding the whole piece."""
    return _toolkit(xml, where).renderToSVG(1)


def svg_and_timemap(xml: str, where="<score>") -> tuple[str, list[tuple[float, float, str]]]:
    """The SVG, and when each drawn note sounds: ``(start, end, id)`` in quarter notes from the
    piece's start, ``id`` the note's element in the SVG (for a player that follows along)."""
    tk = _toolkit(xml, where)
    svg = tk.renderToSVG(1)
    events = tk.renderToTimemap()
    if isinstance(events, str):  # older verovio: JSON text
        import json

        events = json.loads(events)
    start, out = {}, []
    for ev in events:
        for note in ev.get("off", []):
            if note in start:
                out.append((start.pop(note), float(ev["qstamp"]), note))
        for note in ev.get("on", []):
            start[note] = float(ev["qstamp"])
    return svg, sorted(out)


def _toolkit(xml: str, where):
    try:
        import verovio
    except ImportError:
        raise MissingDependency("verovio", "sheet music (SVG)") from None
    from importlib.resources import files

    # verovio keeps its default resource path per thread (set at import, on the importing thread):
    # name it on every toolkit, so that worker threads (the web server's) find the fonts too
    tk = verovio.toolkit(False)
    tk.setResourcePath(str(files("verovio") / "data"))
    tk.setOptions(OPTIONS)
    if not tk.loadData(xml):
        raise TunelabError(f"{where}: verovio could not read the MusicXML")
    return tk


def write_svg(score: Score, path, xml: str | None = None) -> None:
    """Engrave ``score`` (or its MusicXML text ``xml``, if already written) to ``path``."""
    from tunelab.io.atomic import atomic_write_bytes

    atomic_write_bytes(path, svg_from_musicxml(xml or musicxml_text(score), path).encode())


def count_noteheads(svg: str) -> int:
    """How many note heads an SVG from verovio draws (its ``<g class="note">`` groups)."""
    return len(re.findall(r'<g\b[^>]*\bclass="note\b', svg))
