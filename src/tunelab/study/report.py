"""The report of a pipeline run (results.json): ``results.md`` and ``report.html``.

Tables are built once as rows and written both ways: training and test accuracy beside the
study's, generation, the 17 metrics beside the study's published means and the real test
songs', closeness to the test songs (overlap of distributions), copying of the training songs,
and the headline question (:mod:`tunelab.study.claim`: does the Hybrid come closest to real
songs on the local and the global metrics?). The HTML page adds
training curves, a metric chart and a gallery with audio, sheet music and piano rolls.
"""

from __future__ import annotations

import html as _html
from pathlib import Path

import numpy as np

from tunelab.io.atomic import atomic_write_text
from tunelab.metrics.study17 import NAMES
from tunelab.study import claim, published
from tunelab.study.claim import REAL


class Table:
    def __init__(self, title: str, header: list[str], rows: list[list], note: str = ""):
        self.title, self.header, self.rows, self.note = title, header, rows, note

    def markdown(self) -> str:
        lines = [f"### {self.title}", ""] + ([self.note, ""] if self.note else [])
        lines += ["| " + " | ".join(self.header) + " |", "|" + "---|" * len(self.header)]
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in self.rows]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        head = "".join(f"<th>{_e(h)}</th>" for h in self.header)
        body = "".join(
            "<tr>" + "".join(f"<td>{_e(_cell(c))}</td>" for c in row) + "</tr>" for row in self.rows
        )
        note = f"<p>{_e(self.note)}</p>" if self.note else ""
        return f"<h2>{_e(self.title)}</h2>{note}<table><tr>{head}</tr>{body}</table>"


def _cell(c) -> str:
    if isinstance(c, float):
        if not np.isfinite(c):
            return "–"
        return f"{c:,.4f}" if abs(c) < 100 else f"{c:,.1f}"
    return "–" if c is None else str(c)


def _e(x) -> str:
    return _html.escape(str(x))


def tables(results: dict, per_item: dict | None = None) -> list[Table]:
    """The report's tables; ``per_item`` (set -> metric -> values) adds the headline tests."""
    models = results["models"]
    shipped = [k for k in models if "pretrained" in results.get("plan", {}).get("models", {}).get(k, {})]
    out = [_training(models, shipped)]
    ev = results.get("evaluation")
    if ev:
        out += [_generation(models), _metrics(models, ev), _closeness(models, ev)]
        if "near_copy" in ev["means"].get(REAL, {}):
            out.append(_copying(models, ev))
        peers = claim.peers(results)
        if per_item and published.CHALLENGER in peers and len(peers) > 1:
            mine = {k: v for k, v in per_item.items() if k in (REAL, *peers)}
            out.append(headline(peers, ev, claim.coherence_tests(mine)))
    return out


def _study_name(name: str) -> str | None:
    return name if name in published.MODELS else None


def _training(models: dict, shipped: list[str]) -> Table:
    rows = []
    for name, r in models.items():
        t, s = r.get("test", {}), _study_name(name)
        rows.append(
            [
                name,
                f"{r['parameters']:,}",
                f"{r['training_minutes']:.1f}",
                f"{r['tokens_seen'] / 1e6:.1f} M" if r.get("tokens_seen") else None,
                f"{r.get('epochs_seen', r['epochs'])} ({r['best_epoch']})",
                f"{r['tokens_per_s']:,}" if r.get("tokens_per_s") else None,
                r.get("val_loss"),
                t.get("study_accuracy_all"),
                t.get("study_accuracy"),
                _bits(t, "_all"),
                _bits(t, ""),
                published.TEST_ACCURACY.get(s) if s else None,
                published.TRAINING.get(s, "") if s else "",
            ]
        )
    windows = next((r["test"].get("study_windows") for r in models.values() if r.get("test")), None)
    return Table(
        "Training and test accuracy",
        ["model", "params", "minutes", "tokens seen", "epochs (best)", "tokens/s", "val loss", "test acc",
         "test acc, unseen songs", "bits/note (pitch + rest)", "bits/note, unseen", "study's test acc",
         "study's training"],
        rows,
        "Test accuracy: the study's protocol (argmax next token after every 64-token window of the test "
        "stream, 64 `/` after each song, every target counts)"
        + (f", estimated on {windows:,} windows drawn at random" if windows else "")
        + ". Unseen songs: the test songs not also in the training split"
        + (f" (for the shipped models, {', '.join(shipped)}: the split they were trained on, elsewhere, for hours; "
           "their other columns count songs they learned)" if shipped else "")
        + ". Bits per note: the test songs' "
        "information content under the model, total / notes, split into pitch and the rest (when a note "
        "starts, holds, rests, the song's end) by the chain rule (tunelab.training.surprise).",
    )  # fmt: skip


def _bits(t: dict, every: str) -> str | None:
    if f"bits_per_note{every}" not in t:
        return None
    return (
        f"{t[f'bits_per_note{every}']:.3f} ({t[f'pitch_bits_per_note{every}']:.3f} + "
        f"{t[f'rhythm_bits_per_note{every}']:.3f})"
    )


COPYING = {  # the novelty suite's columns (tunelab.metrics.suites.Novelty), as the table names them
    "shares_2_bars": "run of 2 bars",
    "shares_4_bars": "run of 4 bars",
    "half_covered": "half in shared bars",
    "near_copy": "near copy (95%)",
    "similarity_to_nearest": "mean similarity",
    "longest_shared_quarters": "mean longest run (quarters)",
}


COPYING_SHARES = ("shares_2_bars", "shares_4_bars", "half_covered", "near_copy")


def _copying(models: dict, ev: dict) -> Table:
    means = ev["means"]
    rows = [
        [
            name,
            *(f"{means[name][k]:.1%}" if k in COPYING_SHARES else f"{means[name][k]:.2f}" for k in COPYING),
        ]
        for name in (REAL, *models)
    ]
    return Table(
        "Copying of the training songs (the test songs' own overlap is the reference row)",
        ["set", *COPYING.values()],
        rows,
        "Per melody the longest run of notes (intervals and rhythm, in any transposition) found in a "
        "training song (tunelab.metrics.novelty); shares of melodies past each threshold. Folk songs share "
        "formulas, so real songs are not 0.",
    )


def _generation(models: dict) -> Table:
    rows = []
    for name, r in models.items():
        g, s = r["generation"], _study_name(name)
        study = published.LENGTHS.get(s) if s else None
        rows.append(
            [name, g["melodies"], f"{g['seconds']:.1f}", f"{g['tokens_per_s']:,}", f"{g['mean_length']:.0f}",
             f"{g['median_length']:.0f}", f"{g['at_cap']} (cap {g.get('max_steps', 1500):,})",
             g["syntax_errors"], f"{study[0]} / {study[1]} / {study[2]}" if study else ""]
        )  # fmt: skip
    return Table(
        "Generation (the study's protocol: 64 `/` + seed, temperature 0.7, stop at `/` or at the step cap: "
        "the study's 1,500, or the longest training song)",
        ["model", "melodies", "seconds", "tokens/s", "mean length", "median length", "stopped at the cap",
         "syntax errors", "study's mean / median / at cap (1,500)"],
        rows,
    )  # fmt: skip


def _metrics(models: dict, ev: dict) -> Table:
    means = ev["means"]
    rows = []
    for m in NAMES:
        row = [m, means[REAL][m]]
        for name in models:
            row.append(means[name][m])
            s = _study_name(name)
            row.append(published.STUDY17[s][m] if s else None)
        rows.append(row)
    wins = ["closer than the study's", ""]
    for name in models:
        s = _study_name(name)
        n = (
            sum(
                abs(means[name][m] - means[REAL][m]) < abs(published.STUDY17[s][m] - means[REAL][m])
                for m in NAMES
            )
            if s
            else None
        )
        wins += [f"{n} of 17" if s else "", ""]
    rows.append(wins)
    header = ["metric", REAL]
    for name in models:
        header += [name, f"study's {name}" if _study_name(name) else "–"]
    return Table(
        "The study's 17 metrics (means over melodies)",
        header,
        rows,
        "The last row counts the metrics on which tunelab's model is closer to the real test songs' mean than "
        "the study's model of the same family was.",
    )


def _closeness(models: dict, ev: dict) -> Table:
    dist = ev.get("distribution", {})
    features = [f for f in next(iter(dist.values()), {}) if not f.startswith("metric:")]
    rows = [[f, *(dist.get(name, {}).get(f, {}).get("oa") for name in models)] for f in features]
    best = ["highest on", *(sum(_best(dist, models, f) == name for f in features) for name in models)]
    rows.append(best)
    return Table(
        f"Closeness to the {REAL}: overlapping area per feature (Yang & Lerch 2018; 1 = as close as real songs are to each other)",
        ["feature", *models],
        rows,
    )


def _best(dist: dict, models, key: str) -> str | None:
    vals = {n: dist.get(n, {}).get(key, {}).get("oa", np.nan) for n in models}
    vals = {k: v for k, v in vals.items() if np.isfinite(v)}
    return max(vals, key=vals.get) if vals else None


def write(results: dict, out: Path) -> list[Path]:
    """Write results.md and report.html into ``out``; returns their paths."""
    out = Path(out)
    per_item = out / "evaluation" / "per_item.csv"
    ts = tables(results, claim.read_per_item(per_item) if per_item.exists() else None)
    md = [f"# {results['plan'].get('title', 'tunelab')} results", "", _plan_line(results), ""]
    md += [t.markdown() for t in ts]
    atomic_write_text(out / "results.md", "\n".join(md))
    atomic_write_text(out / "report.html", _page(results, ts, out))
    return [out / "results.md", out / "report.html"]


def _plan_line(results: dict) -> str:
    p = results["plan"]
    return (
        f"Data: `{p['data']}` (preset {p.get('corpus_preset')}); {p['minutes']:g} minutes of training per model; "
        f"{p['n']} melodies per model; command: `{p.get('command', '')}`."
    )


def _page(results: dict, ts: list[Table], out: Path) -> str:
    from tunelab.metrics.report import _img

    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><meta name='viewport' content='width=device-width'>",
        f"<title>{_e(results['plan'].get('title', 'tunelab'))}</title><style>",
        "body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;"
        "margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "th:first-child,td:first-child{text-align:left}img{max-width:100%}.mel{display:flex;gap:1em;"
        "flex-wrap:wrap;align-items:center;border-top:1px solid #ddd;padding:.5em 0}.mel img{max-width:560px}"
        "</style></head><body>",
        f"<h1>{_e(results['plan'].get('title', 'tunelab'))}</h1><p>{_e(_plan_line(results))}</p>",
        "<p><a href='evaluation/report.html'>full evaluation</a> · "
        + " · ".join(
            f"<a href='generations/{_e(n)}/index.html'>{_e(n)} melodies</a>" for n in results["models"]
        )
        + "</p>",
    ]
    curves = _curves(results, out)
    if curves:
        parts += ["<h2>Training curves</h2>", _img(curves)]
    for t in ts:
        parts.append(t.html())
    if results.get("evaluation"):
        parts += ["<h2>Metric means beside the study's and the real songs'</h2>", _img(_bars(results))]
    parts.append("<h2>Gallery</h2>")
    for name in results["models"]:
        gallery = out / "gallery" / name
        for svg in sorted((gallery / "svg").glob("*.svg"))[:3] if gallery.exists() else []:
            stem, rel = svg.stem, f"gallery/{name}"
            item = [f"<div class='mel'><b>{_e(name)} #{_e(stem)}</b>"]
            if (gallery / "wav" / f"{stem}.wav").exists():
                item.append(f"<audio controls preload='none' src='{rel}/wav/{stem}.wav'></audio>")
            item.append(f"<img alt='sheet music' src='{rel}/svg/{stem}.svg'>")
            if (gallery / "png" / f"{stem}.png").exists():
                item.append(f"<img alt='piano roll' src='{rel}/png/{stem}.png'>")
            parts.append("".join(item) + "</div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _curves(results: dict, out: Path):
    """Validation loss and accuracy against tokens seen: the run's curve.csv (every N updates)
    where it has one, else its epochs."""
    import csv

    from tunelab.metrics.report import _figure

    logs = {}
    for name, r in results["models"].items():
        for file in ("curve.csv", "train_log.csv"):
            path = out / r["run"] / file
            if path.exists():
                with open(path) as f:
                    logs[name] = [row for row in csv.DictReader(f) if row.get("val_loss")]
                break
    if not any(logs.values()):
        return None
    ends = [float(rows[-1]["tokens_seen"]) for rows in logs.values() if rows]
    wide = max(ends) > 10 * min(ends)  # minute runs beside hours-long ones: a log axis shows both
    plt, fig = _figure(10, 3.2)
    for j, key in enumerate(("val_loss", "val_accuracy")):
        ax = fig.add_subplot(1, 2, j + 1)
        for name, rows in logs.items():
            tokens = [float(r["tokens_seen"]) / 1e6 for r in rows]
            ax.plot(tokens, [float(r.get(key) or np.nan) for r in rows], marker=".", label=name)
        if wide:
            ax.set_xscale("log")
        ax.set_xlabel("training tokens seen (millions" + (", log scale)" if wide else ")"))
        ax.set_title(key.replace("_", " "))
        ax.legend(fontsize=8)
    fig.tight_layout()
    return plt, fig


def _bars(results: dict):
    from tunelab.metrics.report import _figure

    means, models = results["evaluation"]["means"], list(results["models"])
    plt, fig = _figure(15, 10)
    for j, m in enumerate(NAMES):
        ax = fig.add_subplot(4, 5, j + 1)
        labels, ours, study = [], [], []
        for name in models:
            labels.append(name[:11])
            ours.append(means[name][m])
            s = _study_name(name)
            study.append(published.STUDY17[s][m] if s else np.nan)
        x = np.arange(len(models))
        ax.bar(x - 0.2, ours, 0.4, label="tunelab")
        ax.bar(x + 0.2, study, 0.4, label="study")
        ax.axhline(means[REAL][m], color="k", ls="--", lw=1, label=REAL)
        ax.set_xticks(x, labels, fontsize=7)
        ax.set_title(m, fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
        if j == 0:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return plt, fig


def headline(models: list, ev: dict, tests: list[dict] | None):
    """The study's claim re-tested: OA with the real songs per metric, and the deviation tests."""
    dist = ev.get("distribution", {})
    baselines = [k for k in models if k != published.CHALLENGER]
    rows, verdicts = [], {}
    for t in tests or []:
        key = f"metric:{t['metric']}"
        oas = [dist.get(n, {}).get(key, {}).get("oa") for n in models]
        tests_cells = [f"{t[b]['delta']:+.3f} ({_p(t[b]['p_holm'])})" for b in baselines]
        rows.append([t["group"], t["metric"], *oas, *tests_cells, t["verdict"]])
        verdicts.setdefault(t["group"], {}).setdefault(t["verdict"], 0)
        verdicts[t["group"]][t["verdict"]] += 1
    note = "; ".join(f"{g}: " + ", ".join(f"{k} {v}" for k, v in c.items()) for g, c in verdicts.items())
    return Table(
        "Does the Hybrid come closer to the real songs than both baselines?",
        [
            "group",
            "metric",
            *(f"OA {n}" for n in models),
            *(f"hybrid vs {b}: delta (p)" for b in baselines),
            "verdict",
        ],
        rows,
        "OA: overlap of each model's per-melody distribution with the test songs' (higher is closer). Tests: each "
        "melody's absolute deviation from the test songs' median, Hybrid against each baseline, two-sided "
        "Mann-Whitney U with Holm's correction over all rows; Cliff's delta < 0 means the Hybrid's melodies lie "
        f"closer. Verdicts: {note}.",
    )


def _p(p: float) -> str:
    return f"p={p:.1e}" if p < 1e-3 else f"p={p:.3f}"
