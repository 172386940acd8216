"""Written form or played form: what a model would learn from each (issue 27).

For the built-in tunebooks, per tune: whether its written form has repeats, endings or parts;
how many notes it has written and played; and whether the bars a model sees (the meter counted
from the pickup, as every encoding counts them) fall on the tune's own barlines. In the written
form a short bar before ``:|`` (its other half is the upbeat the repeat returns to) shifts every
later bar by the upbeat's length; played, the two halves join into one bar.

    python benchmarks/forms.py

Writes benchmarks/results/forms.md and .json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def aligned(score) -> bool:
    """Whether every whole bar the source writes starts where the meter, counted from the pickup
    (or from the last meter change), puts a bar: what every encoding's bar positions assume."""
    from itertools import pairwise

    kept = score.meta.get("barlines")
    if kept is None or score.meta.get("barlines_tpq") != score.tpq:
        return True
    written = sorted({0, *[b for b in kept if 0 < b < score.end], score.end})
    changes = [t for t, _, _ in score.time_signatures]
    for a, b in pairwise(written):
        length = score.bar_length(*score.meter_at(a))
        if b - a != length:
            continue  # a short bar (an upbeat, the bar before a repeat) says nothing of the phase
        origin = max(t for t in changes if t <= a) if changes else 0
        if (a - (score.pickup if origin == 0 else origin)) % length:
            return False
    return True


def main() -> None:
    import tunelab.corpus as tc
    from tunelab.form import played

    rows = {}
    for book in ("oneills", "ryans", "deutschl"):
        t0 = time.perf_counter()
        scores = tc.load(book, form="written", verbose=False).scores
        marked = [s for s in scores if s.form]
        heard = [played(s) for s in scores]
        rows[book] = {
            "tunes": len(scores),
            "with_marks": len(marked),
            "longer_played": sum(len(h) > len(s) for s, h in zip(scores, heard)),
            "notes_written": sum(len(s) for s in scores),
            "notes_played": sum(len(h) for h in heard),
            "aligned_written": sum(aligned(s) for s in scores),
            "aligned_played": sum(aligned(h) for h in heard),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        print(book, rows[book], flush=True)
    (HERE / "results" / "forms.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = [
        "# Written or played: what a model learns from each (benchmarks/forms.py)",
        "",
        "| | " + " | ".join(rows) + " |",
        "|---|" + "---:|" * len(rows),
    ]

    def line(label, fn):
        lines.append(f"| {label} | " + " | ".join(fn(r) for r in rows.values()) + " |")

    line("tunes", lambda r: f"{r['tunes']:,}")
    line(
        "with repeat marks, endings or parts",
        lambda r: f"{r['with_marks']:,} ({r['with_marks'] / r['tunes']:.0%})",
    )
    line("played longer than written", lambda r: f"{r['longer_played']:,}")
    line("notes: written / played", lambda r: f"{r['notes_written']:,} / {r['notes_played']:,}")
    line(
        "tunes whose whole bars all start on the meter's bars: written",
        lambda r: f"{r['aligned_written']:,} ({r['aligned_written'] / r['tunes']:.1%})",
    )
    line(
        "the same, played",
        lambda r: f"{r['aligned_played']:,} ({r['aligned_played'] / r['tunes']:.1%})",
    )
    lines += [
        "",
        "Why models train on the played form by default: it is the music as heard. Played, O'Neill's tunes "
        "have 47% more notes and Ryan's 76% (the repeats and second endings a musician plays); a model of the "
        "written form learns tunes two thirds of their length that never come back to their A part, and "
        "generates the same. What the played form does not fix: a whole bar off the meter's bars (an "
        "encoding's bar positions then name the wrong beats for the rest of the tune) is about as common "
        "either way; played it is slightly more common (a bar before a repeat that the written upbeat "
        "after it completed is short again when the repeat returns to a downbeat). The written form stays "
        "available (`--form written`, the marks as control items) for models of tune structure.",
    ]
    (HERE / "results" / "forms.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
