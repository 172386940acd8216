"""Designing a listening test: which melodies, which questions, in which order for whom.

``create`` picks ``n`` melodies from each set (seeded), optionally mixes in real songs as a
reference condition, renders each once (WAV, sheet music, piano roll, its study17 metrics) under
an opaque key, and stores the design. ``steps`` gives listener number ``k`` their order: blocks
of one melody per condition, the conditions' order within block ``r`` taken from row ``k + r`` of
a Williams Latin square (every condition in every position, and after every other condition,
equally often across listeners), the melodies within a condition shuffled per listener; then
the A/B pairs, each pair of conditions in turn, sides alternating across listeners.
"""

from __future__ import annotations

import secrets
import sys
from itertools import combinations
from pathlib import Path

import numpy as np

from tunelab.errors import ConfigError

SCALES = ("musicality", "coherence", "originality", "naturalness", "overall")  # the study's five


def williams(n: int) -> list[list[int]]:
    """A Williams design for ``n`` conditions: ``n`` rows (2n when n is odd), each a permutation;
    each condition takes each position equally often and follows each other one equally often."""
    first, lo, hi = [0], 1, n - 1
    while len(first) < n:
        first.append(lo)
        lo += 1
        if len(first) < n:
            first.append(hi)
            hi -= 1
    rows = [[(c + i) % n for c in first] for i in range(n)]
    return rows + [row[::-1] for row in rows] if n % 2 else rows


def steps(design: dict, number: int) -> list[dict]:
    """Listener ``number``'s steps: ``{"kind": "rate", "item": idx}`` or ``{"kind": "pair", "a", "b"}``."""
    conditions = design["conditions"]
    by_set = {c: [i for i, s in enumerate(design["item_sets"]) if s == c] for c in conditions}
    rng = np.random.default_rng([design["seed"], number])
    shuffled = {c: [by_set[c][j] for j in rng.permutation(len(by_set[c]))] for c in conditions}
    square = williams(len(conditions))
    out = []
    for r in range(max(len(v) for v in by_set.values())):
        for c in square[(number + r) % len(square)]:
            if r < len(shuffled[conditions[c]]):
                out.append({"kind": "rate", "item": shuffled[conditions[c]][r]})
    pairs = list(combinations(range(len(conditions)), 2))
    for j in range(design.get("pairs", 0)):
        a, b = pairs[(number + j) % len(pairs)]
        ia, ib = (int(rng.choice(by_set[conditions[x]])) for x in (a, b))
        out.append(
            {"kind": "pair", "a": ia, "b": ib}
            if (number + j) % 2 == 0
            else {"kind": "pair", "a": ib, "b": ia}
        )
    return out


def create(
    data_dir,
    sets: list,
    *,
    reference: str | None = None,
    n: int = 10,
    seed: int = 0,
    scales=SCALES,
    points: int = 10,
    pairs: int = 0,
    no_preference: bool = False,
    name: str | None = None,
    max_seconds: float = 30.0,
    min_play_s: float = 5.0,
    synth: str = "auto",
    progress: bool = True,
) -> str:
    """Pick, render and store a test under ``data_dir``; returns its id. ``no_preference``: A/B
    questions offer "no preference" beside A and B."""
    from tunelab.metrics.evaluation import load_set, reference_scores, unique_name
    from tunelab.web.store import Store, new_key

    if seed < 0:
        raise ConfigError(f"--seed must be 0 or more, got {seed}")

    if not sets:
        raise ConfigError("listen create: give at least one --sets folder")
    if not 2 <= points <= 100:
        raise ConfigError(f"--points must be 2 to 100, got {points}")
    scales = [s.strip() for s in scales if s.strip()]
    if not scales or len(set(scales)) != len(scales) or any(not s.replace("_", "").isalnum() for s in scales):
        raise ConfigError(f"--scales: give distinct names of letters, digits and _, got {' '.join(scales)}")
    chosen: dict[str, list] = {}
    for path in sets:
        label, scores, ids, errors = load_set(path)
        if not scores:
            raise ConfigError(f"{path}: no melodies to use ({errors[0] if errors else 'empty'})")
        chosen[unique_name(label, chosen)] = list(zip(ids, scores))
    if reference:
        errors: list[str] = []
        scores, ids, label = reference_scores(reference, errors)
        if not scores:
            raise ConfigError(f"--reference {reference}: no songs ({errors[0] if errors else 'empty'})")
        chosen[unique_name(label, chosen)] = list(zip(ids, scores))
    if len(chosen) * n > 2000:
        raise ConfigError(f"{len(chosen)} conditions x --n {n} melodies is too long a test")
    rng = np.random.default_rng(seed)
    test_id = secrets.token_hex(4)
    media_dir = Path(data_dir) / "media" / test_id
    picks = [
        (c, pool[j])
        for c, pool in chosen.items()
        for j in sorted(rng.choice(len(pool), min(n, len(pool)), replace=False))
    ]
    items = [{"key": new_key(), "set": c, "source": str(ident)} for c, (ident, _) in picks]  # keys: random
    # rendered in an order shuffled across the sets (file times tell nothing), each with a variation
    # of its own that leaves the music as it is (a silent lead-in, dither, a margin): no test file
    # equals a gallery file or another test's
    for k, i in enumerate(rng.permutation(len(picks))):
        items[i]["media"] = _render(picks[i][1][1], items[i]["key"], media_dir, max_seconds, synth, rng)
        if progress:
            print(f"\rrendering {k + 1}/{len(picks)}", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    design = {
        "conditions": list(chosen), "item_sets": [it["set"] for it in items], "seed": seed, "scales": scales,
        "points": points, "pairs": pairs if len(chosen) > 1 else 0, "no_preference": no_preference,
        "min_play_s": min_play_s,
        "max_seconds": max_seconds, "sources": [str(p) for p in sets], "reference": reference,
    }  # fmt: skip
    Store(Path(data_dir) / "tunelab.db").add_test(test_id, name or f"listening test {test_id}", design, items)
    return test_id


def _render(score, key: str, media_dir: Path, max_seconds: float, synth: str, rng) -> dict:
    """The melody's first ``max_seconds`` as WAV, sheet music and piano roll; its study17 metrics.
    Blind by construction: the files are made from the notes alone (no title, no metadata), the
    sheet music from MusicXML stripped of every title, credit and software line."""
    from tunelab.io.atomic import atomic_write_bytes
    from tunelab.render.audio import write_wav
    from tunelab.render.roll import write_png
    from tunelab.render.sheet import anonymous_musicxml, musicxml_text, svg_from_musicxml

    clip = _clip(score, max_seconds).replace(meta={})
    media_dir.mkdir(parents=True, exist_ok=True)
    write_wav(clip, media_dir / f"{key}.wav", prefer=synth)
    _vary_wav(media_dir / f"{key}.wav", rng)
    svg = svg_from_musicxml(anonymous_musicxml(musicxml_text(clip)), key)
    atomic_write_bytes(media_dir / f"{key}.svg", svg.encode(), mode=0o600)
    write_png(clip, media_dir / f"{key}.png")
    _vary_png(media_dir / f"{key}.png", rng)
    seconds = clip.end * 60.0 / (clip.tempo or 120.0) / clip.tpq
    return {"wav": f"{key}.wav", "svg": f"{key}.svg", "png": f"{key}.png", "seconds": round(seconds, 2),
            "metrics": melody_metrics(score)}  # fmt: skip


def _vary_wav(path: Path, rng) -> None:
    """A silent lead-in of 20-250 ms and a dither of one step (inaudible): the same music in
    bytes no other render has. The listening clock counts the music's length, not the lead-in."""
    import wave

    with wave.open(str(path)) as w:
        params, frames = w.getparams(), w.readframes(w.getnframes())
    samples = np.frombuffer(frames, dtype="<i2").astype(np.int32)
    lead = np.zeros(int(rng.integers(20, 250)) * params.framerate // 1000 * params.nchannels, dtype=np.int32)
    noisy = samples + rng.integers(-1, 2, len(samples))
    out = np.clip(np.concatenate([lead, noisy]), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setparams(params)
        w.writeframes(out.tobytes())


def _vary_png(path: Path, rng) -> None:
    """A margin of 1-6 pixels in the picture's own background colour."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im.load()
    border = tuple(int(x) for x in rng.integers(1, 7, 4))
    ImageOps.expand(im, border=border, fill=im.getpixel((0, 0))).save(path)


def melody_metrics(score) -> dict[str, float]:
    """The study17 metrics of one melody (empty for a polyphonic score), rounded for display."""
    from tunelab.corpus.transforms import quantize
    from tunelab.io.gridtext import format_score
    from tunelab.metrics.study17 import NAMES, study17_many

    try:
        values = study17_many([format_score(quantize(score, 4))])[0]
    except ValueError:
        return {}
    return {k: round(float(v), 4) for k, v in zip(NAMES, values) if np.isfinite(v)}


def _clip(score, max_seconds: float):
    """The score up to ``max_seconds`` (at its tempo, else 120 quarters a minute)."""
    limit = int(max_seconds * (score.tempo or 120.0) / 60.0 * score.tpq)
    if score.end <= limit:
        return score
    keep = score.onset < limit
    rests = score.rests
    if rests is not None:
        rests = rests[rests[:, 0] < limit]
        rests[:, 1] = np.minimum(rests[:, 1], limit - rests[:, 0])
    return score.replace(
        onset=score.onset[keep], duration=np.minimum(score.duration[keep], limit - score.onset[keep]),
        pitch=score.pitch[keep], velocity=None if score.velocity is None else score.velocity[keep],
        end=limit, rests=rests,
    )  # fmt: skip
