"""Piano rolls: a Score as a PNG, notes as bars over time, bar lines, pitch names on the side."""

from __future__ import annotations

import io

from tunelab.score import Score

NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def png_bytes(score: Score, title: str | None = None, width: float = 8.0) -> bytes:
    """A piano roll of ``score`` as PNG bytes (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PatchCollection

    q = score.tpq
    fig, ax = plt.subplots(figsize=(width, 2.6), dpi=90)
    rects = [plt.Rectangle((o / q, p - 0.4), d / q, 0.8) for o, d, p, _ in score.notes()]
    ax.add_collection(PatchCollection(rects, facecolor="#2a6fb0", edgecolor="#163d63", linewidth=0.4))
    bars = [b / q for b in score.bar_starts()]  # one collection, not an artist per bar line
    ax.vlines(bars, 0, 1, transform=ax.get_xaxis_transform(), color="#bbb", lw=0.6, zorder=0)
    ax.set_xlim(0, max(score.end, 1) / q)
    lo, hi = (int(score.pitch.min()) - 2, int(score.pitch.max()) + 2) if len(score) else (58, 74)
    ax.set_ylim(lo, hi)
    ticks = [p for p in range(lo, hi + 1) if p % 12 in (0, 4, 7)]
    ax.set_yticks(ticks, [f"{NAMES[p % 12]}{p // 12 - 1}" for p in ticks], fontsize=7)
    ax.set_xlabel("quarter notes", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def write_png(score: Score, path, title: str | None = None) -> None:
    from tunelab.io.atomic import atomic_write_bytes

    atomic_write_bytes(path, png_bytes(score, title))
