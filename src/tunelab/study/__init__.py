"""The study in one command, and the demo: train, generate, evaluate, report.

>>> from tunelab.study import demo, reproduce                  # doctest: +SKIP
>>> demo("demo")                  # small models, minutes each; demo/report.html   # doctest: +SKIP
>>> reproduce("study", data="../shared/data/study-split")      # doctest: +SKIP

Both run :mod:`tunelab.study.pipeline` (each step skips what an earlier call finished) and
write ``results.json``, ``results.md`` and ``report.html`` (:mod:`tunelab.study.report`).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from tunelab.errors import ConfigError
from tunelab.study.pipeline import Plan, preset_for, run, say
from tunelab.study.recipes import SMALL, STUDY_SIZE, family_recipes

# --quick: aimed at 15 minutes in all on 2 cores (not yet timed)
# --quick: 15 minutes on 2 cores. 2.5 minutes, 300 melodies and 1 window in 64 took 21.4 minutes
# (the under-trained Transformer's 300 melodies alone 285 s, its scoring 141 s).
QUICK = {"minutes": 2.0, "n": 100, "score_subsample": 256}
# the study's own (non-causal) window models: generating recomputes the 64-token window every
# step, ~2 s a melody for each on 2 cores (benchmarks/results/generate_speed.md)
FAITHFUL_SECONDS_PER_MELODY = {"transformer": 2.0, "hybrid": 1.9, "lstm": 0.005}
# the demo: the shipped converged models set beside the ones it trains, and what it takes besides
# training (scoring, generating, evaluating, rendering) on a free 2-core machine: 255 s measured
# with 0.05 minutes of training and 1 test window in 16 (the shipped attention models' 32 melodies
# are 22-35 s each of it)
SHIPPED = ("study-lstm", "study-transformer", "study-hybrid")
DEMO_OVERHEAD_MINUTES = 4.3


def demo(
    out="demo",
    *,
    minutes: float = 0.8,
    n: int = 32,
    threads: int | None = None,
    pretrained: bool = False,
    corpus: str = "deutschl",
) -> Path:
    """Prepare ``corpus`` (deutschl as the study did; any other built-in or folder as it is: its
    own grid, its test split the reference, its train split for copying), train the small LSTM,
    Transformer and Hybrid for ``minutes`` each of a
    free 2-core machine (a budget in tokens: a busy machine takes longer, not worse), set the
    shipped converged models beside them (``shipped-study-*``, trained for hours on the study's
    split; not scored here unless ``pretrained``: docs/results.md has their test figures),
    generate ``n`` melodies each from test-song
    openings (capped at the longest training song), evaluate against the test songs, write the
    report. ``pretrained``: the shipped models alone, no training. Returns report.html's path."""
    from tunelab.pretrained import names

    study = corpus == "deutschl"
    shipped = {f"shipped-{k}": {"pretrained": k} for k in SHIPPED if k in names()} if study else {}
    if pretrained and not study:
        raise ConfigError(f"--pretrained: the shipped models were trained on deutschl, not {corpus}")
    if pretrained and not shipped:
        raise ConfigError(f"--pretrained: none of {', '.join(SHIPPED)} is shipped in this installation")
    models = shipped if pretrained else {**SMALL, **shipped}
    plan = Plan(
        data=corpus,
        corpus_preset="study" if study else None,
        out=Path(out),
        models=models,
        minutes=minutes,
        n=n,
        # MusicXML (music21, ~0.6 s a melody on 2 cores) for the gallery's melodies only
        formats=("grid", "mid"),
        score_subsample=32,  # 1 window in 32 of the test songs: ~6,000 targets; scoring 17-30 s a model
        threads=threads,
        max_steps="corpus",  # a melody longer than every training song has run away
        # the shipped attention models take minutes each to score on 2 cores; their test figures
        # are in docs/results.md (section 0); the demo scores them only when they are all it has
        score_shipped=pretrained,
        title="tunelab demo" if study else f"tunelab: three models on {corpus}",
        extra={"command": _command()},
    )
    trained = [k for k in models if "pretrained" not in models[k]]
    scored = [k for k in models if plan.score_shipped or k in trained]  # the pipeline's rule
    tokens = ", ".join(f"{k} {models[k]['tokens_per_minute'] * minutes / 1e6:.2f} M" for k in trained)
    expected = minutes * len(trained) + DEMO_OVERHEAD_MINUTES
    say(
        f"demo: about {expected:.0f} minutes on a free 2-core machine ({len(trained)} models x {minutes:g} "
        f"minute{'' if minutes == 1 else 's'} of training tokens: {tokens or 'none'}; then {len(scored)} models "
        f"scored, {n} melodies from each of {len(models)}, evaluated); a busy machine takes longer and trains the same"
    )
    return _report(run(plan), plan.out)


def reproduce(
    out="study",
    *,
    data: str = "deutschl",
    minutes: float | None = None,
    quick: bool = False,
    faithful: bool = False,
    n: int | None = None,
    seeds: str | None = None,
    score_subsample: int | None = None,
    threads: int | None = None,
    models: list[str] | None = None,
    pretrained: bool = False,
    recipe: str = "box",
    seed: int = 0,
    budget: str = "tokens",
    temperature: float | None = None,
    top_p: float | None = None,
) -> Path:
    """The study's protocol end to end (reference/study-setup.md): train its three models for
    ``minutes`` each (default 20), generate ``n`` melodies each (default 1,000) under the
    study's protocol, evaluate them with the test songs as reference, and set the numbers
    beside the study's. The test accuracy is estimated on one window in ``score_subsample``, drawn at
    random (default 16: about 11,000 windows of the study split's test stream).
    ``quick``: smaller defaults (:data:`QUICK`). ``data``: ``deutschl`` (prepared with the study's recipe) or a split folder such as
    ../shared/data/study-split (its seeds.txt is used when present). ``faithful``: the study's
    own window models instead of the causal forms at its sizes (hours on 2 cores).
    ``pretrained``: the shipped converged models (``study-lstm``...) instead of training.
    ``recipe``: the :mod:`tunelab.study.recipes` family (``box``).
    ``seed``: the training seed. ``budget``: ``tokens`` (a box is minutes x the recipe's
    tokens a minute on 2 free cores) or ``minutes`` (wall clock). ``temperature`` / ``top_p``:
    generate with these instead of the study's temperature 0.7 (its context and stops kept)."""
    defaults = QUICK if quick else {"minutes": 20.0, "n": 1000, "score_subsample": 16}
    minutes = defaults["minutes"] if minutes is None else minutes
    n = defaults["n"] if n is None else n
    score_subsample = defaults["score_subsample"] if score_subsample is None else score_subsample
    if seeds is None and (Path(data) / "seeds.txt").exists():
        seeds = str(Path(data) / "seeds.txt")
    names = models or ["lstm", "transformer", "hybrid"]
    unknown = set(names) - set(STUDY_SIZE)
    if unknown:
        raise ConfigError(f"--models: {', '.join(sorted(unknown))} not among {', '.join(STUDY_SIZE)}")
    specs = _specs(names, pretrained=pretrained, faithful=faithful, recipe=recipe, seed=seed)
    filters = None
    if temperature is not None or top_p is not None:
        filters = {"temperature": 0.7 if temperature is None else temperature, "top_p": top_p or 1.0}
    if faithful:
        cost = sum(FAITHFUL_SECONDS_PER_MELODY[k] for k in names) * n / 60
        say(
            f"--faithful: the study's window models recompute their 64-token window at every step; "
            f"generating {n} melodies each will take about {cost:.0f} minutes on 2 cores, after "
            f"{minutes * len(names):g} minutes of training"
        )
    plan = Plan(
        data=data,
        corpus_preset=preset_for(data),
        out=Path(out),
        models=specs,
        minutes=minutes,
        n=n,
        seeds=seeds,
        score_subsample=score_subsample,
        threads=threads,
        budget=budget,
        filters=filters,
        title="tunelab study reproduce" + (" (quick)" if quick else ""),
        extra={
            "command": _command(),
            "faithful": faithful,
            "pretrained": pretrained,
            "recipe": recipe,
            "seed": seed,
        },
    )
    return _report(run(plan), plan.out)


def _specs(names, *, pretrained: bool, faithful: bool, recipe: str, seed: int) -> dict[str, dict]:
    """What a reproduce run trains (or takes) for each model name."""
    if pretrained:
        from tunelab.pretrained import names as shipped

        missing = [f"study-{k}" for k in names if f"study-{k}" not in shipped()]
        if missing:
            raise ConfigError(f"--pretrained: {', '.join(missing)} not shipped in this installation")
        return {name: {"pretrained": f"study-{name}"} for name in names}
    if faithful:
        return {name: faithful_spec(name) for name in names}
    family = family_recipes(recipe)
    if not family:
        raise ConfigError(f"--recipe: no recipes named {recipe}-* (tunelab.study.recipes); use box")
    return {name: {**family[name], "seed": seed} for name in names}


def faithful_spec(name: str) -> dict:
    """The study's own model, trained as it was: a 64-token window predicts the token after it
    (:mod:`tunelab.study.recipes`, ``faithful-*``)."""
    return family_recipes("faithful")[name]


def _report(results: dict, out: Path) -> Path:
    from tunelab.study import report

    report.write(results, out)
    page = (Path(out) / "report.html").resolve()
    print(page)
    return page


def _command() -> str:
    return "tunelab " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else ""


__all__ = ["Plan", "demo", "faithful_spec", "reproduce", "run"]
