"""``tunelab serve``: the gallery and the listening tests as a FastAPI app.

Pages: ``/`` (tests and gallery sets), ``/listen/{test}`` (the listener's page), ``/results/{test}``
(admin), ``/gallery/{set}``. JSON under ``/api/``: a test's public description, new listeners,
their progress, ``POST /api/responses`` (one answered step), and for the admin token: tests,
creating one, the CSV export and the analysis. Media under ``/media/``: a test melody's files by
its opaque key (the set never shows in a URL), a gallery melody's by set and number, rendered
once and cached. Every error is JSON ``{"error": ...}`` with its status; bodies over
:data:`MAX_BODY` bytes are refused before they are read.
"""

from __future__ import annotations

import functools
import re
import secrets
from pathlib import Path
from typing import ClassVar, Literal
from urllib.parse import quote

from fastapi import FastAPI, Header, HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from tunelab.web import pages
from tunelab.web.analysis import export_csv
from tunelab.web.design import steps as listener_steps
from tunelab.web.store import Conflict, Store

MAX_BODY = 16 * 1024
TEST_ID = re.compile(r"^[0-9a-f]{8}$")
KEY = re.compile(r"^[0-9a-f]{16}$")
LISTENER = re.compile(r"^[0-9a-f]{32}$")
MEDIA = {"wav": "audio/wav", "svg": "image/svg+xml", "png": "image/png"}
STATIC = Path(__file__).parent / "static"


class NewListener(BaseModel):
    model_config = ConfigDict(extra="forbid")
    test_id: str = Field(pattern=TEST_ID.pattern)
    consent: Literal[True]
    expertise: Literal["none", "amateur", "student", "professional"] | None = None
    screen: str | None = Field(default=None, max_length=40, pattern=r"^[0-9x]+$")


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    listener_id: str = Field(pattern=LISTENER.pattern)
    position: int = Field(ge=0, le=100_000)
    played_s: float = Field(ge=0, le=86_400)
    ratings: dict[str, int] | None = Field(default=None, max_length=20)
    choice: Literal["A", "B"] | None = None
    comment: str | None = Field(default=None, max_length=1000)


class NewTest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sets: list[str] = Field(min_length=1, max_length=8)
    reference: str | None = Field(default=None, max_length=100)
    n: int = Field(default=10, ge=1, le=200)
    seed: int = 0
    scales: list[str] = Field(default=None, max_length=10)
    points: int = Field(default=10, ge=2, le=100)
    pairs: int = Field(default=0, ge=0, le=100)
    name: str | None = Field(default=None, max_length=200)


def create_app(data_dir, *, admin_token: str, gallery: dict[str, str] | None = None) -> FastAPI:
    """The app over ``data_dir`` (database and media); ``gallery``: set name -> folder or corpus."""
    data_dir = Path(data_dir)
    store = Store(data_dir / "tunelab.db")
    sets = pages.GallerySets(data_dir / "cache", gallery or {})
    app = FastAPI(title="tunelab", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.state.store = store
    app.add_middleware(Guard)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, exc):
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error(400, "malformed JSON")
        detail = [{"field": ".".join(str(x) for x in e["loc"][1:]), "problem": e["msg"]} for e in errors]
        return _error(422, "invalid request", detail)  # no input echoed back

    def admin(token: str | None, bearer: str | None) -> None:
        given = token or (bearer[7:] if bearer and bearer.startswith("Bearer ") else None)
        if not given:
            raise HTTPException(401, "admin token required (X-Admin-Token header)")
        if not secrets.compare_digest(given.encode(), admin_token.encode()):
            raise HTTPException(403, "wrong admin token")

    # a test's items and design never change once it is created: read them once, not per answer
    items_of = functools.lru_cache(maxsize=64)(lambda test_id: tuple(store.items(test_id)))
    design_of = functools.lru_cache(maxsize=64)(lambda test_id: store.test(test_id)["design"])

    def test_or_404(test_id: str) -> dict:
        test = store.test(test_id) if TEST_ID.match(test_id) else None
        if test is None:
            raise HTTPException(404, "no such test")
        return test

    def listener_or_404(listener_id: str) -> dict:
        who = store.listener(listener_id) if LISTENER.match(listener_id) else None
        if who is None:
            raise HTTPException(404, "no such listener")
        return who

    # --- pages ---------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def home():
        return pages.home(store.tests(), sets.names())

    @app.get("/listen/{test_id}", response_class=HTMLResponse)
    def listen_page(test_id: str):
        return pages.listen(test_or_404(test_id))

    @app.get("/results/{test_id}", response_class=HTMLResponse)
    def results_page(test_id: str, token: str | None = None):
        admin(token, None)
        from tunelab.web.analysis import analyse

        test_or_404(test_id)
        return pages.results(
            analyse(store, test_id), chart_url=f"/results/{test_id}/chart.png?token={quote(token)}"
        )

    @app.get("/results/{test_id}/chart.png")
    def results_chart(test_id: str, token: str | None = None):
        admin(token, None)
        from tunelab.web.analysis import analyse

        test_or_404(test_id)
        return Response(pages.chart(analyse(store, test_id), "png"), media_type="image/png")

    @app.get("/gallery/{name}", response_class=HTMLResponse)
    def gallery_page(name: str, page: int = 0):
        if name not in sets.names():
            raise HTTPException(404, "no such gallery set")
        return pages.gallery(name, sets.items(name), page)

    @app.get("/static/{name}")
    def static(name: str):
        if name not in ("listen.js", "style.css"):
            raise HTTPException(404, "not found")
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        return FileResponse(STATIC / name, media_type=kind)

    # --- media ---------------------------------------------------------------------------------

    @app.get("/media/{key}.{ext}")
    def media(key: str, ext: str):
        item = store.item_by_key(key) if KEY.match(key) and ext in MEDIA else None
        if item is None or ext not in item["media"]:
            raise HTTPException(404, "no such file")
        return FileResponse(data_dir / "media" / item["test_id"] / item["media"][ext], media_type=MEDIA[ext])

    @app.get("/media/gallery/{name}/{number}.{ext}")
    def gallery_media(name: str, number: int, ext: str):
        if name not in sets.names() or ext not in MEDIA or not 0 <= number < len(sets.items(name)):
            raise HTTPException(404, "no such file")
        return FileResponse(sets.media(name, number, ext), media_type=MEDIA[ext])

    # --- the listener's API --------------------------------------------------------------------

    @app.get("/api/health")
    def health():
        return {"ok": True, "schema": store.version}

    @app.get("/api/tests/{test_id}")
    async def public_test(test_id: str):
        test = test_or_404(test_id)
        d = test["design"]
        return {"id": test_id, "name": test["name"], "scales": d["scales"], "points": d["points"],
                "min_play_s": d["min_play_s"], "closed": bool(test["closed"])}  # fmt: skip

    @app.post("/api/listeners", status_code=201)
    async def new_listener(body: NewListener):
        test = test_or_404(body.test_id)
        if test["closed"]:
            raise HTTPException(409, "this test is closed")
        design = test["design"]
        who = store.add_listener(
            body.test_id,
            secrets.token_hex(16),
            body.expertise,
            body.screen,
            lambda k: listener_steps(design, k),
        )
        return {"listener_id": who["id"], "total": len(who["steps"]), "next_position": 0}

    @app.get("/api/listeners/{listener_id}")
    async def progress(listener_id: str):
        who = listener_or_404(listener_id)
        total, nxt = len(who["steps"]), who["next_position"]
        out = {"test_id": who["test_id"], "next_position": nxt, "total": total, "done": nxt >= total}
        if nxt < total:
            out["step"] = _public_step(items_of(who["test_id"]), who["steps"][nxt])
        return out

    @app.post("/api/responses", status_code=201)
    async def respond(body: Answer):
        who = listener_or_404(body.listener_id)
        d = design_of(who["test_id"])
        if body.position >= len(who["steps"]):
            raise HTTPException(422, "no such step")
        step = who["steps"][body.position]
        if (step["kind"] == "rate") != (body.ratings is not None) or (step["kind"] == "pair") != (
            body.choice is not None
        ):
            raise HTTPException(
                422, f"step {body.position} asks for {'ratings' if step['kind'] == 'rate' else 'a choice'}"
            )
        if body.ratings is not None:
            if set(body.ratings) != set(d["scales"]):
                raise HTTPException(422, f"ratings must give exactly: {', '.join(d['scales'])}")
            if any(not 1 <= v <= d["points"] for v in body.ratings.values()):
                raise HTTPException(422, f"ratings run from 1 to {d['points']}")
        idx = [step["item"]] if step["kind"] == "rate" else [step["a"], step["b"]]
        items = items_of(who["test_id"])
        need = min(d["min_play_s"], *(0.9 * items[i]["media"]["seconds"] for i in idx))
        if body.played_s < need:
            raise HTTPException(422, f"listen for at least {need:.1f} s before answering")
        try:
            status = store.respond(
                body.listener_id, body.position, played_s=body.played_s, ratings=body.ratings,
                chosen=body.choice, comment=body.comment,
            )  # fmt: skip
        except Conflict as err:
            raise HTTPException(409, str(err)) from None
        return JSONResponse(
            {"status": status, "next_position": max(body.position + 1, who["next_position"])},
            status_code=201 if status == "stored" else 200,
        )

    # --- admin ---------------------------------------------------------------------------------

    @app.get("/api/tests")
    def all_tests(x_admin_token: str | None = Header(None), authorization: str | None = Header(None)):
        admin(x_admin_token, authorization)
        return [{**t, **store.counts(t["id"])} for t in store.tests()]

    @app.post("/api/tests", status_code=201)
    def new_test(
        body: NewTest, x_admin_token: str | None = Header(None), authorization: str | None = Header(None)
    ):
        admin(x_admin_token, authorization)
        from tunelab.web.design import SCALES, create

        unknown = [s for s in body.sets if s not in sets.names()]
        if unknown or (body.reference and body.reference not in sets.names()):
            raise HTTPException(422, f"sets must be gallery sets: {', '.join(sets.names())}")
        test_id = create(
            data_dir, [sets.source(s) for s in body.sets], reference=sets.source(body.reference) if body.reference else None,
            n=body.n, seed=body.seed, scales=body.scales or SCALES, points=body.points, pairs=body.pairs,
            name=body.name, progress=False,
        )  # fmt: skip
        return {"id": test_id, "url": f"/listen/{test_id}"}

    @app.get("/api/tests/{test_id}/export.csv")
    def export(
        test_id: str, x_admin_token: str | None = Header(None), authorization: str | None = Header(None)
    ):
        admin(x_admin_token, authorization)
        test_or_404(test_id)
        return Response(export_csv(store, test_id), media_type="text/csv")

    @app.get("/api/tests/{test_id}/report")
    def report(
        test_id: str, x_admin_token: str | None = Header(None), authorization: str | None = Header(None)
    ):
        admin(x_admin_token, authorization)
        from tunelab.web.analysis import analyse, finite

        test_or_404(test_id)
        return finite(analyse(store, test_id))

    return app


class Guard:
    """ASGI middleware: refuses bodies over :data:`MAX_BODY` (by header, and by counting what
    arrives when there is none) and sets the security headers on every response."""

    HEADERS: ClassVar = [
        (b"x-content-type-options", b"nosniff"),
        (b"content-security-policy",
         b"default-src 'self'; img-src 'self'; media-src 'self'; style-src 'self'; script-src 'self'"),
        (b"referrer-policy", b"no-referrer"),
    ]  # fmt: skip

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        size = dict(scope["headers"]).get(b"content-length")
        if size is not None and (not size.isdigit() or int(size) > MAX_BODY):
            return await _error(413, f"request body over {MAX_BODY} bytes")(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > MAX_BODY:
                raise StarletteHTTPException(413, f"request body over {MAX_BODY} bytes")
            return message

        async def secured(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + self.HEADERS
            await send(message)

        await self.app(scope, counted, secured)


def _public_step(items, step: dict) -> dict:
    """What the page needs for a step: media URLs by opaque key, never the set."""

    def urls(i: int) -> dict:
        key, media = items[i]["key"], items[i]["media"]
        return {"audio": f"/media/{key}.wav", "seconds": media["seconds"]}

    if step["kind"] == "rate":
        return {"kind": "rate", **urls(step["item"])}
    return {"kind": "pair", "a": urls(step["a"]), "b": urls(step["b"])}


def _error(status: int, message: str, detail=None) -> JSONResponse:
    body = {"error": message}
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status)
