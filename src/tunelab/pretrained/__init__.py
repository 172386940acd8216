"""Checkpoints shipped with tunelab, trained on deutschl: ``tunelab generate --model deutschl-hybrid``.

Each is a run directory inside the package (``config.json``, ``train_log.csv``,
``model.int8.safetensors``: matrices stored as 8-bit integers with a scale per row, a quarter
of their float size; see :func:`tunelab.training.checkpoint.quantize`), so everything that reads
a run reads it: ``generate``, ``score``, ``load_run``. They come from ``tunelab study
reproduce`` (docs/results.md) and were packed with::

    tunelab pretrained pack RUN_DIR NAME

``aliases.json`` names a checkpoint under another name (``deutschl-best``). This module only
finds them (it sits below training, which scores them); :mod:`tunelab.pretrained.pack` packs a run
and describes one.
"""

from __future__ import annotations

import json
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
