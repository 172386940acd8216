"""Run directories: what a training run leaves behind, written so that no crash loses it.

A run directory holds
- ``config.json``: tunelab version, the training config, the model's config, the tokenizer, the
  corpus it was trained on, and the run's status (epochs done, best epoch, why it stopped);
- ``model.safetensors``: the weights with the best validation loss so far (the model to use;
  a shipped checkpoint has ``model.int8.safetensors`` instead, see :func:`quantize`);
- ``train_log.csv``: one row per epoch (losses, accuracies, learning rate, tokens/s, time);
- ``curve.csv`` (with ``--eval-every N``): every N updates, the validation loss and accuracy on
  a fixed sample of chunks, against updates, tokens seen and training time;
- ``resume.pt``: the latest weights, optimizer, schedule, random states and position in the
  data, for ``--resume``.
:class:`Checkpointer` writes them as a run trains. Every file is replaced atomically (temp file + rename), so a kill leaves each one whole:
the old version or the new one, never half of either. ``load_run`` needs only the first two.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

from tunelab.errors import CheckpointError
from tunelab.io.atomic import atomic_write_bytes, atomic_write_text

WEIGHTS, CONFIG, LOG, RESUME = "model.safetensors", "config.json", "train_log.csv", "resume.pt"
CURVE = "curve.csv"
WEIGHTS_INT8 = "model.int8.safetensors"  # shipped checkpoints: 8-bit matrices (see quantize)
_SCALE = ".int8_scale"


def bare(model):
    """The model inside a DistributedDataParallel wrapper (or the model itself)."""
    from torch.nn.parallel import DistributedDataParallel

    return model.module if isinstance(model, DistributedDataParallel) else model


def save_weights(run: Path, model) -> None:
    from safetensors.torch import save

    state = {k: v.detach().contiguous().cpu() for k, v in bare(model).state_dict().items()}
    atomic_write_bytes(Path(run) / WEIGHTS, save(state))


def load_weights(path: Path) -> dict:
    from safetensors.torch import load

    try:
        return load(Path(path).read_bytes())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no weights here (is this a tunelab run directory?)") from None
    except Exception as err:  # safetensors raises its own types for a damaged header
        raise CheckpointError(f"{path}: unreadable weights ({err})") from None


def quantize(state: dict, min_size: int = 4096) -> dict:
    """Weights for shipping: every float matrix of at least ``min_size`` numbers as int8 with
    one float32 scale per row (symmetric, absmax / 127); the rest as they are. A quarter of
    the bytes; each number is off by at most half a step (scale / 2)."""
    out = {}
    for name, t in state.items():
        if t.is_floating_point() and t.dim() == 2 and t.numel() >= min_size:
            scale = (t.abs().amax(dim=1, keepdim=True) / 127).clamp_min(1e-12).float()
            out[name] = torch.round(t / scale).clamp(-127, 127).to(torch.int8)
            out[name + _SCALE] = scale
        else:
            out[name] = t
    return out


def dequantize(state: dict) -> dict:
    """The float weights of a :func:`quantize` state."""
    out = {}
    for name, t in state.items():
        if name.endswith(_SCALE):
            continue
        scale = state.get(name + _SCALE)
        out[name] = t.float() * scale if scale is not None else t
    return out


def save_int8(run: Path, state: dict) -> None:
    from safetensors.torch import save

    atomic_write_bytes(
        Path(run) / WEIGHTS_INT8, save({k: v.contiguous() for k, v in quantize(state).items()})
    )


def write_config(run: Path, meta: dict) -> None:
    atomic_write_text(Path(run) / CONFIG, json.dumps(meta, indent=2, default=str) + "\n")


def read_config(run: Path) -> dict:
    path = Path(run) / CONFIG
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing; {run} is not a tunelab run directory") from None
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}: not valid JSON ({err})") from None


def write_log(run: Path, rows: list[dict], name: str = LOG) -> None:
    if not rows:
        return
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(Path(run) / name, buf.getvalue())


def save_resume(run: Path, payload: dict) -> None:
    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write_bytes(Path(run) / RESUME, buf.getvalue())


def load_resume(run: Path) -> dict:
    path = Path(run) / RESUME
    if not path.exists():
        raise CheckpointError(f"{path}: nothing to resume (no epoch of this run finished)")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:
        raise CheckpointError(f"{path}: unreadable ({err})") from None


def build_model(meta: dict):
    """The (untrained) model a run's config.json describes."""
    from tunelab.models import ModelConfig, build

    spec = meta["model"]
    if "preset" in spec:
        return build(spec["preset"], spec["vocab_size"])
    return build(ModelConfig(**spec["config"]))


def load_run(run, device="cpu"):
    """(model in eval mode with the best weights, tokenizer, config.json dict) of a run."""
    from tunelab.tokenizers import from_dict

    run = Path(run)
    meta = read_config(run)
    try:
        model, tokenizer = build_model(meta), from_dict(meta["tokenizer"])
    except (KeyError, TypeError) as err:
        raise CheckpointError(f"{run / CONFIG}: incomplete or from another version ({err})") from None
    weights = run / WEIGHTS
    if not weights.exists() and (run / WEIGHTS_INT8).exists():
        weights = run / WEIGHTS_INT8
    try:
        model.load_state_dict(dequantize(load_weights(weights)))
    except RuntimeError as err:
        raise CheckpointError(f"{weights}: does not fit the model in config.json ({err})") from None
    return model.to(device).eval(), tokenizer, meta


def init_from(config) -> tuple[dict, dict]:
    """(config.json, best weights) of the run a fine-tuning starts from (a shipped model's name
    too); ConfigError when its encoding is not the one asked."""
    from tunelab.pretrained import resolve

    run = resolve(config.init_from)
    meta = read_config(run)
    if meta["tokenizer"]["name"] != config.encoding:
        raise CheckpointError(f"--init-from {config.init_from}: it encodes as {meta['tokenizer']['name']}, not "
                          f"--encoding {config.encoding}")  # fmt: skip
    model, _, _ = load_run(run)
    return meta, model.state_dict()


class Checkpointer:
    """Writes a run directory as training goes: resume.pt and train_log.csv at each save, the
    best weights when the selection metric improves, config.json with the run's status; and at
    the end the study's window metric of the best weights on every validation window. Only the
    main process writes."""

    def __init__(self, r):
        self.r = r

    def save(self, status: str) -> None:
        from tunelab.training.build import get_rng

        r, p = self.r, self.r.p
        if not r.ctx.main:
            return
        save_resume(
            r.dir,
            {
                "model": r.model.state_dict(),
                "optimizer": r.opt.state_dict(),
                "scheduler": r.sched.state_dict() if r.sched else None,
                "plateau": r.plateau.state_dict() if r.plateau else None,
                "progress": asdict(p),
                "rng": get_rng(),
            },
        )
        write_log(r.dir, p.log)
        write_log(r.dir, p.curve, CURVE)
        r.meta["status"] = {
            "state": status,
            "epochs_done": p.epoch,
            "steps": p.step,
            "best_epoch": p.best_epoch,
            "best_selection_loss": p.best,
            "training_seconds": round(p.elapsed, 1),
            "stopped": p.stopped,
        }
        write_config(r.dir, r.meta)

    def keep_best(self, selection: float) -> None:
        r = self.r
        if selection < r.p.best_saved and r.ctx.main:
            save_weights(r.dir, r.model)
        r.p.best_saved = min(r.p.best_saved, selection)

    def finish(self) -> None:
        """With the study's window metric: score the best weights and the last ones on every
        validation window and keep the better (the epochs chose on a random share of the windows,
        whose noise can pick an earlier epoch than the one a schedule's end made best)."""
        r = self.r
        if r.study and r.ctx.main and (r.dir / WEIGHTS).exists():
            last = {k: v.detach().clone() for k, v in r.model.state_dict().items()}
            best = self._exact_val("best", load_weights(r.dir / WEIGHTS))
            final = self._exact_val("last", last)
            key = "study_accuracy" if r.config.select == "study_accuracy" else "study_nll"
            sign = -1 if key == "study_accuracy" else 1
            if sign * final[key] < sign * best[key]:
                save_weights(r.dir, r.model)  # the model holds the last weights now
                r.p.best_epoch = len(r.p.log)
                best = final
            r.meta["status"] |= {
                "best_val_study": best,
                "last_val_study": final,
                "best_epoch": r.p.best_epoch,
            }
            write_config(r.dir, r.meta)
        if r.ctx.main:
            print(
                f"wrote {r.dir}: best epoch {r.p.best_epoch} (selection {r.config.select} {r.p.best:.4f}); "
                f"{r.p.seen:,} training tokens in {r.p.elapsed / 60:.1f} minutes; {r.p.stopped}",
                file=sys.stderr,
            )

    def _exact_val(self, which: str, state: dict) -> dict:
        """The study's window metric on every validation window for the weights ``state``."""
        from tunelab.training.evaluate import study_metrics

        r = self.r
        r.model.load_state_dict(state)
        t0 = time.perf_counter()
        out = study_metrics(r.model, r.data.val_study, 1, device=r.ctx.device, autocast=r.amp)
        print(
            f"{which} weights on every validation window: study accuracy {out['study_accuracy']:.4f}, "
            f"NLL {out['study_nll']:.4f} ({out['study_windows']:,} windows, {time.perf_counter() - t0:.0f} s)",
            file=sys.stderr,
        )
        return out
