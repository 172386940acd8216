"""Checkpoints shipped with tunelab, trained on deutschl: ``tunelab generate --model deutschl-hybrid``.

Each is a run directory inside the package (``config.json``, ``train_log.csv``,
``model.int8.safetensors``: matrices stored as 8-bit integers with a scale per row, a quarter
of their float size; see :func:`tunelab.training.checkpoint.quantize`), so everything that reads
a run reads it: ``generate``, ``score``, ``load_run``. They come from ``tunelab study
reproduce`` (docs/results.md) and were packed with::

    tunelab pretrained pack RUN_DIR NAME

``aliases.json`` names a checkpoint under another name (``deutschl-best``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tunelab.errors import ConfigError

HERE = Path(__file__).resolve().parent


def aliases() -> dict[str, str]:
    """Other names for shipped checkpoints (``deutschl-best`` -> the best of them)."""
    path = HERE / "aliases.json"
    return json.loads(path.read_text()) if path.exists() else {}


def names() -> list[str]:
    """The shipped checkpoints' names, aliases included."""
    real = [p.name for p in HERE.iterdir() if (p / "config.json").exists()] if HERE.exists() else []
    return sorted(real + [a for a, target in aliases().items() if target in real])


def resolve(run_or_name) -> Path:
    """A run directory: ``run_or_name`` itself if it is a folder, else a shipped checkpoint."""
    path = Path(run_or_name)
    if path.is_dir():
        return path
    name = aliases().get(str(run_or_name), str(run_or_name))
    if (HERE / name / "config.json").exists():
        return HERE / name
    shipped = ", ".join(names()) or "none in this installation"
    raise ConfigError(f"{run_or_name}: neither a run directory nor a shipped model (shipped: {shipped})")


def _longest_song(meta: dict) -> int | None:
    """The longest training song of a run in tokens (generation's default step cap), from its
    corpus if it is on this machine."""
    import tunelab.corpus
    import tunelab.tokenizers
    from tunelab.errors import TunelabError
    from tunelab.training.data import encode_songs

    try:
        corpus = tunelab.corpus.load(
            meta["train"]["corpus"], meta["data"].get("corpus_preset"), verbose=False
        )
    except TunelabError:
        return None
    seqs, _ = encode_songs(corpus.split("train"), tunelab.tokenizers.from_dict(meta["tokenizer"]))
    return max((len(s) for s in seqs), default=None)


def pack(run, name: str) -> Path:
    """Copy a finished run into the package as ``name``, its weights in 8 bits."""
    from tunelab.training import checkpoint as ckpt

    run, out = Path(run), HERE / name
    meta = ckpt.read_config(run)
    state = ckpt.load_weights(run / ckpt.WEIGHTS)
    out.mkdir(parents=True, exist_ok=True)
    meta["train"] = {**meta["train"], "out": f"(packed from {run.name})"}
    if "longest_song" not in meta["data"]:  # runs trained before tunelab recorded it
        meta["data"]["longest_song"] = _longest_song(meta)
    ckpt.write_config(out, {**meta, "packed_from": str(run)})
    shutil.copyfile(run / ckpt.LOG, out / ckpt.LOG)
    ckpt.save_int8(out, state)
    return out


def describe(run_or_name) -> dict:
    """What a shipped model (or a run) is and what it can be asked for: its family, encoding,
    size, corpus, training, and each control with the values it knows."""
    import tunelab.tokenizers
    from tunelab.sampling.request import knows
    from tunelab.tokenizers.infill import fills_in
    from tunelab.training import checkpoint as ckpt

    run = resolve(run_or_name)
    meta = ckpt.read_config(run)
    tok = tunelab.tokenizers.from_dict(meta["tokenizer"])
    train, status, data = meta.get("train", {}), meta.get("status", {}), meta.get("data", {})
    k = knows(tok)
    keys = sorted({f"{t} {m or '(mode unknown)'}" for t, m in k["key"]})
    meters = (
        ", ".join(f"{n}/{d}" for n, d in k["meter"]) or "none (its melodies name no meter; written in 4/4)"
    )
    bars = f"1 to {max(k['bars'])}" if k["bars"] else "none"
    return {
        "model": str(run_or_name),
        "family": train.get("model"),
        "encoding": tok.name,
        "parameters": meta.get("parameters"),
        "corpus": train.get("corpus"),
        "form": data.get("form") or "played",
        "training": {"epochs": status.get("epochs_done"), "best_epoch": status.get("best_epoch"),
                     "minutes": round(status.get("training_seconds", 0) / 60, 1),
                     "transpose_copies": train.get("transpose_copies", 0), "infill": train.get("infill", 0.0)},
        "controls": {
            "meter": meters,
            "key": ", ".join(keys) if keys else "none: melodies in its training key, transposed to --key",
            "type": ", ".join(k["type"]) or "none",
            "bars": bars,
            "fill / vary": "yes" if fills_in(tok) else "no (trained without --infill)",
        },
    }  # fmt: skip
