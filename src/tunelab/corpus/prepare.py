"""Corpus preparation: read every piece (in parallel, with progress), apply the chosen
transforms, and record for each piece whether it was kept and, if not, why.

The result is cached on disk, keyed by the corpus's files, the options and the tunelab
version, and written atomically; a second preparation only loads the cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from tunelab.corpus.transforms import (
    STUDY_DURATIONS,
    duration_problem,
    quantize,
    top_line,
    transpose_to_c_or_a,
)
from tunelab.errors import ConfigError, ParseError
from tunelab.form import played
from tunelab.score import Score

FORMS = ("played", "written")


@dataclass(frozen=True)
class PrepOptions:
    """What preparation does to each piece. ``preset="study"`` sets the LSTM study's recipe.

    Attributes:
        durations: keep only pieces whose notes and rests all have these lengths (quarter
            notes); None keeps every length.
        transpose: ``"c-or-a"`` moves major keys to C and minor keys to A; None leaves keys.
        key_rule: which key ``transpose`` uses: ``"first"``, ``"estimate"`` or ``"study"``
            (see ``tunelab.corpus.transforms.score_key``).
        ties: ``"merge"`` tied notes into one note, or ``"keep"`` them as notated.
        steps_per_quarter: quantize to this grid (4 = 16th notes); None keeps the ticks.
        monophonic: drop pieces with overlapping notes.
        voice: ``"top"`` keeps the top line of a piece with several voices (a chorale's soprano:
            :func:`tunelab.corpus.transforms.top_line`) before the other filters; None keeps all.
        split: train/val/test fractions for the hash split.
        dedupe: keep one copy of pieces identical after preparation, so no piece is in two
            splits.
        split_file: a text file of ``id split`` lines that fixes each piece's split instead of
            the hash; pieces it does not name are in no split.
        form: ``"played"`` (repeats taken, endings chosen, parts in order: what a musician plays
            and what models learn by default) or ``"written"`` (the notes once, repeat marks,
            endings and parts kept in ``Score.form``); see :mod:`tunelab.form`.
    """

    durations: tuple | None = None
    transpose: str | None = None
    key_rule: str = "first"
    ties: str = "merge"
    steps_per_quarter: int | None = None
    monophonic: bool = False
    voice: str | None = None
    split: tuple = (0.80, 0.06, 0.14)
    dedupe: bool = False
    split_file: str | None = None
    form: str = "played"

    def __post_init__(self):
        problems = []
        if self.form not in FORMS:
            problems.append(f"--form must be one of {', '.join(FORMS)}, got {self.form!r}")
        if self.voice not in (None, "top"):
            problems.append(f"--voice must be 'top' or none, got {self.voice!r}")
        if self.transpose not in (None, "c-or-a"):
            problems.append(f"--transpose must be 'c-or-a' or none, got {self.transpose!r}")
        if self.key_rule not in ("first", "estimate", "study"):
            problems.append(f"--key-rule must be first, estimate or study, got {self.key_rule!r}")
        if self.ties not in ("merge", "keep"):
            problems.append(f"--ties must be merge or keep, got {self.ties!r}")
        if self.steps_per_quarter is not None and self.steps_per_quarter <= 0:
            problems.append(f"--steps-per-quarter must be positive, got {self.steps_per_quarter}")
        if len(self.split) != 3 or any(x < 0 for x in self.split) or abs(sum(self.split) - 1) > 1e-6:
            problems.append(f"--split needs three fractions that add up to 1, got {self.split}")
        if self.split_file is not None and not Path(self.split_file).is_file():
            problems.append(f"--split-file {self.split_file}: no such file")
        if problems:
            raise ConfigError("; ".join(problems))

    @classmethod
    def preset(cls, name: str | None, **overrides) -> PrepOptions:
        """Options of a named preset (``"study"`` or None), with overrides."""
        presets = {
            None: {},
            "study": dict(
                durations=STUDY_DURATIONS,
                transpose="c-or-a",
                key_rule="study",
                ties="keep",
                steps_per_quarter=4,
                monophonic=True,
                form="written",  # the study read the songs as written, repeats not taken
            ),
        }
        if name not in presets:
            raise ConfigError(f"unknown preset {name!r}; choose from: study")
        return cls(**{**presets[name], **{k: v for k, v in overrides.items() if v is not None}})

    def key(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Entry:
    """One piece's fate: kept (with its Score) or not, and why."""

    id: str
    source: str
    status: str  # "kept", "error" (could not be read) or "dropped" (a filter)
    reason: str = ""
    score: Score | None = None
    split: str = ""
    duplicate_of: str = ""
    extra: dict = field(default_factory=dict)


def apply_options(score: Score, opts: PrepOptions) -> tuple[Score | None, str]:
    """The prepared score, or None and the reason a filter dropped it."""
    if opts.form == "played":
        try:
            score = played(score)
        except ValueError as e:
            return None, f"form: {e}"
    if opts.voice == "top":
        score = top_line(score)
    if opts.monophonic and not score.is_monophonic():
        return None, "polyphonic"
    if opts.durations is not None:
        problem = duration_problem(score, opts.durations)
        if problem:
            return None, f"duration: {problem}"
    if not len(score):
        return None, "no notes"
    if opts.transpose == "c-or-a":
        try:
            score = transpose_to_c_or_a(score, opts.key_rule)
        except ValueError as e:
            return None, f"transpose: {e}"
    if opts.steps_per_quarter is not None:
        try:
            score = quantize(score, opts.steps_per_quarter)
        except ValueError as e:
            return None, f"grid: {e}"
    return score, ""


def read_split_file(path) -> dict[str, str]:
    """``{id: split}`` from a file of ``id split`` lines (``#`` starts a comment)."""
    splits = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.rsplit(maxsplit=1)
            if len(parts) != 2 or parts[1] not in ("train", "val", "test"):
                raise ConfigError(f"{path}, line {lineno}: expected 'ID train|val|test', got {line!r}")
            splits[parts[0]] = parts[1]
    return splits


# ---- reading in parallel ------------------------------------------------------------------------


def _read_task(task):
    """Worker: one task -> list of (id, source, Score | ParseError).

    A task is ``(kind, source, ident, payload, ties)``: kind ``"abc-tune"`` with payload
    ``(tune number, tune text, reader options)``, ``"part"`` with a part's index (one part of a
    score music21 reads), or ``"file"`` with no payload.
    """
    kind, source, ident, payload, ties = task
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # music21's warnings; tunelab reports what it drops
        try:
            if kind == "abc-tune":
                from tunelab.io.abc import read_abc_tune

                number, text, dialect = payload
                score = read_abc_tune(text, source=source, tune=number, ties=ties, **dialect)
                return [(ident, source, score)]
            if kind == "part":
                from tunelab.io.m21 import read_part

                return [(ident, source, read_part(source, payload, ties=ties))]
            from tunelab.io import load_file

            scores, errors = load_file(source, ties=ties)
            if len(scores) + len(errors) == 1:  # a one-piece file: the piece is the file
                return [(ident, source, x) for x in scores + errors]
            out = [
                (f"{ident}#{s.meta.get('tune', s.meta.get('line', i + 1))}", source, s)
                for i, s in enumerate(scores)
            ]
            for e in errors:
                sub = e.tune if e.tune is not None else e.line
                out.append((ident if sub is None else f"{ident}#{sub}", source, e))
            return out
        except ParseError as e:
            return [(ident, source, e)]
        except Exception as e:  # a reader bug must not sink the batch: report it for this piece
            return [(ident, source, ParseError(source, f"unexpected {type(e).__name__}: {e}"))]


def read_all(tasks: list, *, jobs: int | None = None, desc: str = "reading") -> list[tuple]:
    """Run read tasks on ``jobs`` processes, showing progress when ``desc`` is set; results in
    task order. A terminal gets a progress bar; a log gets a line every tenth of the way."""
    jobs = jobs or min(len(tasks), os.cpu_count() or 1) or 1
    progress = _Progress(len(tasks), desc)
    results = []
    if jobs == 1 or len(tasks) < 8:
        for t in tasks:
            results.append(_read_task(t))
            progress.update()
    else:
        import multiprocessing as mp

        ctx = mp.get_context("fork") if sys.platform == "linux" else mp.get_context()
        with ctx.Pool(jobs) as pool:
            for r in pool.imap(_read_task, tasks, chunksize=max(1, min(64, len(tasks) // (jobs * 8)))):
                results.append(r)
                progress.update()
    progress.close()
    return [x for r in results for x in r]


class _Progress:
    def __init__(self, total: int, desc: str):
        self.total, self.desc, self.n, self.bar = total, desc, 0, None
        self.t0 = time.perf_counter()
        if desc and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="piece", file=sys.stderr, mininterval=0.3)

    def update(self) -> None:
        self.n += 1
        if self.bar is not None:
            self.bar.update()
        elif self.desc and self.total >= 100 and self.n % max(1, self.total // 10) == 0:
            print(
                f"{self.desc}: {self.n}/{self.total} pieces, {time.perf_counter() - self.t0:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ---- cache --------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """Where prepared corpora are cached: ``$TUNELAB_CACHE`` or ``~/.cache/tunelab``."""
    env = os.environ.get("TUNELAB_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "tunelab"


def files_fingerprint(files: list[Path], root: Path | None = None) -> str:
    """A hash of file names, sizes and modification times (cheap, changes when a file does)."""
    h = hashlib.sha256()
    skip = len(str(root)) + 1 if root else 0
    for f in map(str, files):
        try:
            st = os.stat(f)
            stamp = f"{st.st_size}\0{st.st_mtime_ns}"
        except OSError:  # a broken link or a file gone: the reader reports it, the hash notes it
            stamp = "missing"
        h.update(f"{f[skip:]}\0{stamp}\n".encode())
    return h.hexdigest()


def code_fingerprint() -> str:
    """A hash of tunelab's own source, so a changed reader never serves an old cache."""
    global _CODE_FP
    if _CODE_FP is None:
        h = hashlib.sha256()
        root = Path(__file__).resolve().parents[1]
        for f in sorted(root.rglob("*.py")):
            h.update(f.read_bytes())
        _CODE_FP = h.hexdigest()[:16]
    return _CODE_FP


_CODE_FP: str | None = None


def cache_path(name: str, fingerprint: str, opts: PrepOptions) -> Path:
    from tunelab import __version__

    key = json.dumps(
        {"fp": fingerprint, "opts": opts.key(), "version": __version__, "code": code_fingerprint()},
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[-60:]
    return cache_dir() / f"{safe}-{digest}.pkl"


def load_cached(path: Path):
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        return None  # a missing, truncated or stale cache is rebuilt


def save_cached(path: Path, obj) -> None:
    from tunelab.io.atomic import atomic_write_bytes

    atomic_write_bytes(path, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
