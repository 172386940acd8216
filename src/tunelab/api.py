"""The front door: load a model, ask it for melodies, get music back.

>>> import tunelab
>>> model = tunelab.load("study-lstm")                       # a shipped model or a run directory
>>> melodies = model.generate(2, seed=1)                     # a list of Melody
>>> len(melodies), melodies[0].notes[0][2] > 0               # (onset, duration, pitch) in quarters
(2, True)
>>> melodies[0].abc().startswith("X:1")
True

A request names what the melodies must be (``key``, ``mode``, ``meter``, ``bars``, ``pickup``,
``type``). Meter, upbeat and length are kept by the grammar at every step; key, mode and tune type
condition a model trained with them. A model trained without a key (the study's, transposed to C
major / A minor) gets its melodies transposed to the key asked for, and says so; any other control
it was not trained with is refused, naming what it knows. ``model.controls`` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from tunelab.errors import ConfigError
from tunelab.score import Score, tonic_pitch_class

_THREADS_CHOSEN = False


def load(name_or_run, *, device: str = "cpu", threads: int | None = None) -> Model:
    """A shipped model by name (``tunelab pretrained list``) or a run directory, ready to generate.
    Threads are chosen as the command line chooses them (the CPUs other programs leave free)
    unless ``threads`` says."""
    global _THREADS_CHOSEN
    from tunelab import threads as T
    from tunelab.pretrained import resolve
    from tunelab.training.checkpoint import load_run
    from tunelab.training.distributed import choose_device

    run = resolve(name_or_run)
    model, tokenizer, meta = load_run(run, choose_device(device))
    if threads is not None or not _THREADS_CHOSEN:  # after the loading, which the load measurement overlaps
        T.use(threads, quiet=True)
        _THREADS_CHOSEN = True
    return Model(run, model, tokenizer, meta)


@dataclass
class Melody:
    """One generated melody: its Score, and the tokens and stop that made it."""

    score: Score
    ids: np.ndarray
    stop: str
    prompt_length: int = 0
    info: dict = field(default_factory=dict)
    syntax_errors: int = 0  # none under the grammar

    @property
    def steps(self) -> int:
        """Tokens sampled (the prompt's not counted)."""
        return len(self.ids) - self.prompt_length

    @property
    def notes(self) -> list[tuple[Fraction, Fraction, int]]:
        """``(onset, duration, pitch)``: times in quarter notes, exact."""
        q = self.score.tpq
        return [(Fraction(o, q), Fraction(d, q), p) for o, d, p, _ in self.score.notes()]

    def abc(self, number: int = 1) -> str:
        from tunelab.io.abc_write import abc_text

        return abc_text(self.score, number=number, explicit_repeats=True)

    def midi(self, path) -> Path:
        from tunelab.io.midi import write_midi

        write_midi(self.score, path)
        return Path(path)

    def musicxml(self, path) -> Path:
        from tunelab.io.m21 import write_musicxml

        write_musicxml(self.score, path)
        return Path(path)

    def wav(self, path, *, synth: str = "auto") -> Path:
        from tunelab.render import render_score

        out = Path(path)
        render_score(self.score, out.stem, out.parent, ["wav"], synth=synth)
        (out.parent / "wav" / f"{out.stem}.wav").replace(out)
        return out

    def svg(self, path) -> Path:
        from tunelab.render.sheet import musicxml_text, write_svg

        write_svg(musicxml_text(self.score), path)
        return Path(path)


class Model:
    """A trained model with its tokenizer: :func:`load` makes one."""

    def __init__(self, run: Path, model, tokenizer, meta: dict):
        self.run, self.model, self.tokenizer, self.meta = Path(run), model, tokenizer, meta

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def controls(self) -> dict:
        """What the model can be asked for, and the values it knows: ``meter``, ``key`` (``(tonic,
        mode)``), ``type``, ``bars``; ``key_by`` says how a key is honoured ("conditioning" or
        "transposition")."""
        from tunelab.sampling.request import knows

        out = knows(self.tokenizer)
        out["key_by"] = "conditioning" if out["key"] else "transposition"
        return out

    def __repr__(self) -> str:
        return f"Model({self.name!r}, {self.tokenizer.name}, {self.meta.get('parameters', 0):,} parameters)"

    def check(self, **request) -> None:
        """ConfigError for a request (the keywords of :meth:`generate`) this model cannot honour."""
        self._compile(**request)

    def _compile(self, key=None, mode=None, meter=None, bars=None, pickup=None, type=None, transpose_to=None):
        """(prompt, plan, tonic to transpose to or None, the request) for a request."""
        from tunelab.sampling.request import Request

        transpose = None
        if key is not None and not self.controls["key"]:  # a model without keys: transposed to the key asked
            if mode is not None:
                raise ConfigError(
                    f"--mode {mode}: this model was trained without keys and modes ({self.name})"
                )
            transpose, key = key, None
        if transpose_to is not None:
            try:
                tonic_pitch_class(transpose_to)
            except ValueError:
                raise ConfigError(f"--transpose-to: {transpose_to!r} is not a tonic (C, F#, Bb...)") from None
        request = Request(key=key, mode=mode, meter=_meter(meter), bars=bars, pickup=pickup, type=type)
        prompt, plan = request.compile(self.tokenizer)
        return prompt, plan, transpose_to or transpose, request

    def generate(
        self,
        n: int = 8,
        *,
        key: str | None = None,
        mode: str | None = None,
        meter=None,
        bars: int | None = None,
        pickup: float | None = None,
        type: str | None = None,
        transpose_to: str | None = None,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int = 0,
        max_steps: int | None = None,
        settings=None,
        progress=None,
    ) -> list[Melody]:
        """``n`` melodies as asked. ``meter`` is ``(6, 8)`` or ``"6/8"``; ``pickup`` in quarters;
        ``transpose_to`` moves every melody to that tonic afterwards (any model). ConfigError for
        what the model cannot honour, before any sampling."""
        from tunelab.sampling import Filters, Settings, closed, generate, lookback_of

        if not isinstance(n, int) or n < 1:
            raise ConfigError(f"n must be a positive number of melodies, got {n!r}")
        prompt, plan, target, request = self._compile(key, mode, meter, bars, pickup, type, transpose_to)
        s = settings or Settings(
            filters=Filters(temperature=temperature, top_k=top_k, top_p=top_p), seed=seed
        )
        s = replace(s, plan=plan, lookback=s.lookback if s.lookback is not None else lookback_of(self.meta))
        if max_steps is not None:
            s = replace(s, max_steps=max_steps)
        elif plan is not None and plan.bars:  # room for the bars asked, whatever the training songs
            from tunelab.sampling import corpus_cap

            steps = plan.bar_steps(self.tokenizer.steps_per_quarter) * plan.bars
            s = replace(s, max_steps=max(corpus_cap(self.meta), 4 * steps + 256))
        samples = generate((self.model, self.tokenizer, self.meta), n, prompts=[prompt] * n, settings=s,
                           progress=progress)  # fmt: skip
        from tunelab.sampling.melody import transpose_to as moved_to

        out = []
        for x in samples:
            ids = closed(self.tokenizer, x.ids, x.prompt_length) if x.stop == "max_steps" else x.ids
            score = self.tokenizer.decode(ids)
            info = {"asked": request.asks()}
            if target is not None and len(score):
                score, moved = moved_to(score, target)
                info["transposed"] = moved
            out.append(Melody(score, ids, x.stop, x.prompt_length, info))
        return out

    # ---- new music around a given tune ----------------------------------------------------------
    def continue_tune(self, tune, n: int = 1, *, from_bar: int | None = None, bars: int | None = None,
                      seed: int = 0, temperature: float = 1.0, settings=None, progress=None) -> list[Melody]:  # fmt: skip
        """``n`` continuations of ``tune`` (a Score, a file, ABC text; several pieces are continued
        in turn): from bar ``from_bar`` (the bars before it kept), else after its end, to ``bars``
        bars in all (default: twice the tune's). A model that knows bar counts ends the melody on
        that bar line; one without keys reads the tune moved into its training key and the melody
        is moved back."""
        from tunelab.sampling.rewrite import continue_tune

        score = _tunes(tune, self.form)
        s = self._settings(settings, seed, temperature)
        done = continue_tune(self._run, score, _count(n), s, upto=from_bar, bars=bars, progress=progress)
        return [
            Melody(new, x.ids, x.stop, x.prompt_length, {"continued": from_bar or "end"}) for new, x in done
        ]

    def fill(self, tune, bars, n: int = 1, *, seed: int = 0, temperature: float = 1.0, settings=None,
             progress=None) -> list[Melody]:  # fmt: skip
        """``n`` versions of ``tune`` with ``bars`` (``(5, 6)`` or ``"5-6"``, 1 = the first full
        bar) written anew between the music before and after them; everything else, its key,
        meter and barring as they are. The model must have been trained to fill in (``--infill``)."""
        from tunelab.sampling.rewrite import fill

        first, last = parse_bars(bars)
        s = self._settings(settings, seed, temperature)
        done = fill(self._run, _tune(tune, self.form), first, last, _count(n), s, progress=progress)
        return [Melody(new, x.ids, x.stop, x.prompt_length, {"filled": [first, last]}) for new, x in done]

    def vary(self, tune, keep: float = 0.5, n: int = 1, *, seed: int = 0, temperature: float = 1.0,
             settings=None, progress=None) -> list[Melody]:  # fmt: skip
        """``n`` variations of ``tune`` that keep a share ``keep`` of its bars (chosen by ``seed``)
        and fill the others in (a model trained to fill in)."""
        from tunelab.sampling.rewrite import vary

        s = self._settings(settings, seed, temperature)
        done = vary(self._run, _tune(tune, self.form), keep, _count(n), s, progress=progress)
        return [Melody(new, x.ids, x.stop, x.prompt_length, {"kept": keep}) for new, x in done]

    def score(self, data, **options) -> dict:
        """How well the model predicts real songs: bits per note, NLL per token, accuracy... on
        ``data`` (a corpus name or path; ``split=``, ``unseen=``... as
        :func:`tunelab.training.score.score`, which this calls)."""
        from tunelab.training.score import score

        return score(self.run, data, **{"device": "cpu", **options})

    @property
    def form(self) -> str:
        """The form the model learned tunes in: ``played`` or ``written``."""
        return self.meta.get("data", {}).get("form") or "played"

    @property
    def _run(self) -> tuple:
        return self.model, self.tokenizer, self.meta

    def _settings(self, settings, seed: int, temperature: float):
        from tunelab.sampling import Filters, Settings, lookback_of

        s = settings or Settings(filters=Filters(temperature=temperature), seed=seed)
        return replace(s, lookback=s.lookback if s.lookback is not None else lookback_of(self.meta))


def parse_bars(bars) -> tuple[int, int]:
    """``"5-6"``, ``"5"``, ``(5, 6)`` or ``5`` -> ``(first, last)``; ConfigError otherwise."""
    try:
        if isinstance(bars, str):
            a, _, b = bars.partition("-")
            first, last = int(a), int(b or a)
        elif isinstance(bars, int):
            first = last = bars
        else:
            first, last = (int(x) for x in bars)
    except (TypeError, ValueError):
        raise ConfigError(
            f"--fill {bars!r}: expected bars like 5-6 (first-last, 1 = the first full bar)"
        ) from None
    if not 1 <= first <= last:
        raise ConfigError(f"--fill {first}-{last}: bars count from 1, the first no later than the last")
    return first, last


def _count(n) -> int:
    if not isinstance(n, int) or n < 1:
        raise ConfigError(f"n must be a positive number of melodies, got {n!r}")
    return n


def _tune(tune, form: str = "played") -> Score:
    """The first piece of :func:`_tunes`."""
    return _tunes(tune, form)[0]


def _tunes(tune, form: str = "played") -> list[Score]:
    """Scores from a Score, a list of them, a file (every piece in it) or ABC text, in ``form``
    (the form the model was trained on: a written Score is played when the model learned tunes
    as played)."""
    from tunelab.errors import ParseError
    from tunelab.form import played

    if isinstance(tune, Score):
        return [played(tune) if form == "played" else tune]
    if isinstance(tune, (list, tuple)):
        return [x for t in tune for x in _tunes(t, form)]
    if isinstance(tune, str) and "\n" in tune:
        from tunelab.io.abc import read_abc_tune, split_tunebook

        _, found = split_tunebook(tune if tune.lstrip().startswith("X:") else "X:1\n" + tune)
        if not found:
            raise ParseError("<text>", "holds no tune")
        return [read_abc_tune(text, source="<text>", tune=number, form=form) for number, text in found]
    from tunelab.io import load_file

    scores, errors = load_file(tune, form=form)
    if errors:
        raise errors[0]
    if not scores:
        raise ParseError(tune, "holds no tune")
    return scores


def _meter(meter):
    if meter is None or isinstance(meter, tuple):
        return meter
    from tunelab.sampling.melody import parse_meter

    return parse_meter(str(meter))
