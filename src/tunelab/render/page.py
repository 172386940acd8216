"""``index.html`` of a generation dir: every melody with its sheet music, an audio player, its
piano roll and links to its files. Plain HTML and CSS with relative links: it opens offline."""

from __future__ import annotations

import html
from pathlib import Path

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.4em; } .meta { color: #555; font-size: 0.9em; }
.melody { border: 1px solid #ddd; border-radius: 6px; padding: 0.8em 1em; margin: 1em 0; }
.melody h2 { font-size: 1.05em; margin: 0 0 0.3em; }
.melody img.sheet { width: 100%; background: #fff; }
.melody img.roll { width: 100%; max-width: 720px; }
.files a { margin-right: 0.8em; font-size: 0.9em; }
"""


def index_html(title: str, summary: list[str], items: list[dict]) -> str:
    """Items: ``{"name", "title", "info", "files": {format: relative path}}``."""
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        *(f"<p class='meta'>{e(line)}</p>" for line in summary),
    ]
    for item in items:
        f = item["files"]
        parts.append(f"<section class='melody' id='{e(item['name'])}'><h2>{e(item['title'])}</h2>")
        if item.get("info"):
            parts.append(f"<p class='meta'>{e(item['info'])}</p>")
        if "svg" in f:
            parts.append(f"<img class='sheet' loading='lazy' alt='sheet music' src='{e(f['svg'])}'>")
        if "wav" in f:
            parts.append(f"<div><audio controls preload='none' src='{e(f['wav'])}'></audio></div>")
        if "png" in f:
            parts.append(f"<img class='roll' loading='lazy' alt='piano roll' src='{e(f['png'])}'>")
        links = [
            f"<a href='{e(p)}'>{e(k)}</a>"
            for k, p in f.items()
            if k in ("mid", "musicxml", "abc", "wav", "svg")
        ]
        if links:
            parts.append(f"<p class='files'>{''.join(links)}</p>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_index(out_dir, title: str, summary: list[str], items: list[dict]) -> Path:
    from tunelab.io.atomic import atomic_write_text

    path = Path(out_dir) / "index.html"
    atomic_write_text(path, index_html(title, summary, items))
    return path
