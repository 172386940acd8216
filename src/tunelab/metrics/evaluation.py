"""Evaluate sets of melodies: every suite, every set, a reference row, statistics, files.

A set is a folder of MIDI / MusicXML / kern / ABC files, a generation dir (its grid.txt, else its
mid/ or musicxml/ folder), a grid-text file (one melody per line, as the study published its
outputs), or a list of Scores. Unreadable files are reported and
skipped. Outputs (DESIGN.md section 6): ``metrics.json`` and ``metrics.csv`` (per set and
metric: mean, std, median, min, max, count), ``per_item.csv`` (one row per melody), and
``report.html`` (see :mod:`tunelab.metrics.report`).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tunelab.metrics.suites import DEFAULT, PER_MELODY, SET_LEVEL, WITH_TRAIN
from tunelab.score import Score


@dataclass
class Report:
    """Per-item values by set, their summaries, statistics and closeness to the reference."""

    names: list[str]  # metric columns of ``values``
    values: dict[str, np.ndarray]  # set -> (items, metrics)
    items: dict[str, list[str]]  # set -> item ids, in input order
    scores: dict[str, list[Score]]
    reference: str | None = None
    labels: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # set -> per item, text columns
    copies: dict[str, list] = field(default_factory=dict)  # set -> the worst copies (novelty.CopyExample)
    stats: dict = field(default_factory=dict)
    distribution: dict = field(default_factory=dict)  # set -> {feature: {oa, kld}}
    discriminator: dict = field(default_factory=dict)  # set -> [Verdict] against the reference
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, dict[str, dict[str, float]]]:
        out = {}
        for name, v in self.values.items():
            out[name] = {}
            for j, metric in enumerate(self.names):
                col = v[:, j] if len(v) else np.zeros(0)
                out[name][metric] = {
                    "mean": float(col.mean()) if len(col) else float("nan"),
                    "std": float(col.std()) if len(col) else float("nan"),
                    "median": float(np.median(col)) if len(col) else float("nan"),
                    "min": float(col.min()) if len(col) else float("nan"),
                    "max": float(col.max()) if len(col) else float("nan"),
                    "count": len(col),
                }
        return out


def load_set(path) -> tuple[str, list[Score], list[str], list[str]]:
    """(name, scores, item ids, error lines) for a folder or a grid-text file."""
    from tunelab.io import list_files, load_file

    path = Path(path)
    scores, ids, errors = [], [], []
    if not path.exists():
        return path.stem, [], [], [f"{path}: no such file or folder"]
    source = path
    if path.is_dir() and (path / "melodies.jsonl").exists():  # a generation dir (DESIGN.md 6)
        # the same melodies in several formats: read one of them, the most exact first
        for candidate in (path / "grid.txt", path / "mid", path / "musicxml", path / "abc"):
            if candidate.exists():
                source = candidate
                break
    for f in list_files(source):
        got, errs = load_file(f)
        errors += [str(e) for e in errs]
        for i, s in enumerate(got):
            scores.append(s)
            rel = f.relative_to(source).as_posix() if source.is_dir() else f.name
            ids.append(rel if len(got) == 1 else f"{rel}#{s.meta.get('line', s.meta.get('tune', i + 1))}")
    return (path.stem if path.is_file() else path.name), scores, ids, errors


def evaluate(
    sets,
    reference=None,
    suites=None,
    *,
    train=None,
    jobs: int | None = 1,
    reference_name: str | None = None,
    progress: bool = False,
    before=None,
) -> Report:
    """Evaluate ``sets`` (paths or ``{name: [Score]}``) against an optional ``reference``
    (a path, ``"deutschl"`` for its study-preset test split, or a list of Scores), shown
    under ``reference_name`` if given. ``train`` (the same kinds; ``"deutschl"``: its train
    split) enables the suites that compare with the training songs (novelty); ``suites``
    defaults to every suite the inputs allow. ``progress``: a bar with the time left (stderr);
    ``before``: called once the inputs are checked, before the work (the CLI makes ``--out``)."""
    from tunelab.errors import ConfigError
    from tunelab.metrics.stats import compare

    if suites is None:
        suites = (*DEFAULT, *(WITH_TRAIN if train is not None else ()))
    known = (*PER_MELODY, *WITH_TRAIN, *SET_LEVEL)  # read now: a suite registered after import counts too
    unknown = [s for s in suites if s not in known]
    if unknown:
        raise ConfigError(f"--suite: unknown {', '.join(unknown)}; choose from {', '.join(known)}")
    if "discriminator" in suites and reference is None:
        raise ConfigError("--suite discriminator tells each set from the real songs: give --reference CORPUS")
    needs_train = [s for s in suites if s in WITH_TRAIN]
    if needs_train and train is None:
        raise ConfigError(
            f"--suite {', '.join(needs_train)} compares with training songs: give --train CORPUS"
        )
    _check_inputs(sets, reference, train)
    if before is not None:
        before()
    loaded, errors = {}, []
    if isinstance(sets, dict):
        loaded = {k: (list(v), [str(i) for i in range(len(v))]) for k, v in sets.items()}
    else:
        for p in sets:
            name, scores, ids, errs = load_set(p)
            errors += errs
            loaded[unique_name(name, loaded)] = (scores, ids)
    ref_name = None
    if reference is not None:
        ref_scores, ref_ids, ref_name = reference_scores(reference, errors)
        ref_name = reference_name or ref_name
        loaded[unique_name(ref_name, loaded)] = (ref_scores, ref_ids)

    per_melody = [PER_MELODY[s] for s in suites if s in PER_MELODY]
    against_train = []
    if needs_train:
        train_scores, train_ids, _ = reference_scores(train, errors, split="train")
        if not train_scores:
            raise ConfigError(f"--train {train}: no training songs could be read")
        against_train = [WITH_TRAIN[s](train_scores, train_ids) for s in needs_train]
    report = _measure(loaded, [*per_melody, *against_train], errors, progress)
    report.reference = ref_name
    names, values, kept = report.names, report.values, report.scores
    for suite in against_train:
        for set_name, scores in kept.items():
            report.copies.setdefault(set_name, []).extend(
                suite.examples(list(zip(report.items[set_name], scores)))
            )
    usable = {k: v for k, v in values.items() if len(v)}
    if len(usable) >= 2:
        report.stats = compare(usable, names, n_boot=1000)
    if "distribution" in suites and ref_name and kept.get(ref_name):
        from tunelab.metrics.distribution import compare_sets, compare_values

        for set_name, scores in kept.items():
            if set_name != ref_name and scores:
                report.distribution[set_name] = compare_sets(scores, kept[ref_name])
                # and the overlap of each metric's per-melody distribution with the reference's
                for metric, oa in compare_values(values[set_name], values[ref_name], names).items():
                    report.distribution[set_name][f"metric:{metric}"] = {"oa": oa, "kld": float("nan")}
    if "discriminator" in suites and ref_name and kept.get(ref_name):
        report.discriminator = _discriminate(kept, ref_name, progress)
    return report


def _discriminate(kept: dict, ref_name: str, progress: bool) -> dict:
    """Each set against the reference, and the reference's halves against each other (the row
    that must come out at 0.5)."""
    import sys

    from tunelab.metrics.discriminator import real_against_real, two_sample

    out = {}
    for set_name, scores in kept.items():
        if progress:
            print(f"discriminator: {set_name}...", file=sys.stderr, flush=True)
        try:
            if set_name == ref_name:
                out[f"{ref_name} (half against half)"] = real_against_real(scores)
            elif scores:
                out[set_name] = two_sample(scores, kept[ref_name])
        except ValueError as err:
            out[set_name] = str(err)
    return out


def _measure(loaded: dict, suites: list, errors: list[str], progress: bool = False) -> Report:
    """Every per-melody suite on every melody of every set; a melody a suite refuses (a
    ValueError: polyphonic for study17, say) is reported in ``errors`` and left out."""
    names: list[str] = []  # the metric columns, in the order the suites first give them
    values, items, kept_scores, labels = {}, {}, {}, {}
    from tqdm import tqdm

    bar = tqdm(total=sum(len(v[0]) for v in loaded.values()), desc="evaluating", unit="melody", delay=1,
               disable=not progress)  # fmt: skip
    for set_name, (scores, ids) in loaded.items():
        rows, keep_ids, keep, texts = [], [], [], []
        for s, ident in zip(scores, ids):
            bar.update()
            got = {}
            try:
                for suite in suites:
                    got |= suite(s)
            except ValueError as e:
                errors.append(f"{set_name}/{ident}: {e}")
                continue
            texts.append({k: v for k, v in got.items() if isinstance(v, str)})
            got = {k: v for k, v in got.items() if not isinstance(v, str)}
            names += [k for k in got if k not in names]
            rows.append([got[k] for k in names])
            keep_ids.append(ident)
            keep.append(s)
        values[set_name] = np.array(rows, dtype=float).reshape(
            len(rows), len(names)
        )  # no per-melody suite: no columns
        items[set_name], kept_scores[set_name], labels[set_name] = keep_ids, keep, texts
    bar.close()
    return Report(names, values, items, kept_scores, labels=labels, errors=errors)


def unique_name(name: str, taken) -> str:
    """``name``, or ``name-2``, ``name-3``... if ``taken`` has it."""
    base, i = name, 2
    while name in taken:
        name, i = f"{base}-{i}", i + 1
    return name


def reference_scores(reference, errors: list[str], split: str = "test") -> tuple[list[Score], list[str], str]:
    """(scores, ids, name) of a reference: a list of Scores, ``"deutschl"`` (that split of its
    study preset), ``CORPUS@SPLIT`` (a split of a built-in corpus or a folder's hash split: the
    songs a model of it trained or was tested on), a run directory (``split="train"``: the songs it
    trained on) or a path; problems are appended to ``errors``."""
    if isinstance(reference, (list, tuple)) and (not reference or isinstance(reference[0], Score)):
        return list(reference), [str(s.meta.get("id", f"#{i}")) for i, s in enumerate(reference)], "reference"
    run = Path(str(reference)) / "config.json"
    if split == "train" and run.is_file():
        return run_training_songs(run.parent)
    text = str(reference)
    if text == "deutschl" or ("@" in text and not Path(text).exists()):
        import tunelab.corpus as tc

        name, _, split = text.partition("@") if "@" in text else (text, "", split)
        corpus = tc.load(name, "study" if name == "deutschl" else None, verbose=False)
        kept = [e for e in corpus.kept if e.split == split]
        return [e.score for e in kept], [e.id for e in kept], f"{Path(name).name}-{split}"
    name, scores, ids, errs = load_set(reference)
    errors += errs
    return scores, ids, f"reference-{name}"


def _check_inputs(sets, reference, train) -> None:
    """ConfigError, before any work, for inputs that are not there or a set compared with itself."""
    from tunelab.errors import ConfigError

    for flag, source in (("--reference", reference), ("--train", train)):
        _check_source(flag, source)
    if not isinstance(sets, dict):
        for path in sets:
            if not Path(path).exists():
                raise ConfigError(f"{path}: no such file or folder")
    if reference is not None and train is not None and str(reference) == str(train) and "@" not in str(train):
        raise ConfigError(f"--reference and --train are both {reference}: every melody would be a copy of itself; "
                          f"give a corpus's splits, --reference {reference}@test --train {reference}@train")  # fmt: skip


def _check_source(flag: str, source) -> None:
    """ConfigError, before any work, for a reference or training set that is not there."""
    from tunelab.errors import ConfigError

    if source is None or isinstance(source, (list, tuple)):
        return
    text = str(source)
    if text == "deutschl" or Path(text).exists():
        return
    if "@" in text:
        name, _, split = text.rpartition("@")
        if split not in ("train", "val", "test"):
            raise ConfigError(f"{flag} {text}: the split after @ is train, val or test")
        from tunelab.corpus.sources import BUILTINS

        if all(part in BUILTINS or Path(part).exists() for part in name.split("+")):
            return
        raise ConfigError(f"{flag} {text}: {name} is neither a folder nor a built-in corpus")
    raise ConfigError(f"{flag} {text}: no such file or folder (or a corpus's split: {text}@test)")


def run_training_songs(run: Path) -> tuple[list[Score], list[str], str]:
    """The songs a training run trained on: its corpus, prepared as it was, its train split and
    the share ``--train-fraction`` took (shipped models name corpora that may not be here)."""
    import tunelab.corpus as tc
    from tunelab.errors import ConfigError

    try:
        meta = json.loads((run / "config.json").read_text())
        train, info = meta["train"], meta["data"]
    except (OSError, ValueError, KeyError) as err:
        raise ConfigError(f"{run}: not a training run ({err})") from None
    corpus = tc.load(
        train["corpus"], info.get("corpus_preset"), form=info.get("form", "written"), verbose=False
    )
    if corpus.fingerprint != info.get("manifest"):
        raise ConfigError(
            f"{run}: its training corpus {train['corpus']!r} is not here as it was when it trained"
        )
    kept = [e for e in corpus.kept if e.split == "train"]
    kept = tc.subsample(kept, train.get("train_fraction", 1.0), train.get("seed", 0))
    return [e.score for e in kept], [e.id for e in kept], f"{run.name}-train"


def write(report: Report, out_dir) -> list[Path]:
    """Write metrics.json, metrics.csv, per_item.csv and report.html; returns their paths."""
    from tunelab.io.atomic import atomic_write_text
    from tunelab.metrics.report import html

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = report.summary()
    payload = {
        "sets": summary,
        "reference": report.reference,
        "stats": report.stats,
        "distribution": report.distribution,
        "discriminator": {
            k: v if isinstance(v, str) else [asdict(x) for x in v] for k, v in report.discriminator.items()
        },
        "errors": report.errors,
    }
    atomic_write_text(out / "metrics.json", json.dumps(_clean(payload), indent=2) + "\n")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["set", "metric", "mean", "std", "median", "min", "max", "count"])
    for set_name, metrics in summary.items():
        for metric, s in metrics.items():
            w.writerow([set_name, metric, *(s[k] for k in ("mean", "std", "median", "min", "max", "count"))])
    atomic_write_text(out / "metrics.csv", buf.getvalue())
    buf = io.StringIO()
    w = csv.writer(buf)
    texts = list(dict.fromkeys(k for rows in report.labels.values() for row in rows for k in row))
    w.writerow(["set", "item", *report.names, *texts])
    for set_name, v in report.values.items():
        rows = report.labels.get(set_name) or [{}] * len(v)
        for ident, row, text in zip(report.items[set_name], v, rows):
            w.writerow([set_name, ident, *(repr(float(x)) for x in row), *(text.get(k, "") for k in texts)])
    atomic_write_text(out / "per_item.csv", buf.getvalue())
    atomic_write_text(out / "report.html", html(report))
    return [out / n for n in ("metrics.json", "metrics.csv", "per_item.csv", "report.html")]


def _clean(x):
    """JSON has no NaN or infinity: write null for them."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if np.isfinite(x) else None
    return x
