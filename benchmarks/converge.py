"""Comparisons at convergence (issue 30): every run trains to its validation plateau, not a box.

A run stops when the study's window NLL on validation (grid; the validation loss for the other
encodings) has not improved for ``PATIENCE`` epochs, with the learning rate cut by 5 after each
epoch without improvement (ReduceLROnPlateau). Then it is scored on the study's test songs it
never trained on: the study's window accuracy (grid), masked accuracy, bits per note and, kept
per song, each song's total bits, so that two variants can be compared by a paired test on the
same songs. Rows are appended to benchmarks/results/converge-SWEEP.json as runs finish (and
committed by the runner with ``--commit``), so a lost machine loses at most the run in progress;
a sweep resumes where the committed rows stop, and a run that another sweep has already made (the
same config and seed) is reused, not trained again (:func:`same_run`).

    nice -n 10 python benchmarks/converge.py --sweep scale --commit     # one thread, one run at a time
    nice -n 19 python benchmarks/converge.py --sweep scale4x ablation encodings efficiency encodings-focal --commit
    python benchmarks/converge.py --sweep ablation --table              # the table from the rows
    python benchmarks/converge.py --plan                                # what is left, with times

The scales (``SCALES``) were chosen by the ``scale`` sweep: at ``base`` each family reaches its
plateau in about 10-20 minutes of one core; ``4x`` has about four times the parameters.
"""

from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import json
import math
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPLIT = ROOT.parent / "shared" / "data" / "study-split"
RESULTS = HERE / "results"
RUNS = Path("runs/converge")
PATIENCE = 3  # epochs without a better validation selection before the run stops

# widths and depths per family; "base" is the scale every published comparison is at
SCALES = {
    "base": {
        "lstm": {"d_model": 48, "hidden_size": 128, "n_layers": 2},
        "gru": {"d_model": 48, "hidden_size": 128, "n_layers": 2},
        "transformer": {"d_model": 96, "n_heads": 4, "n_layers": 3, "d_ff": 384, "positional": "relative"},
        "linear-transformer": {"d_model": 96, "n_heads": 4, "n_layers": 3, "d_ff": 384},
        "hybrid": {"d_model": 96, "n_heads": 4, "encoder_layers": 2, "d_ff": 384, "hidden_size": 128,
                   "n_layers": 2, "positional": "none"},
    },
    "4x": {
        "lstm": {"d_model": 48, "hidden_size": 256, "n_layers": 2},
        "gru": {"d_model": 48, "hidden_size": 256, "n_layers": 2},
        "transformer": {"d_model": 192, "n_heads": 4, "n_layers": 3, "d_ff": 768, "positional": "relative"},
        "linear-transformer": {"d_model": 192, "n_heads": 4, "n_layers": 3, "d_ff": 768},
        "hybrid": {"d_model": 192, "n_heads": 4, "encoder_layers": 2, "d_ff": 768, "hidden_size": 256,
                   "n_layers": 2, "positional": "none"},
    },
}  # fmt: skip
ATTENTION = ("transformer", "linear-transformer", "hybrid")
L2_KERNEL = "rnn.weight_ih_l0"  # the hybrid's first LSTM layer's input kernel (study/ablation.py)


def spec(family: str, scale: str = "base", *, encoding: str = "grid", seed: int = 0, **changes) -> dict:
    """TrainConfig fields of one run: the family at the scale, trained to plateau."""
    options = {**SCALES[scale][family], "dropout": 0.1, **changes.pop("model_options", {})}
    fields = {
        "model": family,
        "size": None,
        "encoding": encoding,
        "mode": "sequence",
        "seq_len": 64,
        "gap": None if encoding == "grid" else 0,  # grid: 64 `/` between songs, as the study's windows need
        "batch_size": 32,
        "lr": 1e-3 if family in ATTENTION else 2e-3,
        "optimizer": "adam",
        "schedule": "plateau",
        "plateau_factor": 0.2,
        "plateau_patience": 1,
        "min_lr": 1e-5,
        "patience": PATIENCE,
        "epochs": 200,
        "select": "study_nll" if encoding == "grid" else "loss",
        "select_subsample": 8,
        "precision": "bf16" if family in ATTENTION else "fp32",
        "seed": seed,
        "model_options": options,
    }
    return {**fields, **changes}


def _ablation() -> dict:
    from tunelab.study.ablation import VARIANTS

    base = spec("hybrid", l2={L2_KERNEL: 0.01})  # the study's regularisation: dropout 0.1, L2 0.01
    out = {}
    for name, (model, train, _) in VARIANTS.items():
        s = copy.deepcopy(base)
        same = [(k, v) for k, v in model.items() if base["model_options"].get(k) == v]
        if same:  # the study halves its base's 8 heads and 256 units; this base has 4 and 128: halve those
            key, value = same[0]
            halved = {"n_heads": "half the heads ({})", "hidden_size": "LSTM {} units (half)"}
            if key not in halved:
                raise ValueError(f"ablation variant {name!r} changes nothing at this scale ({key}={value!r})")
            name, model = halved[key].format(value // 2), {key: value // 2}
        s["model_options"].update(model)
        if model.get("embedding") == "onehot":
            s["model_options"].update(d_model=46, head_dim=24)  # one-hot ids as wide as the vocabulary
        s.update(train)
        out[name] = s
    return out


def _encodings(loss: str = "ce") -> dict:
    return {
        f"{enc}/{fam}/{loss}": spec(fam, encoding=enc, loss=loss)
        for enc in ("grid", "remi", "cp", "nb")
        for fam in ("gru", "lstm", "linear-transformer", "transformer")
    }


SWEEPS = {
    # the three study families at the base scale: time to plateau (chooses the scale) and the
    # "all songs" point of the efficiency curves
    "scale": {fam: spec(fam) for fam in ("lstm", "transformer", "hybrid")},
    "ablation": _ablation(),
    "encodings": _encodings(),
    "encodings-focal": {
        k: v for k, v in _encodings("focal").items() if "/lstm/" in k or "/transformer/" in k
    },
    # the two contrasts checked at four times the parameters: LSTM vs Hybrid, grid vs NB (LSTM)
    "scale4x": {
        "lstm": spec("lstm", "4x"),
        "hybrid": spec("hybrid", "4x"),
        "grid/lstm/ce": spec("lstm", "4x"),
        "nb/lstm/ce": spec("lstm", "4x", encoding="nb"),
    },
    "efficiency": {
        f"{fam} 1/{k}": spec(fam, train_fraction=1 / k)
        for k in (8, 4, 2)
        for fam in ("lstm", "transformer", "hybrid")
    },
}
SEEDS = (0, 1, 2)


def run_name(variant: str, seed: int) -> str:
    return f"{variant} seed {seed}".replace("/", "_").replace(" ", "_")


def rows(sweep: str) -> list[dict]:
    path = RESULTS / f"converge-{sweep}.json"
    return json.loads(path.read_text()) if path.exists() else []


def todo(sweep: str) -> list[tuple[str, int]]:
    """(variant, seed) runs still to do: seed 0 of every variant, then seeds 1 and 2 of the base
    (the first variant) and of every variant within 2 standard errors of it (the verdicts they
    decide), once seed 0 of all is in."""
    done = {(r["variant"], r["seed"]) for r in rows(sweep)}
    names = list(SWEEPS[sweep])
    first = [(n, 0) for n in names if (n, 0) not in done]
    if first:
        return first
    base = names[0]
    more = [(base, s) for s in SEEDS[1:]]
    base_rows = [r for r in rows(sweep) if r["variant"] == base]
    if len(base_rows) >= 2:
        mean, se = _mean_se([_key(r) for r in base_rows])
        close = [n for n in names[1:] if abs(_key(_seed0(sweep, n)) - mean) <= 2 * math.hypot(se, se)]
        more += [(n, s) for n in close for s in SEEDS[1:]]
    return [m for m in more if m not in done]


def _seed0(sweep: str, variant: str) -> dict:
    return next(r for r in rows(sweep) if r["variant"] == variant and r["seed"] == 0)


def _key(row: dict) -> float:
    """The number a verdict is decided on: bits per note on unseen test songs."""
    return row["bits_per_note"]


def _mean_se(xs: list[float]) -> tuple[float, float]:
    n = len(xs)
    mean = sum(xs) / n
    if n < 2:
        return mean, float("inf")
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    return mean, sd / math.sqrt(n)


def _config(fields: dict) -> dict:
    """The training config a spec makes (defaults filled in): two specs train alike if these match."""
    from tunelab.training import TrainConfig

    return dataclasses.asdict(TrainConfig(corpus=str(SPLIT), out="-", threads=1, progress=False, **fields))


def same_run(sweep: str, variant: str, seed: int) -> dict | None:
    """A finished row, in any sweep, of the very run this one would be (the same config and seed:
    the encodings sweep's grid/lstm/ce is the scale sweep's lstm): reused, never trained twice."""
    want = _config({**SWEEPS[sweep][variant], "seed": seed})
    for other, specs in SWEEPS.items():
        for name, fields in specs.items():
            if (other, name) == (sweep, variant):
                continue
            row = next((r for r in rows(other) if r["variant"] == name and r["seed"] == seed), None)
            if row is not None and _config({**fields, "seed": seed}) == want:
                return {**row, "sweep": sweep, "variant": variant, "same_as": f"{other}: {name}"}
    return None


def train_and_score(sweep: str, variant: str, seed: int, threads: int) -> dict:
    """Train one run to plateau (resuming one that was interrupted) and score it; its row."""
    from tunelab.training import TrainConfig, train
    from tunelab.training.checkpoint import read_config
    from tunelab.training.score import score

    out = RUNS / sweep / run_name(variant, seed)
    fields = {**SWEEPS[sweep][variant], "seed": seed}
    t0 = time.perf_counter()
    if (out / "resume.pt").exists() and read_config(out)["status"].get("state") == "training":
        train({"out": str(out)} | read_config(out)["train"], resume=True, threads=threads, progress=False)
    elif not (out / "config.json").exists() or read_config(out)["status"].get("state") not in ("finished",):
        config = TrainConfig(corpus=str(SPLIT), out=str(out), threads=threads, progress=False, **fields)
        train(config)
    meta = read_config(out)
    grid = fields["encoding"] == "grid"
    surprise = out / "surprise.csv"
    s = score(out, str(SPLIT), split="test", protocol="study" if grid else None, unseen=True,
              subsample=4, surprise_csv=surprise)  # fmt: skip
    return _row(sweep, variant, seed, out, meta, s, surprise, time.perf_counter() - t0)


def _row(sweep, variant, seed, out: Path, meta: dict, s: dict, surprise: Path, wall: float) -> dict:
    with open(out / "train_log.csv") as f:
        log = list(csv.DictReader(f))
    status = meta["status"]
    best = log[int(status["best_epoch"]) - 1]
    per_song: dict[str, float] = {}
    with open(surprise) as f:
        for r in csv.DictReader(f):
            per_song[r["song"]] = per_song.get(r["song"], 0.0) + float(r["bits"])
    row = {
        "sweep": sweep,
        "variant": variant,
        "seed": seed,
        "parameters": meta["parameters"],
        "epochs": len(log),
        "best_epoch": int(status["best_epoch"]),
        "stopped": status.get("stopped", ""),
        "tokens": int(float(log[-1]["tokens_seen"])),
        "train_minutes": round(status["training_seconds"] / 60, 2),
        "wall_minutes": round(wall / 60, 2),
        "tokens_per_s": round(float(log[-1]["tokens_per_s"])),
        "val_loss": float(best["val_loss"]),
        "masked_accuracy": s["masked_accuracy"],
        "nll_per_token": s["nll_per_token"],
        "bits_per_note": s["bits_per_note"],
        "pitch_bits_per_note": s["pitch_bits_per_note"],
        "rhythm_bits_per_note": s["rhythm_bits_per_note"],
        "songs": s["songs"],
        "song_bits": [round(v, 3) for v in per_song.values()],
        "song_ids": list(per_song),
    }
    if "val_study_nll" in best:
        row |= {
            "val_study_nll": float(best["val_study_nll"]),
            "val_study_accuracy": float(best["val_study_accuracy"]),
        }
    if "study_accuracy" in s:
        row |= {"study_accuracy": s["study_accuracy"], "study_nll": s["study_nll"]}
    # per epoch, with the study's window NLL that calls the plateau (grid runs log it; rows before
    # this change lack it)
    keys = ("epoch", "tokens_seen", "elapsed_seconds", "train_loss", "val_loss", "lr", "val_study_accuracy",
            "val_study_nll")  # fmt: skip
    row["curve"] = [{k: float(r[k]) for k in keys if r.get(k)} for r in log]
    return row


def append(sweep: str, row: dict, commit: bool) -> None:
    from tunelab.io.atomic import atomic_write_text

    kept = [r for r in rows(sweep) if (r["variant"], r["seed"]) != (row["variant"], row["seed"])]
    path = RESULTS / f"converge-{sweep}.json"
    atomic_write_text(path, json.dumps(kept + [row], indent=1) + "\n")
    files = [str(path), str(write_table(sweep))]
    if sweep in ("scale", "efficiency", "ablation"):  # the figures are drawn from these sweeps' rows
        import converge_figures

        converge_figures.main()
        drawn = (converge_figures.OUT / name for name in ("efficiency.png", "efficiency.md", "ablation.png"))
        files += [str(f) for f in drawn if f.exists()]  # (no ablation rows yet: no ablation figure)
    if commit:
        msg = (f"converge {sweep}: {row['variant']} seed {row['seed']} at plateau after {row['epochs']} epochs "
               f"({row['train_minutes']} min): {row['bits_per_note']:.3f} bits per note on unseen test songs")  # fmt: skip
        for _ in range(5):  # the working tree is shared with other work: commit only these files
            r = subprocess.run(["git", "commit", "-q", "-m", msg, "--", *files], cwd=ROOT)
            if r.returncode == 0:
                break
            subprocess.run(["git", "add", "--", *files], cwd=ROOT)
            time.sleep(10)


def _interval(xs: list[float]) -> str:
    """mean +- the 95% t interval's half width (over seeds)."""
    from scipy import stats

    mean, se = _mean_se(xs)
    if len(xs) < 2:
        return f"{mean:.4f}"
    return f"{mean:.4f} ± {stats.t.ppf(0.975, len(xs) - 1) * se:.4f}"


def paired(a: dict, b: dict) -> tuple[float, float]:
    """Mean per-song difference in total bits (b - a) over the songs both scored, and the paired
    Wilcoxon signed-rank test's p-value."""
    from scipy import stats

    def same(ident: str) -> str:  # ids keep their file's extension since issue 27 ("test#1" -> "test.txt#1")
        return ident.replace(".txt#", "#")

    x = {same(k): v for k, v in zip(a["song_ids"], a["song_bits"])}
    pairs = [(x[same(k)], v) for k, v in zip(b["song_ids"], b["song_bits"]) if same(k) in x]
    d = [v - u for u, v in pairs]
    return sum(d) / len(d), float(stats.wilcoxon(d).pvalue) if any(d) else 1.0


def write_table(sweep: str) -> Path:
    from tunelab.io.atomic import atomic_write_text

    rs = rows(sweep)
    by: dict[str, list] = {}
    for r in rs:
        by.setdefault(r["variant"], []).append(r)
    names = [n for n in SWEEPS[sweep] if n in by]
    base = by[names[0]][0] if names else None
    lines = [
        f"# Converged sweep `{sweep}` (benchmarks/converge.py)",
        "",
        f"Each run trained to its plateau on the study's train.txt: stopped after {PATIENCE} epochs without a better "
        "validation window NLL (grid; validation loss otherwise), the rate cut by 5 after every epoch without one. "
        "Test: the study's test songs not in train.txt. Intervals: 95% t over seeds (n = seeds). Paired: mean "
        f"per-song difference in total bits against `{names[0] if names else ''}` seed 0 and the Wilcoxon p-value.",
        "",
        "| variant | params | seeds | epochs to plateau | tokens | train min | bits per note (unseen) | "
        "pitch + rest | study window acc | masked acc | paired Δ bits/song (p) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in names:
        g = sorted(by[n], key=lambda r: r["seed"])
        acc = [r["study_accuracy"] for r in g if "study_accuracy" in r]
        d, p = paired(base, g[0]) if base is not None and g[0] is not base else (0.0, 1.0)
        same = f" (the run of {g[0]['same_as']})" if "same_as" in g[0] else ""
        lines.append(
            f"| {n}{same} | {g[0]['parameters']:,} | {len(g)} | {'/'.join(str(r['best_epoch']) for r in g)} | "
            f"{sum(r['tokens'] for r in g) / len(g) / 1e6:.1f} M | {sum(r['train_minutes'] for r in g) / len(g):.1f} | "
            f"{_interval([r['bits_per_note'] for r in g])} | {g[0]['pitch_bits_per_note']:.3f} + "
            f"{g[0]['rhythm_bits_per_note']:.3f} | {_interval(acc) if acc else '–'} | "
            f"{_interval([r['masked_accuracy'] for r in g])} | "
            + (f"{d:+.2f} ({p:.2g})" if g[0] is not base else "–")
            + " |"
        )
    lines += ["", f"Machine: {platform.machine()}, 1 thread a run (niced, beside other work)."]
    path = RESULTS / f"converge-{sweep}.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sweep", nargs="+", choices=sorted(SWEEPS), default=[])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--table", action="store_true", help="only rewrite the tables")
    ap.add_argument("--plan", action="store_true", help="say what is left")
    ap.add_argument("--commit", action="store_true", help="git-commit each finished row")
    args = ap.parse_args()
    if not (SPLIT / "train.txt").exists():
        sys.exit(f"{SPLIT}: the study split is missing; nothing to measure")
    for sweep in args.sweep or list(SWEEPS):
        if args.table:
            print(write_table(sweep))
            continue
        if args.plan:
            print(sweep, todo(sweep))
            continue
        while left := todo(sweep):
            variant, seed = left[0]
            print(f"[{time.strftime('%H:%M')}] {sweep}: {variant} seed {seed} ({len(left)} left)", flush=True)
            row = same_run(sweep, variant, seed) or train_and_score(sweep, variant, seed, args.threads)
            append(sweep, row, args.commit)
            print(f"  {row['bits_per_note']:.3f} bits/note, {row['epochs']} epochs, {row['train_minutes']} min",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
