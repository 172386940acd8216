"""Corpora: built-in collections and folders of files, prepared, cached, split and deduplicated.

>>> corpus = tunelab.corpus.load("deutschl", preset="study")   # doctest: +SKIP
>>> train = corpus.split("train")                               # doctest: +SKIP

Built-in: ``deutschl`` (the German Essen folk songs music21 ships as ABC) and ``bach-chorales``
(music21's 371 four-part chorales). Any other name is a path: a file, a folder of ABC / kern /
MusicXML / MIDI / grid text, or a folder holding ``train.txt``, ``val.txt`` and ``test.txt``
(grid text), which is a corpus with exactly that split.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tunelab.corpus.prepare import (
    Entry,
    PrepOptions,
    apply_options,
    cache_path,
    files_fingerprint,
    load_cached,
    read_split_file,
    save_cached,
)
from tunelab.corpus.segment import segments
from tunelab.corpus.sources import resolve
from tunelab.errors import ConfigError
from tunelab.score import Score

SPLITS = ("train", "val", "test")

__all__ = ["SPLITS", "Corpus", "Entry", "PrepOptions", "list_corpora", "load", "segments", "subsample"]


def list_corpora() -> list[dict]:
    """The built-in corpora with a one-line description each."""
    from tunelab.corpus.sources import BUILTINS

    return [{"name": k, "description": v.description} for k, v in BUILTINS.items()]


@dataclass
class Corpus:
    """Prepared pieces with their manifest. ``entries`` holds every piece read or tried."""

    name: str
    entries: list[Entry]
    options: PrepOptions
    prepare_seconds: float = 0.0
    from_cache: bool = False

    @property
    def kept(self) -> list[Entry]:
        return [e for e in self.entries if e.status == "kept"]

    @property
    def scores(self) -> list[Score]:
        return [e.score for e in self.kept]

    @property
    def fingerprint(self) -> str:
        """16 hex digits naming the kept pieces and their splits: a run records its training
        corpus's, so that another copy of the same corpus can be recognised as the same."""
        import hashlib

        text = "\n".join(f"{e.split}\t{e.id}" for e in self.kept)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def split(self, name: str) -> list[Score]:
        """The kept scores of one split (``train``, ``val``, ``test``) or ``all``."""
        if name == "all":
            return self.scores
        if name not in SPLITS:
            raise ConfigError(f"split must be one of train, val, test or all, got {name!r}")
        return [e.score for e in self.kept if e.split == name]

    def errors(self) -> list[Entry]:
        return [e for e in self.entries if e.status == "error"]

    def duplicate_groups(self) -> list[list[Entry]]:
        """Groups of kept-or-deduplicated pieces with identical notes and rests, first kept first."""
        groups: dict[str, list[Entry]] = {}
        for e in self.entries:
            if e.status == "kept" or e.duplicate_of:
                groups.setdefault(e.extra["content"], []).append(e)
        return [g for g in groups.values() if len(g) > 1]

    def info(self) -> dict:
        """Counts kept / unreadable / dropped (with reasons), splits, duplicates, meters, keys,
        pitch range and lengths."""
        status = Counter(e.status for e in self.entries)
        dropped = Counter(e.reason.split(":")[0] for e in self.entries if e.status == "dropped")
        kept = self.scores
        n_notes = np.array([len(s) for s in kept]) if kept else np.zeros(1)
        quarters = np.array([s.end / s.tpq for s in kept]) if kept else np.zeros(1)
        pitches = np.concatenate([s.pitch for s in kept]) if kept else np.zeros(1, dtype=int)
        groups = self.duplicate_groups()
        across = within = 0
        pairs = Counter()
        for g in groups:
            splits = [e.split for e in g]
            within += sum(c - 1 for c in Counter(splits).values())
            across += len(set(splits)) > 1
            for a in set(splits):
                for b in set(splits):
                    if a < b:
                        pairs[f"{a}&{b}"] += 1
        return {
            "corpus": self.name,
            "options": self.options.key(),
            "pieces": len(self.entries),
            "kept": status["kept"],
            "unreadable": status["error"],
            "dropped": status["dropped"],
            "parse_rate": round(1 - status["error"] / max(1, len(self.entries)), 4),
            "dropped_by_reason": dict(dropped.most_common()),
            "splits": {s: sum(e.split == s for e in self.kept) for s in SPLITS},
            "in_no_split": sum(e.split not in SPLITS for e in self.kept),
            "duplicates": {
                "groups": len(groups),
                "extra_copies_within_a_split": within,
                "groups_across_splits": across,
                "groups_by_split_pair": dict(pairs),
            },
            "meters": dict(Counter(_meter_name(s) for s in kept).most_common(12)),
            "keys": dict(Counter(_key_name(s) for s in kept).most_common(12)),
            "pickups": sum(s.pickup > 0 for s in kept),
            # ABC: how many tunes the native reader read, how many went to music21 and why
            "readers": dict(Counter(s.meta["reader"] for s in kept if "reader" in s.meta).most_common()),
            "music21_because": dict(
                Counter(s.meta["music21_because"] for s in kept if "music21_because" in s.meta).most_common(5)
            ),
            "pitch_range": [int(pitches.min()), int(pitches.max())] if kept else [],
            "notes_per_piece": _stats(n_notes),
            "quarters_per_piece": _stats(quarters),
            "prepare_seconds": round(self.prepare_seconds, 3),
            "from_cache": self.from_cache,
        }


def load(
    name_or_path,
    preset: str | None = None,
    *,
    options: PrepOptions | None = None,
    jobs: int | None = None,
    use_cache: bool = True,
    verbose: bool = True,
    **overrides,
) -> Corpus:
    """Prepare (or load from cache) a corpus.

    Args:
        name_or_path: ``deutschl``, ``bach-chorales``, or a file or folder.
        preset: ``"study"`` for the LSTM study's preprocessing, or None.
        options: explicit PrepOptions (instead of preset and overrides).
        jobs: reader processes (default: all cores).
        use_cache: read and write the preparation cache.
        verbose: progress bar and notes on stderr.
        **overrides: PrepOptions fields, e.g. ``dedupe=True``.
    """
    t0 = time.perf_counter()
    opts = options or PrepOptions.preset(preset, **overrides)
    parts = _parts(name_or_path)
    if len(parts) > 1:  # several corpora as one: each prepared as itself, ids named by their corpus
        return _joined(parts, opts, jobs=jobs, use_cache=use_cache, verbose=verbose, t0=t0)
    source = resolve(name_or_path)
    fingerprint = source.fingerprint()
    explicit = source.explicit_split
    if opts.split_file:
        explicit = read_split_file(opts.split_file)
        fingerprint += files_fingerprint([Path(opts.split_file)])
    path = cache_path(source.name, fingerprint, opts)
    if use_cache:
        cached = load_cached(path)
        if isinstance(cached, Corpus):
            cached.prepare_seconds, cached.from_cache = time.perf_counter() - t0, True
            return cached
    # Parsing is the slow part and depends only on the files and the tie option: cache it apart.
    raw_path = cache_path(source.name + "-parsed", fingerprint, PrepOptions(ties=opts.ties))
    raw = load_cached(raw_path) if use_cache else None
    if not isinstance(raw, list):
        if verbose and source.notice:
            print(source.notice, file=sys.stderr)
        raw = source.read(ties=opts.ties, jobs=jobs, progress=verbose)
        if use_cache:
            save_cached(raw_path, raw)
    entries = []
    for ident, src, result in raw:
        if not isinstance(result, Score):
            where = f"line {result.line}: " if getattr(result, "line", None) else ""
            reason = where + getattr(result, "reason", str(result))
            entries.append(Entry(ident, src, "error", reason, extra={"message": str(result)}))
            continue
        score, reason = apply_options(result, opts)
        if score is None:
            entries.append(Entry(ident, src, "dropped", reason))
            continue
        score.meta["id"] = ident
        entries.append(Entry(ident, src, "kept", score=score, extra={"content": content_key(score)}))
    _assign_splits(entries, opts, explicit)
    if opts.dedupe:
        _dedupe(entries)
    corpus = Corpus(source.name, entries, opts)
    if use_cache:
        save_cached(path, corpus)
    corpus.prepare_seconds = time.perf_counter() - t0
    return corpus


def subsample(scores: list, fraction: float, seed: int) -> list:
    """The share ``fraction`` of ``scores`` a training run with ``--train-fraction`` and ``--seed``
    uses (in corpus order), so that anything that asks which songs a run trained on gets them."""
    if fraction >= 1:
        return list(scores)
    rng = np.random.default_rng(seed)
    k = max(1, round(fraction * len(scores)))
    return [scores[i] for i in sorted(rng.choice(len(scores), k, replace=False))]


def _parts(name_or_path) -> list[str]:
    """``deutschl+oneills+ryans``: the corpora a joined name names (a path that exists is one)."""
    text = str(name_or_path)
    if "+" not in text or Path(text).exists():
        return [text]
    return [p for p in text.split("+") if p]


def _joined(parts: list[str], opts: PrepOptions, *, t0: float, **how) -> Corpus:
    """Corpora read one by one (each its own preparation, cache and split), as one corpus."""
    entries = []
    for name in parts:
        one = load(name, options=opts, **how)
        for e in one.entries:
            e = Entry(
                f"{one.name}:{e.id}", e.source, e.status, e.reason, e.score, e.split, e.duplicate_of, e.extra
            )
            if e.score is not None:
                e.score = e.score.replace(meta={**e.score.meta, "id": e.id, "corpus": one.name})
            entries.append(e)
    corpus = Corpus("+".join(parts), entries, opts)
    corpus.prepare_seconds = time.perf_counter() - t0
    return corpus


def content_key(score: Score) -> str:
    """Identity after preparation: the notes and rests, at a resolution-free scale."""
    on, du, pitch = score.event_arrays()
    g = int(np.gcd.reduce(np.concatenate([[score.tpq], on, du])))
    return hashlib.sha1(np.stack([on // g, du // g, pitch]).astype(np.int64).tobytes()).hexdigest()


def hash_split(ident: str, fractions=(0.80, 0.06, 0.14)) -> str:
    """Deterministic split of a source id: the same id lands in the same split everywhere."""
    u = int(hashlib.sha256(ident.encode("utf-8")).hexdigest()[:12], 16) / 16**12
    train, val, _ = fractions
    return "train" if u < train else "val" if u < train + val else "test"


def _assign_splits(entries: list[Entry], opts: PrepOptions, explicit: dict | None) -> None:
    from tunelab.corpus.sources import split_key

    for e in entries:
        if explicit:  # a split file may name a piece by its id or by the id without the extension
            e.split = explicit.get(e.id) or explicit.get(split_key(e.id)) or _legacy(explicit, e.id)
        else:
            e.split = hash_split(split_key(e.id), opts.split)


def _legacy(explicit: dict, ident: str) -> str:
    """A split file written before ids kept their extension (``song#3`` for ``song.abc#3``)."""
    path, hash_, tune = ident.partition("#")
    return explicit.get(os.path.splitext(path)[0] + hash_ + tune, "")


def _dedupe(entries: list[Entry]) -> None:
    """Keep the first copy of each piece; later copies are dropped, so no piece spans splits."""
    first: dict[str, Entry] = {}
    for e in entries:
        if e.status != "kept":
            continue
        key = e.extra["content"]
        if key in first:
            e.status, e.reason, e.duplicate_of = (
                "dropped",
                f"duplicate: same as {first[key].id}",
                first[key].id,
            )
        else:
            first[key] = e


def _meter_name(s: Score) -> str:
    """The first meter, or "none" for scores without one (grid text, unmetered MIDI)."""
    return "/".join(map(str, s.time_signatures[0][1:])) if s.time_signatures else "none"


def _key_name(s: Score) -> str:
    if not s.keys:
        return "none"
    _, tonic, mode = s.keys[0]
    if mode is None:  # the file names the tonic only (ABC K:G): the mode the notes give, marked *
        from tunelab.corpus.transforms import estimate_key

        return f"{tonic} {estimate_key(s, tonic)[1]}*"
    return f"{tonic} {mode}"


def _stats(x: np.ndarray) -> dict:
    return {
        "mean": round(float(x.mean()), 2),
        "median": float(np.median(x)),
        "min": float(x.min()),
        "max": float(x.max()),
    }
