"""Generation dirs (DESIGN.md section 6) and ``tunelab render``.

A generation dir holds ``melodies.jsonl`` (one record per melody: name, tokens, prompt length,
why it stopped, syntax errors, the settings), ``grid.txt`` for grid models (one melody per
line, in prompt order), one folder per format (``mid/``, ``musicxml/``, ``wav/``, ``svg/``,
``png/``) and ``index.html``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tunelab.errors import TunelabError
from tunelab.render import SUFFIX, render_score
from tunelab.render.page import write_index

RECORDS = "melodies.jsonl"


def write_generation(
    out,
    scores,
    records: list[dict],
    formats,
    *,
    grid_lines: list[str] | None = None,
    title: str = "tunelab melodies",
    summary: list[str] = (),
    program: int | None = None,
    synth: str = "auto",
    progress: bool = True,
) -> list[Path]:
    """Write a generation dir; returns the files written at its top level."""
    from tunelab.io.atomic import atomic_write_text

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / RECORDS]
    atomic_write_text(out / RECORDS, "".join(json.dumps(r) + "\n" for r in records))
    if grid_lines is not None and "grid" in formats:
        atomic_write_text(out / "grid.txt", "".join(line + "\n" for line in grid_lines))
        written.append(out / "grid.txt")
    names = [r["name"] for r in records]
    items = _render_all(
        out, scores, names, formats, program, synth, progress, [r.get("info", "") for r in records]
    )
    written.append(write_index(out, title, list(summary), items))
    return written


def save_samples(
    out,
    samples,
    tokenizer,
    *,
    label: str,
    formats,
    used: dict | None = None,
    meter=None,
    key=None,
    seconds: float | None = None,
    program: int | None = None,
    synth: str = "auto",
    progress: bool = True,
    made: list | None = None,
) -> tuple[list, list[str]]:
    """Write sampled melodies (:class:`tunelab.sampling.Sample`, or anything with their ids,
    prompt_length and stop, such as :class:`tunelab.api.Melody`) as a generation dir; ``made``:
    their Scores when made already (else decoded here).

    ``label`` names the source (a run's name) in titles; ``used`` (settings, protocol, run) is
    kept in every record; ``meter`` and ``key`` default to the tokens' (or an estimate).
    Returns the melodies as Scores and the summary lines (also shown atop index.html)."""
    from tunelab.sampling import closed
    from tunelab.sampling.melody import grid_line, to_score

    n, grammar = len(samples), (used or {}).get("settings", {}).get("grammar", True)
    width = max(4, len(str(n)))
    scores, records, lines, stops = [], [], [], {}
    for i, s in enumerate(samples):
        name = f"{i + 1:0{width}d}"
        title = f"{label} #{name}"
        # a melody the step cap cut off is written as far as it could have ended (no half a bar or group)
        if made is not None:
            score = made[i].replace(meta={**made[i].meta, "title": title})
        else:
            ids = closed(tokenizer, s.ids, s.prompt_length) if s.stop == "max_steps" and grammar else s.ids
            score = to_score(ids, tokenizer, meter=meter, key=key, title=title)
        scores.append(score)
        stops[s.stop] = stops.get(s.stop, 0) + 1
        info = f"prompt {s.prompt_length} tokens, {s.steps} sampled, stopped: {s.stop}" + (
            f", syntax errors {s.syntax_errors}" if not grammar else ""
        )
        records.append(
            {
                "name": name,
                "tokens": s.ids.tolist(),
                "prompt_length": s.prompt_length,
                "stop": s.stop,
                "syntax_errors": s.syntax_errors,
                "info": info,
                "score": {
                    "title": title,
                    "meter": list(score.meter_at(0)),
                    "key": list(score.keys[0][1:]) if score.keys else None,
                },
                **(used or {}),
            }
        )
        if tokenizer.text_lines:
            lines.append(grid_line(s.ids, tokenizer))
    tokens, errors = sum(s.steps for s in samples), sum(s.syntax_errors for s in samples)
    timing = f" in {seconds:.1f} s ({tokens / max(seconds, 1e-9):,.0f} tokens/s)" if seconds else ""
    summary = [
        f"{n} melodies from {label}{timing}, stops: {', '.join(f'{k} {v}' for k, v in sorted(stops.items()))}",
        error_line(grammar, errors, tokens),
    ]
    write_generation(
        out,
        scores,
        records,
        formats,
        grid_lines=lines if lines else None,
        title=f"tunelab: {label}",
        summary=summary,
        program=program,
        synth=synth,
        progress=progress,
    )
    return scores, summary


def error_line(grammar: bool, errors: int, tokens: int) -> str:
    """The summary line on syntax errors (under the grammar there are none)."""
    if grammar:
        return f"grammar on: {errors} syntax errors in {tokens:,} tokens"
    return f"grammar off: syntax error rate {errors / max(tokens, 1):.4f} ({errors} of {tokens:,} tokens)"


def render_path(
    path, formats, out=None, *, program: int | None = None, synth: str = "auto", progress=True
) -> list[Path]:
    """``tunelab render``: render a file, a folder of files, or a generation dir (in place)."""
    from tunelab.io import list_files, load_file

    path = Path(path)
    if not path.exists():
        raise TunelabError(f"{path}: no such file or folder")
    if path.is_dir() and (path / RECORDS).exists():
        return _rerender_generation(path, formats, program, synth, progress)
    out = Path(out) if out else (path if path.is_dir() else path.parent)
    scores, names = [], []
    for f in list_files(path) if path.is_dir() else [path]:
        got, errors = load_file(f)
        for err in errors:
            print(f"tunelab: skipped: {err}", file=sys.stderr)
        for i, score in enumerate(got):
            names.append(f.stem if len(got) == 1 else f"{f.stem}-{i + 1}")
            scores.append(
                score if score.meta.get("title") else score.replace(meta={**score.meta, "title": names[-1]})
            )
    if not scores:
        raise TunelabError(f"{path}: nothing to render")
    items = _render_all(
        out, scores, names, formats, program, synth, progress, [""] * len(scores), generated=False
    )
    return [write_index(out, f"tunelab: {path.name}", [], items)]


def _rerender_generation(path: Path, formats, program, synth, progress) -> list[Path]:
    from tunelab.io import load_file

    records = [json.loads(line) for line in (path / RECORDS).read_text().splitlines() if line.strip()]
    if (path / "grid.txt").exists():
        scores, _ = load_file(path / "grid.txt")
    else:
        scores = []
        for r in records:
            got, errors = load_file(path / "mid" / f"{r['name']}.mid")
            if errors or not got:
                raise TunelabError(
                    f"{path / 'mid' / (r['name'] + '.mid')}: cannot rerender ({errors[0] if errors else 'empty'})"
                )
            scores.append(got[0])
    if len(scores) != len(records):
        raise TunelabError(f"{path}: {len(records)} records but {len(scores)} melodies to render")
    meta = [r.get("score", {}) for r in records]
    scores = [_restore(s, m, r["name"]) for s, m, r in zip(scores, meta, records)]
    names = [r["name"] for r in records]
    items = _render_all(
        path, scores, names, formats, program, synth, progress, [r.get("info", "") for r in records]
    )
    return [write_index(path, f"tunelab: {path.name}", [], items)]


def _restore(score, meta: dict, name: str):
    """Put back the meter, key and title a record keeps (grid text has none)."""
    changes = {"meta": {**score.meta, "title": meta.get("title", name)}}
    if meta.get("meter") and not score.time_signatures:
        changes["time_signatures"] = [(0, *meta["meter"])]
    if meta.get("key") and not score.keys:
        changes["keys"] = [(0, *meta["key"])]
    return score.replace(**changes)


def _render_all(
    out: Path, scores, names, formats, program, synth, progress, infos, generated=True
) -> list[dict]:
    """Each melody in each format, and an ABC tunebook of them; ``generated``: ABC writes every
    repeat's start (a melody's form is the model's, so nothing of a source's spelling is kept)."""
    from tqdm import tqdm

    from tunelab.render.audio import DEFAULT_PROGRAM, engine, notice

    per_item = [f for f in formats if f != "grid"]
    if "wav" in per_item:
        print(notice(engine(synth), DEFAULT_PROGRAM if program is None else program), file=sys.stderr)
    items = []
    bar = tqdm(total=len(scores), desc="rendering", unit="melody", disable=not progress or not per_item)
    for number, (score, name, info) in enumerate(zip(scores, names, infos), 1):
        try:
            render_score(score, name, out, per_item, program=program, synth=synth, number=number,
                         explicit_repeats=generated)  # fmt: skip
        except (ValueError, TunelabError) as err:  # one melody a format cannot hold: say so, go on
            print(f"{out / name}: not rendered: {err}", file=sys.stderr)
            info = f"{info} (not rendered: {err})".strip()
        files = {f: f"{f}/{name}{SUFFIX[f]}" for f in per_item if (out / f / f"{name}{SUFFIX[f]}").exists()}
        items.append({"name": name, "title": score.meta.get("title", name), "info": info, "files": files})
        bar.update()
    bar.close()
    if "abc" in per_item:  # and every melody in one tunebook, as folk musicians pass tunes around
        from tunelab.io.abc_write import write_abc

        kept = [(s, i["name"]) for s, i in zip(scores, items) if "abc" in i["files"]]
        write_abc(
            [s for s, _ in kept],
            out / "tunebook.abc",
            titles=[n for _, n in kept],
            explicit_repeats=generated,
        )
    return items
