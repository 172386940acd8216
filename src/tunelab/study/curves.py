"""Learning curves beside the study's: validation window accuracy and NLL against updates, targets
and wall time.

A tunelab run logs, per epoch, the study's window metric on a seeded random share of the
validation windows (``--select study_nll`` or ``--study-eval``); the study published its Keras
history per epoch (:data:`tunelab.study.published.HISTORY`), over every validation window. To
put both on one axis, the study's epochs become updates (epoch x its updates an epoch) and
targets (epoch x 997,066); a tunelab update trains batch x (seq_len - loss_from) targets. Wall
time is each side's own hardware (the study's: its published hours spread evenly over its
epochs), so that axis compares cost, not models.

>>> from tunelab.study.curves import write                            # doctest: +SKIP
>>> write({"lstm": "runs/lstm", "transformer": "runs/tf"}, "docs/results/curves")   # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tunelab.io.atomic import atomic_write_bytes, atomic_write_text
from tunelab.study.published import HISTORY, TARGETS_PER_EPOCH

COLUMNS = ("model", "source", "epoch", "updates", "targets", "minutes", "val_accuracy", "val_nll", "hardware")
_X = {"updates": "updates", "targets": "targets (next tokens trained on)", "minutes": "training minutes"}


def run_rows(name: str, run, hardware: str = "") -> list[dict]:
    """One row per logged epoch of a run that logged the study's window metric."""
    from tunelab.training.checkpoint import read_config

    run = Path(run)
    train = read_config(run)["train"]
    per_update = train["batch_size"] * (train["seq_len"] - train.get("loss_from", 0))
    rows = []
    with open(run / "train_log.csv") as f:
        for r in csv.DictReader(f):
            if not r.get("val_study_accuracy"):
                continue
            step = int(r["step"])
            rows.append(
                {
                    "model": name,
                    "source": "tunelab",
                    "epoch": int(r["epoch"]),
                    "updates": step,
                    "targets": step * per_update,
                    "minutes": float(r["elapsed_seconds"]) / 60,
                    "val_accuracy": float(r["val_study_accuracy"]),
                    "val_nll": float(r["val_study_nll"]),
                    "hardware": hardware,
                }
            )
    return rows


def study_rows(models=("lstm", "transformer", "hybrid")) -> list[dict]:
    """The study's published per-epoch validation curves, converted to updates and targets."""
    rows = []
    for model in models:
        h = HISTORY[model]
        updates = -(-TARGETS_PER_EPOCH // h["batch"])
        epochs = len(h["val_accuracy"])
        for e, (acc, nll) in enumerate(zip(h["val_accuracy"], h["val_loss"]), start=1):
            rows.append(
                {
                    "model": f"study {model}",
                    "source": "study",
                    "epoch": e,
                    "updates": e * updates,
                    "targets": e * TARGETS_PER_EPOCH,
                    "minutes": 60 * h["hours"] * e / epochs,
                    "val_accuracy": acc,
                    "val_nll": nll,
                    "hardware": "the study's (published hours / epochs)",
                }
            )
    return rows


def write(
    runs: dict, out, *, hardware: dict | None = None, title: str = "Learning curves"
) -> tuple[Path, Path]:
    """``learning-curves.csv`` and ``learning-curves.png`` in ``out`` for ``runs`` (name -> run
    directory) beside the study's curves; tunelab curves already in ``out``'s CSV under other
    names are kept (their runs may be on another machine). Returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    hardware = hardware or {}
    rows = [row for name, run in runs.items() for row in run_rows(name, run, hardware.get(name, ""))]
    rows = _kept(out / "learning-curves.csv", set(runs)) + rows + study_rows()
    buf = io.StringIO()
    writer = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    table = out / "learning-curves.csv"
    atomic_write_text(table, buf.getvalue())
    figure = out / "learning-curves.png"
    atomic_write_bytes(figure, _plot(rows, title))
    return table, figure


def _kept(path: Path, replaced: set) -> list[dict]:
    """The tunelab rows of an earlier CSV whose models are not being written again."""
    if not path.exists():
        return []
    with open(path) as f:
        rows = [r for r in csv.DictReader(f) if r["source"] == "tunelab" and r["model"] not in replaced]
    numbers = ("epoch", "updates", "targets")
    return [{**r, **{k: int(r[k]) for k in numbers}, **{k: float(r[k]) for k in ("minutes", "val_accuracy", "val_nll")}}
            for r in rows]  # fmt: skip


def _plot(rows: list[dict], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(r["model"] for r in rows))
    colours = {m: plt.cm.tab10(i % 10) for i, m in enumerate(models)}
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5), constrained_layout=True)
    for col, x in enumerate(_X):
        for row, (y, label) in enumerate(
            (("val_accuracy", "validation window accuracy"), ("val_nll", "validation window NLL (nats)"))
        ):
            ax = axes[row][col]
            for m in models:
                pts = [r for r in rows if r["model"] == m]
                study = pts[0]["source"] == "study"
                ax.plot(
                    [r[x] for r in pts],
                    [r[y] for r in pts],
                    "--" if study else "-",
                    marker="o" if len(pts) < 40 else None,
                    ms=3,
                    color=colours[m],
                    label=m,
                )
            ax.set_xscale("log")
            ax.set_xlabel(_X[x])
            ax.set_ylabel(label)
            if y == "val_accuracy":
                ax.set_ylim(0.76, 0.87)
            else:
                ax.set_ylim(0.42, 0.75)
            ax.grid(alpha=0.3, which="both")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{title} (dashed: the study's, per epoch; solid: tunelab's)")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()
