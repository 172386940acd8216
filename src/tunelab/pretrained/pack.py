"""Packing a finished run as a shipped model, and describing one (``tunelab pretrained pack |
info``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import tunelab.pretrained as shelf


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


def pack(run, name: str, into=None) -> Path:
    """Copy a finished run into the package as ``name``, its weights in 8 bits (``into``: a
    folder to pack into instead, e.g. a GPU machine's results folder to be copied back)."""
    from tunelab.training import checkpoint as ckpt

    run, out = Path(run), Path(into or shelf.HERE) / name
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

    run = shelf.resolve(run_or_name)
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
