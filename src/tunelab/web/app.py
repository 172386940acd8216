"""``tunelab serve``: the gallery and the listening tests as a FastAPI app.

Pages: ``/`` (tests and gallery sets), ``/listen/{test}`` (the listener's page), ``/results/{test}``
(the admin's page: it asks for the token and fetches the analysis with it in a header),
``/gallery/{set}``. JSON under ``/api/``: a test's public description, new listeners, their
progress and their current step's media, ``POST /api/responses`` (one answered step), and for the
admin token (``X-Admin-Token`` or ``Authorization: Bearer``, never in a URL): tests, creating and
closing one, the export (CSV, JSON) and the analysis.

Every client is treated as hostile:
- Blind: a listener reaches a melody only through their own step's URL; files are rendered from
  the notes alone, under random keys that never leave the server.
- Listening is evidenced by the server: it records when it first sent each step's audio and
  refuses an answer that comes sooner than the required listening time after it (the client's
  ``played_s`` is kept as data only). New listeners are rate-limited per test and per client.
- Strict input: JSON types are not coerced (``"5"`` is not 5, ``true`` is not 1); unknown fields,
  oversized bodies (:data:`MAX_BODY`), slow bodies and unknown ``Host`` headers are refused.
- SQLite runs in the worker threads, never on the event loop; a write that cannot get the lock in
  1.5 s is a 503 with Retry-After, and the rest of the server keeps answering.
- Every error is JSON ``{"error": message, "code": stable-code}`` with its status.
"""

from __future__ import annotations

import asyncio
import functools
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from tunelab.errors import ConfigError
from tunelab.web import pages
from tunelab.web.analysis import export_csv, export_json
from tunelab.web.design import steps as listener_steps
from tunelab.web.store import Busy, Conflict, Store, Unwritable

MAX_BODY = 16 * 1024
TEST_ID = re.compile(r"^[0-9a-f]{8}$")
LISTENER = re.compile(r"^[0-9a-f]{32}$")
MEDIA = {"wav": "audio/wav", "svg": "image/svg+xml", "png": "image/png"}
STATIC = {"listen.js": "text/javascript", "results.js": "text/javascript", "style.css": "text/css"}
STATIC_DIR = Path(__file__).parent / "static"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
# the code of an error raised without one, by status
CODES = {400: "bad_request", 401: "token_required", 403: "wrong_token", 404: "not_found", 405: "method_not_allowed",
         408: "timeout", 409: "conflict", 413: "body_too_large", 422: "invalid", 429: "rate_limited"}  # fmt: skip


@dataclass(frozen=True)
class Limits:
    """How much any one client or test may ask for, and how long a request may take to arrive."""

    listeners_per_test_minute: int = 120
    listeners_per_client_minute: int = 30
    admin_failures_per_minute: int = 10
    body_seconds: float = 10.0


class ApiError(HTTPException):
    """An error answer: status, a stable ``code`` and a message (and headers, e.g. Retry-After)."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(status, message, headers)
        self.code = code


class RateLimiter:
    """Events per key in a sliding window (one minute); thread-safe."""

    def __init__(self, window: float = 60.0):
        self.window, self._events, self._lock = window, {}, threading.Lock()

    def hit(self, key: str, limit: int, *, count: bool = True) -> float:
        """0 if under ``limit`` (and, with ``count``, records this event); else the seconds until
        the oldest event in the window expires."""
        now = time.monotonic()
        with self._lock:
            q = self._events.setdefault(key, deque())
            while q and now - q[0] > self.window:
                q.popleft()
            if len(q) >= limit:
                return self.window - (now - q[0])
            if count:
                q.append(now)
            return 0.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class NewListener(_Strict):
    test_id: str = Field(pattern=TEST_ID.pattern)
    consent: bool  # strict: true only (Literal[True] would take 1, which equals True in Python)

    @field_validator("consent")
    @classmethod
    def _consented(cls, v: bool) -> bool:
        if v is not True:
            raise ValueError("consent is required")
        return v

    expertise: Literal["none", "amateur", "student", "professional"] | None = None
    screen: str | None = Field(default=None, max_length=40, pattern=r"^[0-9x]+$")


class Answer(_Strict):
    listener_id: str = Field(pattern=LISTENER.pattern)
    position: int = Field(ge=0, le=100_000)
    played_s: float = Field(ge=0, le=86_400)  # what the page measured: kept, never trusted
    ratings: dict[str, int] | None = Field(default=None, max_length=20)
    choice: Literal["A", "B", "none"] | None = None
    comment: str | None = Field(default=None, max_length=1000)


class NewTest(_Strict):
    sets: list[str] = Field(min_length=1, max_length=8)
    reference: str | None = Field(default=None, max_length=100)
    n: int = Field(default=10, ge=1, le=200)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    scales: list[str] | None = Field(default=None, max_length=10)
    points: int = Field(default=10, ge=2, le=100)
    pairs: int = Field(default=0, ge=0, le=100)
    no_preference: bool = False
    name: str | None = Field(default=None, max_length=200)


def create_app(
    data_dir,
    *,
    admin_token: str,
    gallery: dict[str, str] | None = None,
    allowed_hosts=LOOPBACK,
    limits: Limits = Limits(),
    openapi: bool = False,
    clock=time.time,
) -> FastAPI:
    """The app over ``data_dir`` (database and media); ``gallery``: set name -> folder or corpus;
    ``allowed_hosts``: the names listeners reach the server by (``Host`` header, port aside; None:
    any); ``openapi``: serve the API description at /api/openapi.json; ``clock``: the time in
    epoch seconds (tests pass their own to step over listening time)."""
    data_dir = Path(data_dir)
    store = Store(data_dir / "tunelab.db")
    sets = pages.GallerySets(data_dir / "cache", gallery or {})
    app = FastAPI(
        title="tunelab", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json" if openapi else None
    )
    app.state.store = store
    app.add_middleware(Guard, allowed_hosts=allowed_hosts, body_seconds=limits.body_seconds)
    rate = RateLimiter()
    token_bytes = admin_token.encode()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, exc):
        code = getattr(exc, "code", None) or CODES.get(exc.status_code, "error")
        return _error(exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error(400, "malformed_json", "malformed JSON")
        detail = [{"field": ".".join(str(x) for x in e["loc"][1:]), "problem": e["msg"]} for e in errors]
        return _error(422, "invalid", "invalid request", detail=detail)  # no input echoed back

    @app.exception_handler(Busy)
    async def busy(request, exc):
        return _error(503, "store_busy", "the database is busy; try again", headers={"Retry-After": "2"})

    @app.exception_handler(Unwritable)
    async def unwritable(request, exc):
        status = 507 if exc.reason == "disk_full" else 503
        return _error(
            status, f"store_{exc.reason}", f"answers cannot be stored now ({exc.reason.replace('_', ' ')})"
        )

    @app.exception_handler(Exception)
    async def internal(request, exc):
        return _error(500, "internal", "internal error")

    def client_of(request: Request) -> str:
        return request.client.host if request.client else "?"

    def admin(request: Request) -> None:
        if "token" in request.query_params:
            raise ApiError(
                400, "token_in_url", "send the admin token in the X-Admin-Token header, never in a URL"
            )
        who = f"admin-fail:{client_of(request)}"
        wait = rate.hit(who, limits.admin_failures_per_minute, count=False)
        if wait:
            raise ApiError(
                429, "rate_limited", "too many wrong admin tokens", {"Retry-After": str(int(wait) + 1)}
            )
        bearer = request.headers.get("authorization", "")
        given = request.headers.get("x-admin-token") or (bearer[7:] if bearer.startswith("Bearer ") else "")
        if not given:
            raise ApiError(401, "token_required", "admin token required (X-Admin-Token header)")
        if not secrets.compare_digest(given.encode(), token_bytes):
            rate.hit(who, limits.admin_failures_per_minute)
            raise ApiError(403, "wrong_token", "wrong admin token")

    # a test's items and design never change once it is created: read them once, not per answer
    items_of = functools.lru_cache(maxsize=64)(lambda test_id: tuple(store.items(test_id)))
    design_of = functools.lru_cache(maxsize=64)(lambda test_id: store.test(test_id)["design"])

    def test_or_404(test_id: str) -> dict:
        test = store.test(test_id) if TEST_ID.match(test_id) else None
        if test is None:
            raise ApiError(404, "no_such_test", "no such test")
        return test

    def open_or_409(test_id: str) -> None:
        if store.test(test_id)["closed"]:
            raise ApiError(409, "test_closed", "this test is closed")

    def listener_or_404(listener_id: str) -> dict:
        who = store.listener(listener_id) if LISTENER.match(listener_id) else None
        if who is None:
            raise ApiError(404, "no_such_listener", "no such listener")
        return who

    # --- pages (sync handlers run in the worker threads: they read the database) ----------------

    @app.get("/", response_class=HTMLResponse)
    def home():
        return pages.home(store.tests(), sets.names())

    @app.get("/listen/{test_id}", response_class=HTMLResponse)
    def listen_page(test_id: str):
        return pages.listen(test_or_404(test_id))

    @app.get("/results/{test_id}", response_class=HTMLResponse)
    def results_page(test_id: str):
        """A page without data: its script asks for the token and fetches the results with it."""
        if not TEST_ID.match(test_id):
            raise ApiError(404, "no_such_test", "no such test")
        return pages.results_shell(test_id)

    @app.get("/gallery/{name}", response_class=HTMLResponse)
    def gallery_page(name: str, page: int = 0):
        if name not in sets.names():
            raise ApiError(404, "not_found", "no such gallery set")
        return pages.gallery(name, sets.items(name), page)

    @app.get("/static/{name}")
    async def static(name: str):
        if name not in STATIC:
            raise ApiError(404, "not_found", "not found")
        return FileResponse(STATIC_DIR / name, media_type=STATIC[name])

    @app.get("/media/gallery/{name}/{number}.{ext}")
    def gallery_media(name: str, number: int, ext: str):
        if name not in sets.names() or ext not in MEDIA or not 0 <= number < len(sets.items(name)):
            raise ApiError(404, "not_found", "no such file")
        return FileResponse(sets.media(name, number, ext), media_type=MEDIA[ext])

    # --- the listener's API --------------------------------------------------------------------

    @app.get("/api/health")
    def health():
        state = store.state()
        body = {"ok": state == "ok", "schema": store.version, "storage": state}
        return JSONResponse(body, status_code=200 if state == "ok" else 503)

    @app.get("/api/tests/{test_id}")
    def public_test(test_id: str):
        test = test_or_404(test_id)
        d = test["design"]
        return {"id": test_id, "name": test["name"], "scales": d["scales"], "points": d["points"],
                "min_play_s": d["min_play_s"], "no_preference": bool(d.get("no_preference")),
                "closed": bool(test["closed"])}  # fmt: skip

    @app.post("/api/listeners", status_code=201)
    def new_listener(body: NewListener, request: Request):
        test = test_or_404(body.test_id)
        if test["closed"]:
            raise ApiError(409, "test_closed", "this test is closed")
        for key, limit in ((f"test:{body.test_id}", limits.listeners_per_test_minute),
                           (f"client:{client_of(request)}", limits.listeners_per_client_minute)):  # fmt: skip
            wait = rate.hit(key, limit, count=False)
            if wait:
                raise ApiError(429, "rate_limited", "too many new listeners; try again later",
                               {"Retry-After": str(int(wait) + 1)})  # fmt: skip
        rate.hit(f"test:{body.test_id}", limits.listeners_per_test_minute)
        rate.hit(f"client:{client_of(request)}", limits.listeners_per_client_minute)
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
    def progress(listener_id: str):
        who = listener_or_404(listener_id)
        total, nxt = len(who["steps"]), who["next_position"]
        out = {"test_id": who["test_id"], "next_position": nxt, "total": total, "done": nxt >= total}
        if nxt < total:
            out["step"] = _public_step(listener_id, nxt, items_of(who["test_id"]), who["steps"][nxt])
        return out

    @app.get("/api/listeners/{listener_id}/steps/{position}/{slot}.{ext}")
    def step_media(listener_id: str, position: int, slot: str, ext: str):
        """The current step's medium; the first time is recorded as the start of listening."""
        who = listener_or_404(listener_id)
        if position != who["next_position"] or position >= len(who["steps"]) or ext not in MEDIA:
            raise ApiError(404, "not_found", "no such file")
        step = who["steps"][position]
        index = _slots(step).get(slot)
        if index is None:
            raise ApiError(404, "not_found", "no such file")
        item = items_of(who["test_id"])[index]
        if slot not in store.served(listener_id, position):
            store.mark_served(listener_id, position, slot, clock())
        return FileResponse(data_dir / "media" / who["test_id"] / item["media"][ext], media_type=MEDIA[ext])

    @app.post("/api/responses", status_code=201)
    def respond(body: Answer):
        who = listener_or_404(body.listener_id)
        test_id = who["test_id"]
        d = design_of(test_id)
        open_or_409(test_id)
        if body.position >= len(who["steps"]):
            raise ApiError(422, "no_such_step", "no such step")
        step = who["steps"][body.position]
        if (step["kind"] == "rate") != (body.ratings is not None) or (step["kind"] == "pair") != (
            body.choice is not None
        ):
            raise ApiError(
                422,
                "wrong_kind",
                f"step {body.position} asks for {'ratings' if step['kind'] == 'rate' else 'a choice'}",
            )
        if body.choice == "none" and not d.get("no_preference"):
            raise ApiError(422, "invalid", "this test asks for A or B")
        if body.ratings is not None:
            if set(body.ratings) != set(d["scales"]):
                raise ApiError(422, "invalid", f"ratings must give exactly: {', '.join(d['scales'])}")
            if any(not 1 <= v <= d["points"] for v in body.ratings.values()):
                raise ApiError(422, "invalid", f"ratings run from 1 to {d['points']}")
        if body.position == who["next_position"]:  # a new answer: the server's clock decides
            items, served = items_of(test_id), store.served(body.listener_id, body.position)
            now = clock()
            for slot, index in _slots(step).items():
                need = min(d["min_play_s"], 0.9 * items[index]["media"]["seconds"])
                heard = now - served[slot] if slot in served else -1.0
                if heard < need:
                    raise ApiError(422, "too_soon", f"listen for at least {need:.1f} s before answering")
        try:
            status = store.respond(
                body.listener_id, body.position, played_s=body.played_s, ratings=body.ratings,
                chosen=body.choice, comment=body.comment,
            )  # fmt: skip
        except Conflict as err:
            raise ApiError(409, "conflict", str(err)) from None
        return JSONResponse(
            {"status": status, "next_position": max(body.position + 1, who["next_position"])},
            status_code=201 if status == "stored" else 200,
        )

    # --- admin (token in a header) -------------------------------------------------------------

    @app.get("/api/tests")
    def all_tests(request: Request):
        admin(request)
        return [{**t, **store.counts(t["id"])} for t in store.tests()]

    @app.post("/api/tests", status_code=201)
    def new_test(body: NewTest, request: Request):
        admin(request)
        from tunelab.web.design import SCALES, create

        unknown = [s for s in body.sets if s not in sets.names()]
        if unknown or (body.reference and body.reference not in sets.names()):
            raise ApiError(422, "invalid", f"sets must be gallery sets: {', '.join(sets.names())}")
        try:
            test_id = create(
                data_dir, [sets.source(s) for s in body.sets], reference=sets.source(body.reference) if body.reference else None,
                n=body.n, seed=body.seed, scales=body.scales or SCALES, points=body.points, pairs=body.pairs,
                no_preference=body.no_preference, name=body.name, progress=False,
            )  # fmt: skip
        except ConfigError as err:
            raise ApiError(422, "invalid", str(err)) from None
        return {"id": test_id, "url": f"/listen/{test_id}"}

    @app.post("/api/tests/{test_id}/close")
    def close_test(test_id: str, request: Request):
        admin(request)
        test_or_404(test_id)
        changed = store.close(test_id)
        return {"id": test_id, "closed": True, "changed": changed}

    @app.get("/api/tests/{test_id}/export.{fmt}")
    def export(test_id: str, fmt: str, request: Request):
        admin(request)
        test_or_404(test_id)
        if fmt == "csv":
            return Response(export_csv(store, test_id), media_type="text/csv")
        if fmt == "json":
            return Response(export_json(store, test_id), media_type="application/json")
        raise ApiError(404, "not_found", "export.csv or export.json")

    @app.get("/api/tests/{test_id}/report")
    def report(test_id: str, request: Request):
        admin(request)
        from tunelab.web.analysis import analyse, finite, tables

        test_or_404(test_id)
        result = analyse(store, test_id)
        return finite({**result, "tables": tables(result)})

    @app.get("/api/tests/{test_id}/chart.png")
    def results_chart(test_id: str, request: Request):
        admin(request)
        from tunelab.web.analysis import analyse

        test_or_404(test_id)
        return Response(pages.chart(analyse(store, test_id), "png"), media_type="image/png")

    return app


class Guard:
    """ASGI middleware: refuses a ``Host`` it does not serve (DNS rebinding), bodies over
    :data:`MAX_BODY` (by header, and by counting what arrives) and bodies slower than
    ``body_seconds``; sets the security headers on every response, and ``no-store`` on the API
    and the admin page."""

    HEADERS: ClassVar = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"content-security-policy",
         b"default-src 'self'; img-src 'self' blob:; media-src 'self'; style-src 'self'; script-src 'self'; "
         b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
        (b"referrer-policy", b"no-referrer"),
    ]  # fmt: skip

    def __init__(self, app, allowed_hosts=LOOPBACK, body_seconds: float = 10.0):
        self.app, self.body_seconds = app, body_seconds
        self.hosts = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}

    def _host_ok(self, headers: dict) -> bool:
        if self.hosts is None:
            return True
        host = headers.get(b"host", b"").decode("latin-1").lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host  # [::1]:8000 -> [::1]
        return name in self.hosts or host in self.hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        if not self._host_ok(headers):
            return await _error(400, "bad_host", "unexpected Host header")(scope, receive, send)
        size = headers.get(b"content-length")
        if size is not None and (not size.isdigit() or int(size) > MAX_BODY):
            return await _error(413, "body_too_large", f"request body over {MAX_BODY} bytes")(
                scope, receive, send
            )
        seen = 0
        private = scope["path"].startswith(("/api/", "/results/"))

        async def counted():
            nonlocal seen
            try:
                message = await asyncio.wait_for(receive(), self.body_seconds)
            except TimeoutError:
                raise ApiError(
                    408, "timeout", f"request body not received within {self.body_seconds:g} s"
                ) from None
            seen += len(message.get("body", b""))
            if seen > MAX_BODY:
                raise ApiError(413, "body_too_large", f"request body over {MAX_BODY} bytes")
            return message

        async def secured(message):
            if message["type"] == "http.response.start":
                extra = [(b"cache-control", b"no-store")] if private else []
                message["headers"] = list(message.get("headers", [])) + self.HEADERS + extra
            await send(message)

        await self.app(scope, counted, secured)


def _slots(step: dict) -> dict[str, int]:
    """A step's media slots and the items they play: ``x`` for a rated melody, ``a`` and ``b``."""
    return {"x": step["item"]} if step["kind"] == "rate" else {"a": step["a"], "b": step["b"]}


def _public_step(listener_id: str, position: int, items, step: dict) -> dict:
    """What the page needs for a step: its own media URLs (no key, no set) and lengths."""

    def urls(slot: str, i: int) -> dict:
        return {
            "audio": f"/api/listeners/{listener_id}/steps/{position}/{slot}.wav",
            "seconds": items[i]["media"]["seconds"],
        }

    if step["kind"] == "rate":
        return {"kind": "rate", **urls("x", step["item"])}
    return {"kind": "pair", "a": urls("a", step["a"]), "b": urls("b", step["b"])}


def _error(status: int, code: str, message: str, *, detail=None, headers=None) -> JSONResponse:
    body = {"error": message, "code": code}
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, headers=headers)
