"""report.html: one self-contained page (images inline) for an evaluation Report."""

from __future__ import annotations

import base64
import html as _html
import io

import numpy as np

MAX_EXAMPLES = 3  # melodies per set shown with their SSM and piano roll
CONTEXT_QUARTERS = 8  # shown before and after a copied run


def html(report) -> str:
    summary = report.summary()
    sets = list(summary)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>tunelab evaluation</title><style>",
        "body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;"
        "margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "th:first-child,td:first-child{text-align:left}.ref{background:#eef6ff}img{max-width:100%}"
        "</style></head><body><h1>tunelab evaluation</h1>",
        f"<p>Sets: {', '.join(_e(f'{s} ({len(report.items[s])} melodies)') for s in sets)}."
        + (
            f" Reference: <b>{_e(report.reference)}</b> (the row to compare with)."
            if report.reference
            else ""
        )
        + "</p>",
        "<h2>Metrics (mean ± std)</h2>",
        _summary_table(report, summary),
    ]
    if report.stats:
        parts += [
            "<h2>Between sets</h2><p>Kruskal-Wallis p per metric; per pair, Mann-Whitney U p after Holm's "
            "correction and Cliff's delta (positive: the first set is higher).</p>",
            _stats_table(report),
        ]
    if report.discriminator:
        parts += [
            f"<h2>Told apart from {_e(report.reference)}?</h2><p>Cross-validated accuracy of a classifier "
            "trained to tell each set from the reference (0.5: it cannot), with a 95% interval, and what gives "
            "the set away (tunelab.metrics.discriminator). The reference's halves against each other must give 0.5.</p>",
            _discriminator_table(report),
        ]
    if report.distribution:
        parts += [
            f"<h2>Closeness to {_e(report.reference)}</h2><p>Overlapping area (1 = as close as the "
            "reference's own melodies are to each other) and KL divergence, per feature (Yang &amp; Lerch 2018); "
            "rows <i>metric:…</i> give the overlap of each metric's per-melody distribution with the reference's.</p>",
            _distribution_table(report),
        ]
    if report.names:  # no per-melody suite (only the discriminator, say): nothing to draw
        parts += ["<h2>Distributions</h2>", _img(_boxplots(report))]
    parts += [
        "<h2>Examples</h2><p>Self-similarity of bars (left) and piano roll (right) for the first melodies of each set.</p>"
    ]
    for s in sets:
        for ident, score in list(zip(report.items[s], report.scores[s]))[:MAX_EXAMPLES]:
            parts += [f"<h3>{_e(s)}: {_e(ident)}</h3>", _img(_example(score))]
    if any(report.copies.values()):
        parts += [
            "<h2>Worst copies of the training set</h2><p>Per set, the melodies with the longest run of "
            "notes (intervals and rhythm, any transposition) found in a training song, beside that song; "
            "the shared run in orange.</p>"
        ]
        for s, copies in report.copies.items():
            for c in copies:
                parts += [
                    f"<h3>{_e(s)}: {_e(c.item)} shares {c.copy.longest_run} notes "
                    f"({c.copy.longest_run_quarters:g} quarters, {c.copy.similarity:.0%} of it) with {_e(c.song_id)}</h3>",
                    _img(_copy(c)),
                ]
    if report.errors:
        parts += ["<h2>Skipped</h2><ul>"] + [f"<li>{_e(e)}</li>" for e in report.errors] + ["</ul>"]
    parts.append("</body></html>")
    return "\n".join(parts)


def _e(x) -> str:
    return _html.escape(str(x))


def _summary_table(report, summary) -> str:
    sets = list(summary)
    head = (
        "<tr><th>metric</th>"
        + "".join(f"<th class='{'ref' if s == report.reference else ''}'>{_e(s)}</th>" for s in sets)
        + "</tr>"
    )
    rows = []
    for m in report.names:
        cells = "".join(
            f"<td class='{'ref' if s == report.reference else ''}'>{summary[s][m]['mean']:.4f} ± {summary[s][m]['std']:.4f}</td>"
            for s in sets
        )
        rows.append(f"<tr><td>{_e(m)}</td>{cells}</tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _stats_table(report) -> str:
    pairs = [(p["a"], p["b"]) for p in next(iter(report.stats.values()))["pairs"]]
    head = (
        "<tr><th>metric</th><th>Kruskal-Wallis p</th>"
        + "".join(f"<th>{_e(a)} vs {_e(b)}: p (Holm), δ</th>" for a, b in pairs)
        + "</tr>"
    )
    rows = []
    for m, st in report.stats.items():
        cells = "".join(f"<td>{_fmt(p['p_holm'])}, {p['cliffs_delta']:+.2f}</td>" for p in st["pairs"])
        rows.append(f"<tr><td>{_e(m)}</td><td>{_fmt(st['kruskal']['p'])}</td>{cells}</tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _discriminator_table(report) -> str:
    rows = ["<table><tr><th>set</th><th>classifier</th><th>accuracy [95%]</th><th>melodies each</th>"
            "<th>what gives it away</th></tr>"]  # fmt: skip
    for name, verdicts in report.discriminator.items():
        if isinstance(verdicts, str):
            rows.append(f"<tr><td>{_e(name)}</td><td colspan='4'>{_e(verdicts)}</td></tr>")
            continue
        for v in verdicts:
            rows.append(
                f"<tr><td>{_e(name)}</td><td>{v.classifier}</td><td>{v.accuracy:.3f} [{v.low:.3f}, {v.high:.3f}]</td>"
                f"<td>{v.melodies}</td><td style='text-align:left'>{'<br>'.join(_e(t) for t in v.tells)}</td></tr>"
            )
    return "".join(rows) + "</table>"


def _distribution_table(report) -> str:
    sets = list(report.distribution)
    features = list(next(iter(report.distribution.values())))
    head = "<tr><th>feature</th>" + "".join(f"<th>{_e(s)}: OA, KLD</th>" for s in sets) + "</tr>"
    rows = [
        f"<tr><td>{_e(f)}</td>"
        + "".join(
            f"<td>{report.distribution[s][f]['oa']:.3f}, {_fmt_num(report.distribution[s][f]['kld'])}</td>"
            for s in sets
        )
        + "</tr>"
        for f in features
    ]
    return f"<table>{head}{''.join(rows)}</table>"


def _fmt_num(x: float) -> str:
    return f"{x:.3f}" if np.isfinite(x) else "–"


def _fmt(p: float) -> str:
    return "n/a" if not np.isfinite(p) else (f"{p:.1e}" if p < 1e-3 else f"{p:.3f}")


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, plt.figure(figsize=(width, height), dpi=80)


def _img(fig_and_plt) -> str:
    plt, fig = fig_and_plt
    buf = io.BytesIO()
    fig.savefig(buf, format="png")  # every figure lays itself out (tight_layout or fixed axes)
    plt.close(fig)
    return f"<img alt='figure' src='data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}'>"


def _boxplots(report):
    n = len(report.names)
    cols = 5
    rows = -(-n // cols)
    plt, fig = _figure(3.2 * cols, 2.4 * rows)
    sets = [s for s in report.values if len(report.values[s])]
    for j, name in enumerate(report.names):
        ax = fig.add_subplot(rows, cols, j + 1)
        ax.boxplot([report.values[s][:, j] for s in sets], showfliers=False)
        ax.set_xticks(range(1, len(sets) + 1), [s[:12] for s in sets], fontsize=7, rotation=20)
        ax.set_title(name, fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    return plt, fig


def _copy(c):
    """A melody and the training song it copies from, side by side, the shared run in orange."""
    from tunelab.metrics.novelty import symbols

    plt, fig = _figure(12, 2.6)
    panels = ((c.melody, c.copy.start, c.item), (c.song, c.song_start, f"training song {c.song_id}"))
    width = c.copy.longest_run_quarters + 2 * CONTEXT_QUARTERS  # both panels at one scale
    for k, (score, start, title) in enumerate(panels):
        ax = fig.add_subplot(1, 2, k + 1)
        onsets = symbols(score)[1]
        lo, hi = (onsets[start], onsets[start + c.copy.longest_run - 1]) if start is not None else (1, 0)
        _roll(plt, ax, score, lambda q, lo=lo, hi=hi: lo <= q <= hi)
        ax.set_xlim(float(lo) - CONTEXT_QUARTERS, float(lo) - CONTEXT_QUARTERS + width)
        ax.set_title(str(title)[:60], fontsize=9)
    fig.tight_layout()
    return plt, fig


def _roll(plt, ax, score, shared=lambda onset: False):
    """A piano roll on ``ax``; notes whose onset (in quarters) is ``shared`` in orange."""
    from fractions import Fraction

    from matplotlib.collections import PatchCollection

    q = score.tpq
    notes = list(score.notes())
    rects = [plt.Rectangle((o / q, p - 0.4), d / q, 0.8) for o, d, p, _ in notes]
    colors = ["#e07b00" if shared(Fraction(o, q)) else "#2a6fb0" for o, *_ in notes]
    ax.add_collection(PatchCollection(rects, facecolor=colors, edgecolor="white", linewidth=0.8))
    bars = [b / q for b in score.bar_starts()]  # one collection, not an artist per bar line
    ax.vlines(bars, 0, 1, transform=ax.get_xaxis_transform(), color="#ccc", lw=0.6, zorder=0)
    ax.set_xlim(0, max(score.end, 1) / q)
    if len(score):
        ax.set_ylim(score.pitch.min() - 2, score.pitch.max() + 2)
    ax.set_xlabel("quarter notes", fontsize=8)
    ax.set_ylabel("MIDI pitch", fontsize=8)


def _example(score):
    from tunelab.metrics.structure import ssm

    plt, fig = _figure(11, 3)
    ax = fig.add_axes([0.05, 0.17, 0.19, 0.72])
    S = ssm(score)
    ax.imshow(S, cmap="magma", vmin=0, vmax=1, origin="lower")
    ax.set_title("bar self-similarity", fontsize=9)
    ax.set_xlabel("bar", fontsize=8)
    _roll(plt, fig.add_axes([0.29, 0.17, 0.69, 0.72]), score)
    return plt, fig
