"""The composer: ask a model for a tune, hear it, read it, change bars, take it home (``/compose``).

JSON under ``/api/compose``:

- ``GET models``: each model the server offers, with the controls it knows and their values
  (nothing is offered that the model cannot honour) and whether it fills in.
- ``POST /api/compose``: one :class:`Ask` (``generate``, ``continue``, ``fill``, ``vary``,
  ``transpose``) -> the tune as ABC, its sheet music (SVG), when each drawn note sounds, and its
  media id. The same ask with the same seed gives the same tune: a permalink is the list of asks.
- ``POST render``: ABC a person edited -> the same answer, or 422 ``abc_syntax`` with the line.
- ``POST import``: a MIDI, MusicXML, kern or ABC file's bytes (``?name=tune.mid``) -> its ABC.
- ``GET media/{id}.{ext}``: the tune as WAV, MIDI, MusicXML, SVG or ABC (``?download=1``: as a file).

Generation and rendering run in a bounded worker pool (:mod:`tunelab.web.pool`): a full pool is
a 503 with Retry-After. The models are the server's: a callable ``load(name)`` given by the
command line (the high-level API's ``tunelab.load``), so this module needs no layer above it.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from tunelab.errors import TunelabError
from tunelab.web.guard import ApiError, RateLimiter
from tunelab.web.pool import Full, Pool

MAX_ABC = 20_000  # characters of ABC a request may carry (a primer, an edited tune)
MAX_BARS = 64
MEDIA = {"wav": "audio/wav", "mid": "audio/midi", "musicxml": "application/vnd.recordare.musicxml+xml",
         "svg": "image/svg+xml", "abc": "text/vnd.abc; charset=utf-8"}  # fmt: skip
IMPORTS = {".mid": ".mid", ".midi": ".mid", ".xml": ".musicxml", ".musicxml": ".musicxml", ".krn": ".krn",
           ".abc": ".abc"}  # fmt: skip
NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_Strict = ConfigDict(extra="forbid", strict=True)


class Ask(BaseModel):
    """One request to the composer; the fields an action does not use must be left out."""

    model_config = _Strict
    model: str = Field(pattern=NAME)
    action: Literal["generate", "continue", "fill", "vary", "transpose"] = "generate"
    abc: str | None = Field(None, max_length=MAX_ABC)  # the tune to work on (a primer for generate)
    key: str | None = Field(None, pattern=r"^[A-G][#b]?$")
    mode: str | None = Field(None, pattern=r"^[a-z]{3,10}$")
    meter: str | None = Field(None, pattern=r"^\d{1,2}/\d{1,2}$")
    bars: int | None = Field(None, ge=1, le=MAX_BARS)
    type: str | None = Field(None, pattern=r"^[a-z ]{2,120}$")
    temperature: float = Field(1.0, ge=0.05, le=2.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    first: int | None = Field(None, ge=1, le=MAX_BARS)  # fill: bars first..last
    last: int | None = Field(None, ge=1, le=MAX_BARS)
    from_bar: int | None = Field(None, ge=1, le=MAX_BARS)  # continue: keep the bars before it
    keep: float | None = Field(None, ge=0.1, le=0.9)  # vary: the share of bars kept
    to: str | None = Field(None, pattern=r"^[A-G][#b]?$")  # transpose: the new tonic


class Edited(BaseModel):
    model_config = _Strict
    abc: str = Field(max_length=MAX_ABC)


class Composer:
    """What the composer's routes share in the server: the pool of worker processes (each with
    its :class:`Work`), the rendered tunes by id, what each model offers, the per-client request
    counts. ``load(name)`` loads a model in a worker, so it must pickle (a module-level function,
    or a ``functools.partial`` of one)."""

    def __init__(self, load, names: list[str], *, workers: int = 2, queue: int = 8, per_minute: int = 60,
                 threads_per_worker: int = 1):  # fmt: skip
        self.names, self.per_minute = list(names), per_minute
        self.pool = Pool(workers, queue, initializer=_start_worker, initargs=(load, threads_per_worker))
        self.rate = RateLimiter()
        self._tunes: OrderedDict = OrderedDict()  # id -> {"abc", "score", format -> bytes}
        self.described: dict = {}  # model name -> what GET models says of it
        self._lock = threading.Lock()

    def known(self, name: str) -> str:
        if name not in self.names:
            raise ApiError(
                404, "unknown_model", f"no model named {name!r}; the server offers {', '.join(self.names)}"
            )
        return name

    def limit(self, request: Request) -> None:
        who = f"compose:{request.client.host if request.client else '?'}"
        wait = self.rate.hit(who, self.per_minute)
        if wait:
            raise ApiError(429, "rate_limited", "too many requests from this client",
                           {"Retry-After": str(int(wait) + 1)})  # fmt: skip

    async def run(self, method: str, *args):
        """``Work.<method>(*args)`` in a worker; its ApiError or TunelabError answered as such."""
        try:
            kind, value = await self.pool.run(_do, method, *args)
        except Full as busy:
            raise ApiError(503, "busy", "the composer is busy: try again shortly",
                           {"Retry-After": str(busy.retry_after)}) from None  # fmt: skip
        if kind == "error":
            raise ApiError(*value)
        return value

    async def compose(self, ask: Ask) -> dict:
        self.known(ask.model)
        return self.keep(*await self.run("compose", ask))

    async def render(self, abc: str) -> dict:
        return self.keep(*await self.run("render", abc))

    def keep(self, answer: dict, tune: dict) -> dict:
        with self._lock:
            self._tunes[answer["id"]] = tune
            while len(self._tunes) > 256:
                self._tunes.popitem(last=False)
        return answer

    async def media(self, ident: str, ext: str) -> bytes:
        with self._lock:
            tune = self._tunes.get(ident)
        if tune is None:
            raise ApiError(
                404, "not_found", "no such tune here (the server keeps the last 256): compose it again"
            )
        if ext not in tune:
            data = await self.run("media", tune["score"], ext)
            with self._lock:
                tune[ext] = data
        return tune[ext]


# ---- the work, in a worker process ---------------------------------------------------------------
_work: Work | None = None


def _start_worker(load, threads: int) -> None:
    global _work
    import torch

    torch.set_num_threads(threads)
    _work = Work(load)


def _do(method: str, *args):
    """``("ok", value)`` or ``("error", ApiError's arguments)``: errors cross back as data (a
    TunelabError, a control the model does not know or a tune it cannot read, is a 422)."""
    try:
        return "ok", getattr(_work, method)(*args)
    except ApiError as err:
        return "error", (err.status_code, err.code, err.detail, err.headers)
    except TunelabError as err:
        return "error", (422, "refused", str(err), None)


class Work:
    """A worker's models (loaded once, a few kept) and what it does with them."""

    def __init__(self, load):
        self.load, self._models = load, OrderedDict()

    def model(self, name: str):
        if name not in self._models:
            self._models[name] = self.load(name)
            while len(self._models) > 4:
                self._models.popitem(last=False)
        self._models.move_to_end(name)
        return self._models[name]

    def describe(self, name: str) -> dict:
        from tunelab.tokenizers.infill import fills_in

        m = self.model(name)
        c = m.controls
        return {
            "name": name, "family": m.meta.get("train", {}).get("model"), "encoding": m.tokenizer.name,
            "meters": [f"{a}/{b}" for a, b in c["meter"]], "keys": sorted({t for t, _ in c["key"]}),
            "modes": sorted({md for _, md in c["key"] if md}), "types": c["type"],
            "bars": bool(c["bars"]), "key_by": c["key_by"], "fills_in": fills_in(m.tokenizer),
        }  # fmt: skip

    def compose(self, ask: Ask) -> tuple[dict, dict]:
        from tunelab.sampling import Filters, Settings

        m = self.model(ask.model)
        asked = [f for f in ("key", "mode", "meter", "type") if getattr(ask, f) is not None]
        if asked and ask.action != "generate":
            raise ApiError(
                422, "invalid", f"{', '.join(asked)}: asked of a new tune (generate), not of {ask.action}"
            )
        t0 = time.perf_counter()
        s = Settings(filters=Filters(temperature=ask.temperature, top_p=ask.top_p), seed=ask.seed)
        if ask.action == "generate" and not ask.abc:
            melody = m.generate(1, key=ask.key, mode=ask.mode, meter=ask.meter, bars=ask.bars, type=ask.type,
                                settings=s)[0]  # fmt: skip
            score = melody.score
        elif ask.action in ("generate", "continue"):
            score = m.continue_tune(_need(ask.abc), from_bar=ask.from_bar, bars=ask.bars, settings=s)[0].score
        elif ask.action in ("fill", "vary"):
            from tunelab.tokenizers.infill import fills_in

            if not fills_in(m.tokenizer):  # the model's own sentinels, not its whole description
                raise ApiError(
                    422, "cannot_fill", f"{ask.model} was trained without filling in: choose another model"
                )
            if ask.action == "vary":
                score = m.vary(_need(ask.abc), ask.keep if ask.keep is not None else 0.5, settings=s)[0].score
            elif ask.first is None or ask.last is None or ask.last < ask.first:
                raise ApiError(422, "invalid", "fill needs bars first..last, first <= last")
            else:
                score = m.fill(_need(ask.abc), (ask.first, ask.last), settings=s)[0].score
        else:
            from tunelab.sampling.melody import transpose_to

            if ask.to is None:
                raise ApiError(422, "invalid", "transpose needs the new tonic (to)")
            score, _ = transpose_to(_read(_need(ask.abc)), ask.to)
        return self.answer(score, seconds=time.perf_counter() - t0)

    def render(self, abc: str) -> tuple[dict, dict]:
        return self.answer(_read(abc))

    def answer(self, score, seconds: float = 0.0) -> tuple[dict, dict]:
        """What the page gets, and the tune the server keeps for its media."""
        from tunelab.io.abc_write import abc_text
        from tunelab.render.sheet import musicxml_text, svg_and_timemap

        if not score.meta.get("title"):  # else music21 writes "Music21 Fragment" over it
            score = score.replace(meta={**score.meta, "title": "tune"})
        abc = abc_text(score, number=1, explicit_repeats=True)
        ident = hashlib.sha256(abc.encode()).hexdigest()[:24]
        xml = musicxml_text(score)
        svg, timemap = svg_and_timemap(xml)
        svg = re.sub(r"<style[^>]*>.*?</style>", "", svg, count=1, flags=re.S)  # the page's CSS has its rules
        tune = {"score": score, "abc": abc.encode(), "musicxml": xml.encode(), "svg": svg.encode()}
        return {"id": ident, "abc": abc, "svg": svg, "timemap": timemap, "qpm": score.tempo or 120.0,
                "notes": len(score), "bars": max(len(score.bar_starts()) - (1 if score.pickup else 0), 0),
                "seconds": round(seconds, 3)}, tune  # fmt: skip

    def media(self, score, ext: str) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"tune.{ext}"
            if ext == "wav":
                from tunelab.render.audio import write_wav

                write_wav(score, path)
            else:
                from tunelab.io.midi import write_midi

                write_midi(score, path)
            return path.read_bytes()

    def imported(self, data: bytes, name: str) -> dict:
        from tunelab.io import load_file
        from tunelab.io.abc_write import abc_text

        suffix = IMPORTS[Path(name).suffix.lower()]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(data)
            scores, errors = load_file(path)
        if errors or not scores or not len(scores[0]):
            why = str(errors[0]).split(": ", 1)[-1] if errors else "it holds no notes"
            raise ApiError(422, "unreadable", f"{name}: not a tune tunelab can read ({why})")
        return {"abc": abc_text(scores[0], number=1, explicit_repeats=True)}


def _need(abc: str | None) -> str:
    if not abc or not abc.strip():
        raise ApiError(422, "invalid", "this action works on a tune: give its ABC")
    return abc


def _read(abc: str):
    """The first tune of ``abc`` as a Score (written form), or 422 ``abc_syntax`` with the line."""
    from tunelab.errors import ParseError
    from tunelab.io.abc import read_abc_tune

    text = abc if abc.lstrip().startswith("X:") else "X:1\n" + abc
    try:
        score = read_abc_tune(text, source="abc", tune=1)
    except ParseError as err:
        line = err.line - (0 if abc.lstrip().startswith("X:") else 1) if err.line else None
        raise ApiError(422, "abc_syntax", f"line {line}: {err.reason}" if line else err.reason) from None
    if not len(score):
        raise ApiError(422, "abc_syntax", "the ABC holds no notes")
    return score


def routes(app: FastAPI, composer: Composer, page: str) -> None:
    """The composer's page and API on ``app``."""

    app.router.on_shutdown.append(composer.pool.shutdown)

    @app.get("/compose", response_class=HTMLResponse)
    def compose_page():
        return page

    @app.get("/api/compose/models")
    async def models():
        out = []
        for name in composer.names:
            if name not in composer.described:  # loaded once (in a worker), then answered at once
                try:
                    composer.described[name] = await composer.run("describe", name)
                except ApiError as err:  # a run that no longer loads is left out, and said so
                    if err.status_code == 503:
                        raise
                    composer.described[name] = {"name": name, "error": err.detail}
            out.append(composer.described[name])
        return out

    @app.post("/api/compose")
    async def compose(ask: Ask, request: Request):
        composer.limit(request)
        return await composer.compose(ask)

    @app.post("/api/compose/render")
    async def render(body: Edited, request: Request):
        composer.limit(request)
        return await composer.render(body.abc)

    @app.post("/api/compose/import")
    async def import_file(request: Request, name: str = Query(..., max_length=128)):
        composer.limit(request)
        if Path(name).suffix.lower() not in IMPORTS:
            raise ApiError(415, "unsupported", f"{name}: send .mid, .musicxml, .xml, .krn or .abc")
        data = await request.body()
        if not data:
            raise ApiError(422, "invalid", f"{name}: the file is empty")
        return await composer.run("imported", data, name)

    @app.get("/api/compose/media/{ident}.{ext}")
    async def media(ident: str, ext: str, download: int = 0):
        if ext not in MEDIA or not re.fullmatch(r"[0-9a-f]{24}", ident):
            raise ApiError(404, "not_found", "no such media")
        data = await composer.media(ident, ext)
        headers = (
            {"Content-Disposition": f'attachment; filename="tune-{ident[:8]}.{ext}"'} if download else {}
        )
        return Response(data, media_type=MEDIA[ext], headers=headers)
