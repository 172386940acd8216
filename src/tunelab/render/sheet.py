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
    return tk.renderToSVG(1)


def write_svg(score: Score, path, xml: str | None = None) -> None:
    """Engrave ``score`` (or its MusicXML text ``xml``, if already written) to ``path``."""
    from tunelab.io.atomic import atomic_write_bytes

    atomic_write_bytes(path, svg_from_musicxml(xml or musicxml_text(score), path).encode())


def count_noteheads(svg: str) -> int:
    """How many note heads an SVG from verovio draws (its ``<g class="note">`` groups)."""
    return len(re.findall(r'<g\b[^>]*\bclass="note\b', svg))
