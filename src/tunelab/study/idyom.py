"""``tunelab study idyom``: IDyOM's protocol (Pearce 2005, "The construction and evaluation of
statistical models of melodic structure in music perception and composition") on tunelab's
models, so that their bits per note and IDyOM's are the same measurement.

- **Sets**: music21's Essen German nursery songs (``kinder``: 213, IDyOM's set of that name) and
  the soprano lines of Bach's chorales (``chorales``: all 350 music21 ships, where IDyOM took 185),
  as written (each section once, no repeats taken: IDyOM's sets are melodies as encoded), in their
  notated keys.
- **k-fold cross-validation** (10 by default): the songs are dealt into folds by a seeded shuffle;
  each fold is predicted by a model that never saw it. A tenth of the other songs is held out
  for early stopping; the model trains to its plateau on the rest.
- **What is predicted**: a note's pitch given that a note starts there (tunelab's pitch part of a
  note's information content, :mod:`tunelab.training.surprise`; NB words: the pitch field given
  the word's bar state), from the notes before it; the model knows no key (``--controls none``).
- **Reported as IDyOM does**: a song's mean bits per note, then the mean over songs; beside it
  the 95% interval over the folds' means, and IDyOM's published figure.
- **Columns**: trained on the training folds only; and pretrained on the German Essen songs
  (Deutschl) without the evaluated set's songs (left out by their notes, not their names: a song
  whose pitch and rhythm sequence equals one of the set's, in any key, is out) and then
  fine-tuned on the training folds (IDyOM's long-term model trained on more music, "LTM+").
  With ``transpose_copies`` the training folds (only) are also seen in other keys, and it says so.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import numpy as np

from tunelab.errors import ConfigError
from tunelab.io.atomic import atomic_write_text

# (corpus, which of its songs), IDyOM's bits per note on the set (Pearce 2005; Pearce & Wiggins)
SETS = {
    "kinder": ("deutschl", "kinder", 2.106),
    "chorales": ("bach-soprano", "", 2.347),
}
PRETRAIN_CORPUS = "deutschl"
FOLD_RECIPE = {  # a small LSTM on NB words, trained to its plateau
    "encoding": "nb", "controls": "none", "form": "written", "model": "lstm", "size": "small", "seq_len": 64,
    "gap": 0, "batch_size": 16, "lr": 2e-3, "schedule": "plateau", "plateau_factor": 0.2, "plateau_patience": 1,
    "patience": 3, "epochs": 60, "select": "loss", "progress": False,
}  # fmt: skip
FINE_TUNE = {"lr": 5e-4, "patience": 2, "epochs": 30}


def idyom(out="idyom", *, sets=("kinder", "chorales"), folds: int = 10, pretrained: bool = True,
          transpose_copies: int = 0, seed: int = 0, threads: int | None = None) -> Path:  # fmt: skip
    """Run the protocol on ``sets`` and write ``idyom.md`` and ``results.json`` under ``out``
    (resumable: finished folds are kept); returns idyom.md's path."""
    unknown = [s for s in sets if s not in SETS]
    if unknown:
        raise ConfigError(f"--sets: unknown {', '.join(unknown)}; choose from {', '.join(SETS)}")
    if folds < 2:
        raise ConfigError(f"--folds must be 2 or more, got {folds}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    songs = {name: set_songs(name) for name in sets}
    steps = grid([x for name in sets for x in songs[name]])
    base = None
    if pretrained:
        excluded = [s for name in sets for s in songs[name]]
        base = pretrain(out / "pretrained", excluded, steps=steps, seed=seed, threads=threads)
    results = {}
    for name in sets:
        results[name] = cross_validate(out / name, songs[name], folds=folds, base=base, seed=seed, steps=steps,
                                       transpose_copies=transpose_copies, threads=threads)  # fmt: skip
        results[name]["idyom"] = SETS[name][2]
    atomic_write_text(out / "results.json", json.dumps(results, indent=1) + "\n")
    path = out / "idyom.md"
    atomic_write_text(path, table(results, folds, transpose_copies))
    return path


def set_songs(name: str) -> list:
    """The set's songs as written, in their notated keys."""
    import tunelab.corpus

    corpus_name, prefix, _ = SETS[name]
    corpus = tunelab.corpus.load(corpus_name, form="written", verbose=False)
    return [e.score for e in corpus.kept if e.id.startswith(prefix)]


def grid(scores) -> int:
    """One grid for every model of the run (folds and the pretrained one): the coarsest multiple
    of 16ths, at most 24 steps a quarter, that holds 99% of the sets' songs exactly."""
    from tunelab.corpus.transforms import grid_for

    return grid_for(scores, at_most=24, share=0.99)[0]


def signature(score) -> tuple:
    """A song by its notes: intervals and durations relative to its first (any key, any tempo)."""
    p = score.pitch.astype(int)
    d = score.duration / max(int(score.duration[0]), 1) if len(score) else score.duration
    return tuple(np.diff(p).tolist()), tuple(np.round(d, 4).tolist())


def pretrain(folder: Path, excluded: list, *, steps: int, seed: int, threads: int | None) -> Path:
    """A model of the German Essen songs without ``excluded`` (by their notes): its run."""
    import tunelab.corpus

    run = folder / "run"
    if _finished(run):
        return run
    corpus = tunelab.corpus.load(PRETRAIN_CORPUS, form="written", verbose=False)
    out = {signature(s) for s in excluded}
    kept = [e for e in corpus.kept if signature(e.score) not in out]
    assignments = {e.id: ("val" if _draw(e.id, seed) < 0.06 else "train") for e in kept}
    songs = _write_songs(folder / "songs", [e.score for e in kept], [e.id for e in kept])
    split = folder / "split.txt"
    atomic_write_text(split, "".join(f"{songs[i]} {s}\n" for i, s in assignments.items()))
    left = len(corpus.kept) - len(kept)
    atomic_write_text(folder / "left_out.txt", f"{left} of {len(corpus.kept)} songs left out: their notes are the "
                      f"evaluated sets' ({len(excluded)} songs)\n")  # fmt: skip
    _train(run, folder / "songs", split, {"steps_per_quarter": steps}, seed, threads)
    return run


def cross_validate(folder: Path, songs: list, *, folds: int, base: Path | None, seed: int, steps: int,
                   transpose_copies: int, threads: int | None) -> dict:  # fmt: skip
    """Per-fold and overall bits per note (pitch, given a note starts) of both columns."""
    folder.mkdir(parents=True, exist_ok=True)
    names = _write_songs(folder / "songs", songs, [f"{i:04d}" for i in range(len(songs))])
    order = np.random.default_rng(seed).permutation(len(songs))
    fold_of = {int(i): k % folds for k, i in enumerate(order)}
    columns = {"scratch": None, **({"pretrained": base} if base else {})}
    result = {"songs": len(songs), "notes": int(sum(len(s) for s in songs)), "columns": {}}
    for column, init in columns.items():
        per_song = np.full(len(songs), np.nan)
        fold_means, seconds = [], 0.0
        for k in range(folds):
            t0 = time.perf_counter()
            split = folder / f"fold{k}.txt"
            atomic_write_text(split, "".join(
                f"{names[f'{i:04d}']} {'test' if fold_of[i] == k else 'val' if _draw(str(i), seed + k) < 0.1 else 'train'}\n"
                for i in range(len(songs))
            ))  # fmt: skip
            run = folder / column / f"fold{k}"
            extra = {"transpose_copies": transpose_copies, "steps_per_quarter": steps,
                     **({"init_from": str(init), **FINE_TUNE} if init else {})}  # fmt: skip
            _train(run, folder / "songs", split, extra, seed, threads)
            test = [i for i in range(len(songs)) if fold_of[i] == k]
            bits = pitch_bits(run, [songs[i] for i in test])
            per_song[test] = bits
            fold_means.append(float(np.nanmean(bits)))
            seconds += time.perf_counter() - t0
        mean, half = _interval(fold_means)
        result["columns"][column] = {"bits_per_note": float(np.nanmean(per_song)), "fold_means": fold_means,
                                     "interval": half, "fold_mean": mean, "minutes": round(seconds / 60, 1),
                                     "songs_scored": int(np.isfinite(per_song).sum())}  # fmt: skip
    return result


def pitch_bits(run: Path, songs: list) -> list[float]:
    """Each song's mean pitch information content (bits a note, given a note starts there); NaN
    for a song the model's tokenizer cannot encode (a meter its training folds never had, a
    rhythm off its grid)."""
    from tunelab.training.checkpoint import load_run
    from tunelab.training.surprise import surprise

    model, tok, meta = load_run(run)
    seqs, notes, where = [], [], []
    for i, s in enumerate(songs):
        try:
            seqs.append(tok.encode(s))
        except ValueError:
            continue
        notes.append(len(s))
        where.append(i)
    out = [float("nan")] * len(songs)
    each = surprise(model, tok, seqs, notes, gap=0, seq_len=int(meta["train"]["seq_len"])) if seqs else []
    for i, e in zip(where, each):
        out[i] = float(e.pitch_bits.sum()) / max(e.notes, 1)
    return out


def _train(run: Path, corpus: Path, split: Path, extra: dict, seed: int, threads: int | None) -> None:
    from tunelab.training import TrainConfig, train
    from tunelab.training.checkpoint import read_config

    if _finished(run):
        return
    if (run / "resume.pt").exists() and read_config(run)["status"].get("state") == "training":
        train({"out": str(run)} | read_config(run)["train"], resume=True, threads=threads, progress=False)
        return
    if run.exists():
        shutil.rmtree(run)
    fields = {**FOLD_RECIPE, **extra, "seed": seed}
    train(TrainConfig(corpus=str(corpus), out=str(run), split_file=str(split), threads=threads, **fields))


def _finished(run: Path) -> bool:
    from tunelab.training.checkpoint import read_config

    return (run / "config.json").exists() and read_config(run)["status"].get("state") == "finished"


def _write_songs(folder: Path, scores: list, ids: list[str]) -> dict[str, str]:
    """The songs as ABC files (ids made file names), once; ``{id: corpus id}``."""
    from tunelab.io import save

    folder.mkdir(parents=True, exist_ok=True)
    names = {}
    for n, (s, ident) in enumerate(zip(scores, ids)):
        name = f"{n:05d}.abc"
        names[ident] = name
        if not (folder / name).exists():
            save(s, folder / name)
    return names


def _draw(key: str, seed: int) -> float:
    """A number in [0, 1) fixed by ``key`` and ``seed``."""
    import hashlib

    return int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:8], 16) / 2**32


def _interval(xs: list[float]) -> tuple[float, float]:
    from scipy import stats

    mean = float(np.mean(xs))
    if len(xs) < 2:
        return mean, float("nan")
    half = float(stats.t.ppf(0.975, len(xs) - 1) * np.std(xs, ddof=1) / math.sqrt(len(xs)))
    return mean, half


def table(results: dict, folds: int, transpose_copies: int) -> str:
    lines = [
        "# IDyOM's protocol (tunelab study idyom)",
        "",
        f"{folds}-fold cross-validation; a note's pitch given that a note starts, from the notes before it, in bits; "
        "a song's mean, then the mean over songs; the 95% interval is over the folds' means. Songs as written, in "
        "their notated keys" + (f"; the training folds also in {transpose_copies} other keys" if transpose_copies else "")
        + ". Pretrained: on the German Essen songs without the set's songs (by their notes), then fine-tuned on "
        "the training folds.",
        "",
        "| set | songs | notes | trained on the folds | pretrained + fine-tuned | IDyOM (Pearce 2005) |",
        "|---|---|---|---|---|---|",
    ]  # fmt: skip
    for name, r in results.items():
        cells = []
        for column in ("scratch", "pretrained"):
            c = r["columns"].get(column)
            cells.append(f"{c['bits_per_note']:.3f} ± {c['interval']:.3f} ({c['minutes']} min)" if c else "-")
        lines.append(
            f"| {name} | {r['songs']} | {r['notes']:,} | {cells[0]} | {cells[1]} | {r['idyom']:.3f} |"
        )
    return "\n".join(lines) + "\n"
