"""The server's HTML pages (every value escaped) and the gallery's sets of melodies.

The listener's page is static HTML; ``static/listen.js`` runs it against the JSON API, writing
text with ``textContent`` only. No inline script or style, so the Content-Security-Policy can
forbid both.
"""

from __future__ import annotations

import threading
from html import escape as e
from pathlib import Path

PER_PAGE = 24
HEAD = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
    "<meta name='viewport' content='width=device-width, initial-scale=1'>"
    "<link rel='stylesheet' href='/static/style.css'><title>{title}</title></head><body>"
)


def _page(title: str, body: str) -> str:
    return HEAD.format(title=e(title)) + body + "</body></html>\n"


def home(tests: list[dict], gallery: list[str], composer: bool = False) -> str:
    rows = "".join(
        f"<li><a href='/listen/{e(t['id'])}'>{e(t['name'])}</a></li>" for t in tests if not t["closed"]
    )
    sets = "".join(f"<li><a href='/gallery/{e(name)}'>{e(name)}</a></li>" for name in gallery)
    return _page(
        "tunelab",
        "<main><h1>tunelab</h1>"
        + (
            "<p><a href='/compose'>Composer</a>: ask a model for a tune, hear it, change it</p>"
            if composer
            else ""
        )
        + "<h2>Listening tests</h2>"
        f"<ul>{rows or '<li>none yet: <code>tunelab listen create</code></li>'}</ul>"
        f"<h2>Gallery</h2><ul>{sets or '<li>no sets: <code>tunelab serve --gallery DIR</code></li>'}</ul></main>",
    )


def listen(test: dict) -> str:
    """The listener's page: consent, then one step at a time (filled in by listen.js)."""
    d = test["design"]
    return _page(
        test["name"],
        f"<main id='app' data-test='{e(test['id'])}'>"
        f"<h1>{e(test['name'])}</h1>"
        "<section id='consent'><p>You will hear short melodies and rate each on a few scales "
        f"from 1 to {int(d['points'])}. Play each melody before rating it. Your answers are stored "
        "anonymously for research; you can stop at any time and come back later on this device.</p>"
        "<label><input type='checkbox' id='agree'> I agree to take part.</label>"
        "<label>Musical background (optional) <select id='expertise'><option value=''>prefer not to say</option>"
        "<option value='none'>none</option><option value='amateur'>amateur musician</option>"
        "<option value='student'>music student</option><option value='professional'>professional</option>"
        "</select></label><button id='start' disabled>Start</button></section>"
        "<section id='step' hidden><div class='progress'><div id='bar'></div></div>"
        "<p id='counter'></p><div id='players'></div><form id='answers'></form>"
        "<label id='comment-row'>Comment (optional) <textarea id='comment' maxlength='1000' rows='2'></textarea></label>"
        "<p id='hint'></p><button id='submit' disabled>Next</button></section>"
        "<section id='done' hidden><h2>Thank you!</h2><p>All your answers are saved.</p></section>"
        "<p id='error' role='alert'></p></main><script src='/static/listen.js'></script>",
    )


def results_shell(test_id: str) -> str:
    """The admin's results page: no data in it. ``static/results.js`` asks for the token (kept for
    this tab only, in sessionStorage), then fetches the analysis and the chart with the token in
    a header, so that it never appears in a URL, a log or the page."""
    return _page(
        "results",
        f"<main class='wide' id='results' data-test='{e(test_id)}'><h1>Results</h1>"
        "<form id='login'><label>Admin token <input type='password' id='token' autocomplete='off' required>"
        "</label><button type='submit'>Show results</button></form>"
        "<p id='error' role='alert'></p><section id='report' hidden><p id='summary'></p>"
        "<img id='chart' class='chart' alt='mean ratings with 95% intervals'><div id='tables'></div>"
        "<p><button id='csv' type='button'>Export CSV</button> <button id='json' type='button'>Export JSON</button> "
        "<button id='close' type='button'>Close the test</button></p></section></main>"
        "<script src='/static/results.js'></script>",
    )


def results(r: dict, chart_url: str | None = None) -> str:
    """The analysis as tables and a chart of the means with their intervals: an image at
    ``chart_url`` (the server's pages forbid inline styles, which SVG from matplotlib uses), or
    inline SVG for a report file opened from disk."""
    from tunelab.web.analysis import markdown

    t = r["test"]
    table_rows = []
    for scale, per in r["summary"].items():
        for cond, s in per.items():
            table_rows.append(
                f"<tr><td>{e(scale)}</td><td>{e(cond)}</td><td>{s['mean']:.2f}</td><td>{s['median']:.1f}</td>"
                f"<td>{s['ci'][0]:.2f} - {s['ci'][1]:.2f}</td><td>{s['listeners']}</td></tr>"
            )
    return _page(
        f"results: {t['name']}",
        f"<main class='wide'><h1>{e(t['name'])}</h1>"
        f"<p>{t['listeners']} listeners, {t['finished']} finished, {t['responses']} answers.</p>"
        f"{f'<img class=chart alt=chart src={e(chart_url)}>' if chart_url else chart(r, 'svg')}<table><tr><th>scale</th><th>condition</th><th>mean</th><th>median</th>"
        f"<th>95% CI</th><th>listeners</th></tr>{''.join(table_rows)}</table>"
        f"<h2>Tests</h2><pre>{e(markdown(r))}</pre></main>",
    )


def chart(r: dict, fmt: str = "png"):
    """Means per scale and condition with 95% intervals (matplotlib): PNG bytes or SVG text."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    scales, conds = r["scales"], r["conditions"]
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(scales), 3.2))
    width = 0.8 / max(1, len(conds))
    for j, cond in enumerate(conds):
        means = np.array([r["summary"][s][cond]["mean"] for s in scales])
        lo = np.array([r["summary"][s][cond]["ci"][0] for s in scales])
        hi = np.array([r["summary"][s][cond]["ci"][1] for s in scales])
        x = np.arange(len(scales)) + (j - (len(conds) - 1) / 2) * width
        ax.bar(x, means, width, label=cond)
        ax.errorbar(x, means, yerr=[means - lo, hi - means], fmt="none", ecolor="k", capsize=2, lw=0.8)
    ax.set_xticks(np.arange(len(scales)), scales)
    ax.set_ylabel("mean rating (95% CI)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=120)
    plt.close(fig)
    if fmt == "png":
        return buf.getvalue()
    text = buf.getvalue().decode()
    return text[text.index("<svg") :]


def gallery(name: str, items: list, page: int) -> str:
    page = max(0, min(page, (len(items) - 1) // PER_PAGE))
    parts = [f"<main class='wide'><h1>{e(name)}</h1><p>{len(items)} melodies</p>"]
    from tunelab.web.design import melody_metrics

    for i in range(page * PER_PAGE, min(len(items), (page + 1) * PER_PAGE)):
        ident, score = items[i]
        base = f"/media/gallery/{e(name)}/{i}"
        metrics = melody_metrics(score)
        shown = ", ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in list(metrics.items())[:6])
        parts.append(
            f"<section class='melody'><h2>{e(str(ident))}</h2>"
            f"<audio controls preload='none' src='{base}.wav'></audio>"
            f"<img class='sheet' loading='lazy' alt='sheet music' src='{base}.svg'>"
            f"<img class='roll' loading='lazy' alt='piano roll' src='{base}.png'>"
            f"<p class='meta'>{e(shown)}</p></section>"
        )
    nav = []
    if page > 0:
        nav.append(f"<a href='?page={page - 1}'>previous</a>")
    if (page + 1) * PER_PAGE < len(items):
        nav.append(f"<a href='?page={page + 1}'>next</a>")
    parts.append(f"<p>{' '.join(nav)}</p></main>")
    return _page(name, "".join(parts))


class GallerySets:
    """Named sets for the gallery (a generation dir, a folder of files, or ``deutschl``): loaded
    on first use, their media rendered on first request into ``cache`` and kept."""

    def __init__(self, cache: Path, sources: dict[str, str]):
        self.cache, self.sources = Path(cache), dict(sources)
        self._items: dict[str, list] = {}
        self._lock = threading.Lock()  # guards loading sets and handing out per-file locks
        self._file_locks: dict[Path, threading.Lock] = {}

    def names(self) -> list[str]:
        return list(self.sources)

    def source(self, name: str) -> str:
        return self.sources[name]

    def items(self, name: str) -> list:
        with self._lock:
            if name not in self._items:
                from tunelab.metrics.evaluation import reference_scores

                scores, ids, _ = reference_scores(self.sources[name], [])
                self._items[name] = list(zip(ids, scores))
        return self._items[name]

    def media(self, name: str, number: int, ext: str) -> Path:
        path = self.cache / name / f"{number}.{ext}"
        with self._lock:
            lock = self._file_locks.setdefault(path, threading.Lock())
        with lock:  # one render per file; different files render at once in the server's threads
            if not path.exists():
                from tunelab.io.atomic import atomic_write_bytes
                from tunelab.render.roll import png_bytes
                from tunelab.render.sheet import musicxml_text, svg_from_musicxml

                score = self._items[name][number][1]
                path.parent.mkdir(parents=True, exist_ok=True)
                if ext == "wav":
                    from tunelab.render.audio import write_wav

                    tmp = path.with_suffix(".part.wav")
                    write_wav(score, tmp)
                    tmp.replace(path)
                elif ext == "svg":
                    atomic_write_bytes(path, svg_from_musicxml(musicxml_text(score)).encode(), mode=0o600)
                else:
                    atomic_write_bytes(path, png_bytes(score), mode=0o600)
        return path


def composer() -> str:
    """The composer's page: controls filled in from the chosen model by ``static/compose.js``."""
    body = """<main class='wide composer'>
<h1>Composer</h1>
<form id='ask' class='controls'>
<label>Model <select id='model' name='model' required></select></label>
<p id='about' class='meta'></p>
<div class='row'>
<label data-control='key'>Key <select id='key'><option value=''>any</option></select></label>
<label data-control='mode'>Mode <select id='mode'><option value=''>any</option></select></label>
<label data-control='meter'>Meter <select id='meter'><option value=''>any</option></select></label>
<label data-control='bars'>Bars <input id='bars' type='number' min='1' max='64' placeholder='any'></label>
<label data-control='type'>Tune type <select id='type'><option value=''>any</option></select></label>
</div>
<div class='row'>
<label>Temperature <input id='temperature' type='number' min='0.05' max='2' step='0.05' value='1'></label>
<label>Top-p <input id='top_p' type='number' min='0.05' max='1' step='0.05' value='0.95'></label>
<label>Seed <input id='seed' type='number' min='0' max='2147483647' value='0'></label>
</div>
<label>Primer: a tune to continue, as ABC (optional)
<textarea id='primer' rows='4' maxlength='20000' spellcheck='false'></textarea></label>
<label>or open a file (ABC, MIDI, MusicXML, kern) <input id='upload' type='file' accept='.abc,.mid,.midi,.xml,.musicxml,.krn'></label>
<button id='generate' type='submit'>Generate</button>
</form>
<p id='status' role='status' aria-live='polite'></p>
<p id='error' role='alert'></p>
<section id='result' hidden>
<div id='sheet' aria-label='sheet music'></div>
<audio id='player' controls preload='auto'></audio>
<div class='row tools'>
<fieldset id='fill-tools'><legend>Regenerate bars</legend>
<label>from <input id='first' type='number' min='1' max='64' value='3'></label>
<label>to <input id='last' type='number' min='1' max='64' value='4'></label>
<button id='fill' type='button'>Regenerate</button></fieldset>
<fieldset><legend>Continue</legend>
<label>from bar <input id='from_bar' type='number' min='1' max='64' placeholder='the end'></label>
<button id='continue' type='button'>Continue</button></fieldset>
<fieldset id='vary-tools'><legend>Variation</legend>
<label>keep <input id='keep' type='number' min='0.1' max='0.9' step='0.1' value='0.5'></label>
<button id='vary' type='button'>Vary</button></fieldset>
<fieldset><legend>Transpose</legend>
<label>to <select id='to'></select></label>
<button id='transpose' type='button'>Transpose</button></fieldset>
</div>
<label>ABC (edit it, then apply)
<textarea id='abc' rows='10' maxlength='20000' spellcheck='false'></textarea></label>
<button id='apply' type='button'>Apply edit</button>
<p class='downloads'>Download:
<a id='dl-abc' download>ABC</a> <a id='dl-mid' download>MIDI</a> <a id='dl-musicxml' download>MusicXML</a>
<a id='dl-wav' download>WAV</a> <a id='dl-svg' download>SVG</a></p>
<p>Permalink (the same model, controls, seeds and edits give this tune again): <a id='permalink'>this tune</a></p>
</section>
</main>
<script src='/static/compose.js'></script>"""
    return _page("tunelab composer", body)
