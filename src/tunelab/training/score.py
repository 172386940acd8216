"""``tunelab score``: a trained run's loss and accuracies on any data, as one dict (JSON)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tunelab.errors import ConfigError, TunelabError
from tunelab.models.base import STUDY_WINDOW
from tunelab.training.checkpoint import load_run
from tunelab.training.data import Examples, encode_each, encode_songs, song_stream
from tunelab.training.distributed import choose_device
from tunelab.training.evaluate import evaluate, study_windows
from tunelab.training.evaluate import subsample as pick_windows
from tunelab.training.precision import autocast


def score(
    run, data, *, split: str | None = None, protocol: str | None = None, unseen: bool = False, device: str = "auto",
    batch_size: int = 256, subsample: int = 1, precision: str = "fp32", preset: str | None = None, surprise_csv=None,
    progress: bool = False,
) -> dict:  # fmt: skip
    """Scores of the run's best weights on ``data``.

    Args:
        run: a run directory.
        data: a corpus name or path, prepared as the run's training corpus was (or with ``preset``).
        split: ``train``, ``val``, ``test`` or ``all``; None: ``test`` for data with its own
            split (a split folder such as ../shared/data/study-split), else ``all``.
        protocol: ``study`` adds ``study_accuracy`` (flat encodings only).
        unseen: keep only songs whose tokens differ from every song the run trained on (the
            honest figure when a test set repeats training songs).
        device: ``auto``, ``cpu``, ``cuda``...
        batch_size: sequences per forward pass.
        subsample: the study accuracy on one window in ``subsample``, drawn at random with a
            fixed seed (an estimate that costs 1 / subsample of the time; 1: the study's exact
            protocol).
        precision: ``fp32``, or ``bf16`` (bfloat16 autocast: 3-5x faster for the attention
            models on a CPU with AVX-512 BF16; argmax decisions can differ on near ties).
        preset: the preparation of ``data`` (``study``: deutschl as the study's split was made);
            None: the run's own.
        surprise_csv: a path for every target's information content (song, target, token,
            bits, pitch_bits: for plots of surprise along a melody).
        progress: bars with the time left for the long parts (stderr).

    Returns:
        ``nll_per_token``, ``perplexity``, ``masked_accuracy`` (and ``study_accuracy`` with
        ``study_nll``, the same windows' mean NLL in nats, and with ``unseen`` the same over
        all songs as ``study_accuracy_all`` / ``study_nll_all``), the songs, notes and targets
        scored and the songs left out and why; ``bits_per_note`` and its ``pitch`` and
        ``rhythm`` parts (tunelab.training.surprise; with ``unseen`` also ``..._all``).
    """
    from tunelab.corpus.sources import resolve

    if protocol not in (None, "study"):
        raise ConfigError(f"--protocol must be study (or left out), got {protocol!r}")
    t0 = time.perf_counter()
    dev = choose_device(device)
    from tunelab.pretrained import resolve as run_or_shipped

    run = run_or_shipped(run)
    model, tokenizer, meta = load_run(run, dev)
    sep = tokenizer.separator_id
    if protocol == "study" and (tokenizer.is_compound or sep is None):
        raise ConfigError(f"--protocol study needs the grid encoding; {Path(run)} uses {tokenizer.name}")
    kw = {"device": dev, "autocast": autocast(precision, dev)}
    if split is None:
        split = "test" if resolve(data).explicit_split else "all"
    songs, seqs, skipped, keep = _songs(data, split, tokenizer, meta, unseen, preset)
    kept = [s for s, k in zip(seqs, keep) if k]
    if not kept:
        raise ConfigError(f"{data}: no songs to score in split {split!r}")
    out = {
        "run": str(run),
        "notes": sum(len(song) for song, k in zip(songs, keep) if k),  # in the songs scored
        "data": str(data),
        "split": split,
        "songs": len(kept),
        "left_out": {"do_not_encode": len(skipped), "also_in_train": len(seqs) - len(kept)},
        **_teacher_forced(model, tokenizer, kept, meta, batch_size, **kw),
    }
    out |= _bits(model, tokenizer, songs, seqs, keep, meta, unseen, surprise_csv, batch_size=batch_size,
                 progress=progress, **kw)  # fmt: skip
    if protocol == "study":
        out |= _study_protocol(model, seqs, keep, sep, subsample, unseen, progress=progress, **kw)
    out["precision"] = precision
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def _teacher_forced(model, tokenizer, kept: list, meta: dict, batch_size: int, **kw) -> dict:
    """NLL per token and masked accuracy of the kept songs' stream, read as the run trained."""
    train, sep = meta["train"], tokenizer.separator_id
    examples = Examples(song_stream(kept, sep, meta["data"]["gap"]), train["seq_len"], train["mode"])
    first = model.first_field if tokenizer.is_compound else 0
    return evaluate(model, examples, tokenizer, batch_size=batch_size, first_field=first, **kw)


def _songs(data, split: str, tokenizer, meta: dict, unseen: bool, preset: str | None):
    """(the songs that encode, their token arrays, why the others do not, which to keep) of one
    split; with ``unseen`` the songs that also occur in the run's training split are not kept."""
    import tunelab.corpus

    info = meta["data"]
    corpus = tunelab.corpus.load(
        data, preset or info.get("corpus_preset"), form=info.get("form", "written"), verbose=False
    )
    scores = corpus.split(split)
    each = encode_each(scores, tokenizer)
    songs = [song for song, x in zip(scores, each) if not isinstance(x, str)]
    seqs = [x for x in each if not isinstance(x, str)]
    skipped = [x for x in each if isinstance(x, str)]
    keep = [True] * len(seqs)
    if unseen:
        trained = _training_corpus(corpus, meta["train"], info)
        seen = {s.tobytes() for s in encode_songs(trained.split("train"), tokenizer)[0]}
        keep = [s.tobytes() not in seen for s in seqs]
    return songs, seqs, skipped, keep


def _bits(model, tokenizer, songs, seqs, keep, meta: dict, unseen: bool, csv_path, **kw) -> dict:
    """Bits per note of the kept songs (and of all with ``unseen``); every target to ``csv_path``."""
    from tunelab.training.surprise import bits_per_note, surprise

    train_cfg = meta["train"]
    each = surprise(model, tokenizer, seqs, [len(s) for s in songs], gap=meta["data"]["gap"],
                    seq_len=train_cfg["seq_len"], window_mode=train_cfg["mode"] == "window", **kw)  # fmt: skip
    out = bits_per_note([s for s, k in zip(each, keep) if k])
    if unseen:
        out |= {f"{k}_all": v for k, v in bits_per_note(each).items()}
    if csv_path is not None:
        _write_surprise(csv_path, tokenizer, songs, each, keep)
    return out


def _write_surprise(path, tokenizer, songs, each, keep) -> None:
    import csv
    import io

    from tunelab.io.atomic import atomic_write_text

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["song", "target", "token", "bits", "pitch_bits"])
    for i, (song, s, k) in enumerate(zip(songs, each, keep)):
        if k:
            names = tokenizer.show(s.tokens).splitlines()
            for j, (name, b, p) in enumerate(zip(names, s.bits, s.pitch_bits)):
                w.writerow([song.meta.get("id", i), j, name, f"{b:.4f}", f"{p:.4f}"])
    atomic_write_text(path, buf.getvalue())


def _study_protocol(model, seqs, keep, sep: int, subsample: int, unseen: bool, **kw) -> dict:
    """The study's window accuracy and NLL over the kept songs (and over all with ``unseen``)."""
    stream = song_stream(
        seqs, sep, STUDY_WINDOW
    )  # the study's: a window's worth of separators after each song
    index = pick_windows(len(stream) - STUDY_WINDOW, subsample)
    hits, nll = study_windows(model, stream, index=index, **kw)
    targets = _study_targets(seqs, keep, sep)
    mine = targets if index is None else targets[index]
    out = {"study_accuracy": float(hits[mine].mean()), "study_nll": float(nll[mine].mean()),
           "study_windows": int(mine.sum())}  # fmt: skip
    if unseen:
        out |= {"study_accuracy_all": float(hits.mean()), "study_nll_all": float(nll.mean()),
                "study_windows_all": len(hits)}  # fmt: skip
    return out


def _training_corpus(data, train_cfg: dict, info: dict):
    """The corpus the run trained on: ``data`` itself when it is the same corpus (same
    fingerprint, wherever it lies now), else the path the run recorded."""
    import tunelab.corpus

    if data.fingerprint == info.get("manifest"):
        return data
    try:
        return tunelab.corpus.load(
            train_cfg["corpus"], info.get("corpus_preset"), form=info.get("form", "written"), verbose=False
        )
    except TunelabError as err:
        raise ConfigError(
            f"--unseen needs the run's training corpus {train_cfg['corpus']!r}, which is not here ({err})"
        ) from None


def _study_targets(seqs: list, keep: list[bool], sep: int, window: int = STUDY_WINDOW) -> np.ndarray:
    """Which targets of the whole split's study stream are the targets of the kept songs' own
    stream. With 64 ``/`` after every song, a 64-token window never reaches into the song
    before, so a kept song's targets see the same window in both streams; only the first kept
    song's first 64 tokens are no targets in the shorter stream (it starts with them)."""
    lengths = np.array([len(song_stream([s], sep, window)) for s in seqs])
    ends = np.cumsum(lengths)
    mask = np.asarray(keep)[np.searchsorted(ends, np.arange(window, ends[-1]), side="right")]
    start = ends[int(np.argmax(keep))] - lengths[int(np.argmax(keep))]
    mask[max(start - window, 0) : start] = False  # targets at stream[start : start + window]
    return mask


def note_surprise(run, data, *, split: str = "all", device: str = "auto", batch_size: int = 256,
                  preset: str | None = None, progress: bool = False) -> list:  # fmt: skip
    """Per-note information content and entropy of a run on ``data`` (IDyOM's per-note output):
    a list of :class:`tunelab.training.expectation.NoteRow`, song after song, each song's end last."""
    from tunelab.pretrained import resolve as run_or_shipped
    from tunelab.training.expectation import note_rows

    dev = choose_device(device)
    run = run_or_shipped(run)
    model, tokenizer, meta = load_run(run, dev)
    songs, seqs, skipped, _ = _songs(data, split, tokenizer, meta, False, preset)
    if not seqs:
        why = f" ({skipped[0]})" if skipped else ""
        raise ConfigError(f"{data}: no song in split {split!r} that {Path(run).name}'s encoding holds{why}")
    try:
        each = note_rows(model, tokenizer, songs, seqs, gap=meta["data"]["gap"], seq_len=meta["train"]["seq_len"],
                         window_mode=meta["train"]["mode"] == "window", batch_size=batch_size, device=dev,
                         progress=progress)  # fmt: skip
    except ValueError as err:
        raise ConfigError(f"{Path(run).name}: {err}") from None
    return [row for rows in each for row in rows]
