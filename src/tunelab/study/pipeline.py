"""Train -> score -> generate -> evaluate for a few models on one corpus: the steps that
``tunelab demo`` and ``tunelab study reproduce`` share.

Everything lands under one output folder, and each step skips what an earlier call finished:
``runs/NAME`` (a training run; an interrupted one resumes with the minutes it has left),
``generations/NAME`` (the study protocol's melodies as a generation dir), ``gallery/NAME``
(the first few rendered as audio, sheet music and piano roll), ``evaluation/`` (metrics of
every set beside the real test songs) and ``results.json``.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from tunelab.errors import ConfigError
from tunelab.io.atomic import atomic_write_text

SEED_TOKENS = 9  # the study's seeds are the first ~9 grid tokens of a song


@dataclass
class Plan:
    """What to run. ``models`` maps a name to TrainConfig fields (model, size, model_options,
    lr, schedule...); the corpus, time box, threads and output come from the plan."""

    data: str
    out: Path
    models: dict[str, dict]
    minutes: float
    budget: str = "tokens"  # "tokens": a recipe's box is minutes x its tokens a minute; "minutes": wall clock
    corpus_preset: str | None = "study"
    n: int = 1000
    seeds: str | None = None  # a seeds file; None: the first tokens of test songs
    formats: tuple = ("grid", "mid")
    gallery: int = 6  # melodies per model rendered with audio, sheet music and piano roll
    gallery_formats: tuple = ("mid", "musicxml", "wav", "svg", "png")
    score_subsample: int = 4  # study accuracy on one 64-token window in k of the test stream (random, seeded)
    score: bool = True  # False: no test scores (shipped models trained on another split)
    score_shipped: bool = True  # False: test scores for the models trained here only (the demo)
    generate: bool = True  # False: train and score only (no melodies, no evaluation)
    protocol: str | None = "study"  # grid models: the study's seeds; None: from scratch, temperature 0.7
    threads: int | None = None
    curve_points: int = 20  # validation points a token-budgeted run logs (curve.csv), besides each epoch
    batch_size: int = 1000
    title: str = "tunelab"
    # the step cap: None the study's 1,500; "corpus" each run's longest training song (in tokens)
    max_steps: int | str | None = None
    filters: dict | None = None  # sampling filters replacing the protocol's temperature (Filters fields)
    extra: dict = field(default_factory=dict)  # recorded in results.json as given


def preset_for(data: str) -> str | None:
    """The study's preparation for a corpus (``deutschl``, a folder of songs); none for a split
    folder (train.txt, val.txt, test.txt), whose grid songs are prepared already."""
    return None if (Path(data) / "train.txt").exists() else "study"


def say(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


def run(plan: Plan) -> dict:
    """Run the plan (or what is left of it); returns and writes ``results.json``."""
    import tunelab.corpus
    from tunelab.threads import use

    use(plan.threads)
    out = Path(plan.out)
    out.mkdir(parents=True, exist_ok=True)
    corpus = tunelab.corpus.load(plan.data, plan.corpus_preset, verbose=False)
    test = corpus.split("test")
    say(
        f"corpus {plan.data}: {len(corpus.split('train'))} train, {len(corpus.split('val'))} val, {len(test)} test songs"
    )
    results = {"plan": _describe(plan), "models": {}}
    sets = {}
    for name, fields in plan.models.items():
        run_dir = train_model(plan, name, fields)
        r = {"run": str(run_dir.relative_to(out)), **_training_summary(run_dir)}
        shipped = "pretrained" in fields
        r["test"] = score_model(plan, run_dir) if plan.score and (plan.score_shipped or not shipped) else {}
        if plan.generate:
            gen = generate_set(plan, name, run_dir, test)
            r["generation"] = gen["summary"]
            sets[name] = gen["scores"]
        results["models"][name] = r
        _write(out, results)
    if sets:
        results["evaluation"] = evaluate_sets(plan, sets, test, corpus.split("train"))
    _write(out, results)
    return results


def train_model(plan: Plan, name: str, fields: dict) -> Path:
    """Train ``name`` for ``plan.minutes``, or finish an interrupted run, or reuse a finished one."""
    from tunelab.training import TrainConfig, train
    from tunelab.training.checkpoint import read_config

    run_dir = Path(plan.out) / "runs" / name
    if "pretrained" in fields:  # a shipped checkpoint, copied so that its scores can be cached beside it
        from tunelab.pretrained import resolve

        if not (run_dir / "config.json").exists():
            shutil.copytree(resolve(fields["pretrained"]), run_dir, dirs_exist_ok=True)
        say(f"[{name}] shipped model {fields['pretrained']}: no training")
        return run_dir
    if (run_dir / "config.json").exists():
        meta = read_config(run_dir)
        status = meta.get("status", {})
        if status.get("state") in ("stopped", "finished"):
            say(f"[{name}] trained already ({status.get('epochs_done')} epochs): {run_dir}")
            return run_dir
        if (run_dir / "resume.pt").exists():  # its budget is in its config: it trains what is left
            say(
                f"[{name}] resuming an interrupted run ({status.get('training_seconds', 0) / 60:.1f} minutes done)"
            )
            train(meta["train"], resume=True)
            return run_dir
    fields = dict(fields)
    rate = fields.pop("tokens_per_minute", None)
    if rate and plan.budget == "tokens":
        budget = {"max_tokens": int(rate * plan.minutes), "max_minutes": None}
        say(
            f"[{name}] training {fields.get('model')} for {budget['max_tokens']:,} tokens "
            f"(a {plan.minutes:g}-minute box on 2 free cores)"
        )
    else:
        budget = {"max_minutes": plan.minutes}
        say(f"[{name}] training {fields.get('model')} for {plan.minutes:g} minutes")
    config = TrainConfig(
        corpus=plan.data,
        corpus_preset=plan.corpus_preset,
        out=str(run_dir),
        threads=plan.threads,
        **{"epochs": 1000, "patience": 10, **budget, **fields},
    )
    if plan.curve_points and config.max_tokens and not config.eval_every:  # a curve, not one dot an epoch
        updates = config.max_tokens // (config.batch_size * config.seq_len)
        config = replace(config, eval_every=max(updates // plan.curve_points, 1))
    train(config)
    return run_dir


def _training_summary(run_dir: Path) -> dict:
    from tunelab.training.checkpoint import read_config

    meta = read_config(run_dir)
    status = meta["status"]
    log = _log(run_dir)
    best = [r for r in log if r.get("val_loss")]
    best_row = min(best, key=lambda r: float(r["val_loss"])) if best else {}
    return {
        "model": meta["model"],
        "parameters": meta["parameters"],
        "epochs": status.get("epochs_done"),
        "steps": status.get("steps"),
        "epochs_seen": round(  # the passes over the training stream, the last one perhaps in part
            status.get("steps", 0)
            * meta["train"]["batch_size"]
            * meta["train"]["seq_len"]
            / max(meta["data"].get("train_tokens", 1), 1),
            2,
        ),
        "best_epoch": status.get("best_epoch"),
        "training_minutes": round(status.get("training_seconds", 0) / 60, 2),
        "tokens_seen": int(float(log[-1]["tokens_seen"])) if log and log[-1].get("tokens_seen") else None,
        "tokens_per_s": round(np.mean([float(r["tokens_per_s"]) for r in log])) if log else None,
        "tokens_per_song": meta["data"].get("train_tokens", 0) / max(meta["data"].get("train_songs", 1), 1),
        "val_loss": float(best_row["val_loss"]) if best_row else None,
        "val_accuracy": float(best_row["val_accuracy"]) if best_row.get("val_accuracy") else None,
    }


def _log(run_dir: Path) -> list[dict]:
    import csv

    path = run_dir / "train_log.csv"
    if not path.exists():
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def score_model(plan: Plan, run_dir: Path) -> dict:
    """Test scores on the test songs not also in the training split and on all of them: masked
    accuracy, NLL per token and per note, bits per note (pitch and the rest), and (grid) the
    study's window accuracy (cached in the run dir)."""
    from tunelab.tokenizers import from_dict
    from tunelab.training.checkpoint import read_config
    from tunelab.training.score import score

    cache = run_dir / "test_scores.json"
    if cache.exists():
        return json.loads(cache.read_text())
    t0 = time.perf_counter()
    grid = bool(from_dict(read_config(run_dir)["tokenizer"]).song_gap)  # the study's window protocol applies
    try:
        s = score(
            run_dir,
            plan.data,
            split="test",
            protocol="study" if grid else None,
            unseen=True,
            subsample=plan.score_subsample,
            preset=plan.corpus_preset,  # a shipped model trained on a split folder: read as the plan does
        )
    except ConfigError as err:  # a shipped model whose training split is not on this machine
        say(
            f"[{run_dir.name}] not scored: its test songs cannot be told from its training songs here ({err})"
        )
        return {}
    bits = [f"{part}bits_per_note{every}" for part in ("", "pitch_", "rhythm_") for every in ("", "_all")]
    keep = ("study_accuracy", "study_accuracy_all", "study_windows", "masked_accuracy", "nll_per_token",
            "targets", "notes", "songs", "left_out", *bits)  # fmt: skip
    result = {k: s[k] for k in keep if k in s}
    if s.get("notes"):
        result["nll_per_note"] = s["nll_per_token"] * s["targets"] / s["notes"]
    result["seconds"] = round(time.perf_counter() - t0, 1)
    study = (
        f"study accuracy {result['study_accuracy_all']:.4f} (unseen songs {result['study_accuracy']:.4f}), "
        if grid
        else ""
    )
    say(
        f"[{run_dir.name}] test: {study}masked accuracy {result['masked_accuracy']:.4f}, "
        f"{result['bits_per_note']:.3f} bits per note on unseen songs"
    )
    atomic_write_text(cache, json.dumps(result, indent=1) + "\n")
    return result


def seeds(plan: Plan, tokenizer, test) -> list[np.ndarray]:
    """``plan.n`` prompts: the seeds file's, else the first tokens of the test songs in turn."""
    from tunelab.sampling import expand
    from tunelab.sampling.prompts import from_seeds

    if plan.seeds:
        prompts = from_seeds(plan.seeds, tokenizer)
    else:
        prompts = [tokenizer.encode(s)[:SEED_TOKENS] for s in test[: plan.n]]  # expand cycles if fewer
    return expand(prompts, plan.n)


def generate_set(plan: Plan, name: str, run_dir: Path, test) -> dict:
    """Melodies from ``run_dir`` as a generation dir, and a rendered gallery: for grid models
    under the study's protocol, the study's seeds (or test-song openings); otherwise ``n``
    melodies from scratch at the study's temperature and step cap."""
    from tqdm import tqdm

    from tunelab.metrics.evaluation import load_set
    from tunelab.render.generation import save_samples
    from tunelab.sampling import Filters, Settings, corpus_cap, generate, study_settings
    from tunelab.training.checkpoint import load_run

    gen_dir = Path(plan.out) / "generations" / name
    done = gen_dir / "summary.json"
    if done.exists():
        return {"summary": json.loads(done.read_text()), "scores": load_set(gen_dir)[1]}
    loaded = load_run(run_dir)
    tokenizer = loaded[1]
    protocol = plan.protocol if tokenizer.song_gap else None
    prompts = seeds(plan, tokenizer, test) if protocol == "study" else None
    # the study's context and stops for grid models (its seeds), its temperature and step cap from
    # scratch for the others; plan.filters replace the temperature in both, plan.max_steps the cap
    cap = corpus_cap(loaded[2]) if plan.max_steps == "corpus" else plan.max_steps
    settings = study_settings(Settings(batch_size=plan.batch_size, max_steps=cap))
    if plan.filters:
        settings = replace(settings, filters=Filters(**plan.filters))
    bar = tqdm(total=plan.n, desc=f"[{name}] generating", unit="melody", file=sys.stderr)
    t0 = time.perf_counter()
    samples = generate(
        loaded,
        plan.n,
        prompts=prompts,
        settings=settings,
        protocol=protocol,
        filters=settings.filters,
        progress=lambda k: bar.update(k - bar.n),
    )
    bar.close()
    seconds = time.perf_counter() - t0
    used = {"settings": settings.to_dict(), "protocol": protocol, "run": str(run_dir)}
    scores, lines = save_samples(
        gen_dir,
        samples,
        tokenizer,
        label=name,
        formats=plan.formats,
        used=used,
        seconds=seconds,
        progress=False,
    )
    if plan.gallery:
        save_samples(
            Path(plan.out) / "gallery" / name,
            samples[: plan.gallery],
            tokenizer,
            label=name,
            formats=plan.gallery_formats,
            used=used,
            progress=False,
        )
    lengths = np.array([len(s.ids) for s in samples])
    summary = {
        "melodies": len(samples),
        "seconds": round(seconds, 1),
        "tokens": int(sum(s.steps for s in samples)),
        "tokens_per_s": round(sum(s.steps for s in samples) / max(seconds, 1e-9)),
        "mean_length": round(float(lengths.mean()), 1),
        "median_length": float(np.median(lengths)),
        "max_steps": settings.max_steps,
        "at_cap": int(sum(s.stop == "max_steps" for s in samples)),
        "syntax_errors": int(sum(s.syntax_errors for s in samples)),
        "notes_per_s": round(sum(len(x) for x in scores) / max(seconds, 1e-9)),
        "lines": lines,
    }
    say(f"[{name}] {lines[0]}")
    atomic_write_text(done, json.dumps(summary, indent=1) + "\n")
    return {"summary": summary, "scores": scores}


def evaluate_sets(plan: Plan, sets: dict, test, train) -> dict:
    """Every suite for every set with the real test songs as the reference, and copying of the
    training songs (the test songs' own is the reference row); writes evaluation/."""
    from tunelab.metrics.evaluation import evaluate, write

    t0 = time.perf_counter()
    say(f"evaluating {', '.join(sets)} against {len(test)} test songs and {len(train)} training songs")
    report = evaluate(sets, reference=list(test), reference_name="test songs", train=list(train))
    write(report, Path(plan.out) / "evaluation")
    summary = report.summary()
    return {
        "seconds": round(time.perf_counter() - t0, 1),
        "means": {k: {m: v["mean"] for m, v in s.items()} for k, s in summary.items()},
        "stds": {k: {m: v["std"] for m, v in s.items()} for k, s in summary.items()},
        "stats": report.stats,
        "distribution": report.distribution,
        "reference": "test songs",
        "errors": len(report.errors),
    }


def _describe(plan: Plan) -> dict:
    keys = (
        "title",
        "data",
        "corpus_preset",
        "minutes",
        "budget",
        "n",
        "seeds",
        "score_subsample",
        "threads",
        "filters",
    )
    d = {k: getattr(plan, k) for k in keys}
    return {**d, "models": plan.models, **plan.extra}


def _write(out: Path, results: dict) -> None:
    from tunelab.metrics.evaluation import _clean

    atomic_write_text(out / "results.json", json.dumps(_clean(results), indent=1) + "\n")
