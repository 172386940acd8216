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

import functools
import secrets
import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from tunelab.errors import ConfigError
from tunelab.web import pages
from tunelab.web.analysis import export_csv, export_json
from tunelab.web.answers import check_answer, check_listened, public_step, slots
from tunelab.web.design import steps as listener_steps
from tunelab.web.guard import CODES, LOOPBACK, ApiError, Guard, Limits, RateLimiter, error_response
from tunelab.web.schemas import LISTENER, TEST_ID, Answer, NewListener, NewTest
from tunelab.web.store import Busy, Conflict, Store, Unwritable

MEDIA = {"wav": "audio/wav", "svg": "image/svg+xml", "png": "image/png"}
STATIC = {"listen.js": "text/javascript", "results.js": "text/javascript", "compose.js": "text/javascript",
          "style.css": "text/css"}  # fmt: skip
STATIC_DIR = Path(__file__).parent / "static"


class Server:
    """What the routes share: the store, the gallery, limits and rate counts, the clock, and the
    lookups that answer 404 / 409 / 401-403-429 as documented."""

    def __init__(self, data_dir: Path, admin_token: str, gallery: dict, limits: Limits, clock):
        self.data_dir, self.limits, self.clock = data_dir, limits, clock
        self.store = Store(data_dir / "tunelab.db")
        self.sets = pages.GallerySets(data_dir / "cache", gallery)
        self.rate = RateLimiter()
        self._token = admin_token.encode()
        # a test's items and design never change once it is created: read them once, not per answer
        self.items_of = functools.lru_cache(maxsize=64)(lambda test_id: tuple(self.store.items(test_id)))
        self.design_of = functools.lru_cache(maxsize=64)(lambda test_id: self.store.test(test_id)["design"])

    @staticmethod
    def client_of(request: Request) -> str:
        return request.client.host if request.client else "?"

    def admin(self, request: Request) -> None:
        """The admin token, from a header only; wrong ones are counted per client and rate-limited."""
        if "token" in request.query_params:
            raise ApiError(
                400, "token_in_url", "send the admin token in the X-Admin-Token header, never in a URL"
            )
        bearer = request.headers.get("authorization", "")
        given = request.headers.get("x-admin-token") or (bearer[7:] if bearer.startswith("Bearer ") else "")
        if given and secrets.compare_digest(given.encode(), self._token):
            return  # the right token is never locked out, whoever failed before it
        who = f"admin-fail:{self.client_of(request)}"  # per client: one address cannot lock out another
        wait = self.rate.hit(who, self.limits.admin_failures_per_minute, count=False)
        if wait:
            raise ApiError(
                429, "rate_limited", "too many wrong admin tokens", {"Retry-After": str(int(wait) + 1)}
            )
        if not given:
            raise ApiError(401, "token_required", "admin token required (X-Admin-Token header)")
        self.rate.hit(who, self.limits.admin_failures_per_minute)
        raise ApiError(403, "wrong_token", "wrong admin token")

    def test_or_404(self, test_id: str) -> dict:
        test = self.store.test(test_id) if TEST_ID.match(test_id) else None
        if test is None:
            raise ApiError(404, "no_such_test", "no such test")
        return test

    def open_or_409(self, test_id: str) -> None:
        if self.store.test(test_id)["closed"]:
            raise ApiError(409, "test_closed", "this test is closed")

    def listener_or_404(self, listener_id: str) -> dict:
        who = self.store.listener(listener_id) if LISTENER.match(listener_id) else None
        if who is None:
            raise ApiError(404, "no_such_listener", "no such listener")
        return who


def create_app(
    data_dir,
    *,
    admin_token: str,
    gallery: dict[str, str] | None = None,
    allowed_hosts=LOOPBACK,
    limits: Limits | None = None,
    openapi: bool = False,
    clock=time.time,
    composer=None,
) -> FastAPI:
    """The app over ``data_dir`` (database and media); ``gallery``: set name -> folder or corpus;
    ``allowed_hosts``: the names listeners reach the server by (``Host`` header, port aside; None:
    any); ``limits``: :class:`Limits`; ``openapi``: serve the API description at
    /api/openapi.json; ``clock``: the time in epoch seconds (tests pass their own to step over
    listening time); ``composer``: a :class:`tunelab.web.composer.Composer` to serve ``/compose``."""
    limits = limits or Limits()
    srv = Server(Path(data_dir), admin_token, gallery or {}, limits, clock)
    srv.composing = composer is not None
    app = FastAPI(
        title="tunelab", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json" if openapi else None
    )
    app.state.store = srv.store
    app.add_middleware(Guard, allowed_hosts=allowed_hosts, body_seconds=limits.body_seconds)
    _error_handlers(app)
    _pages(app, srv)
    _listener_api(app, srv)
    _answers_api(app, srv)
    _admin_api(app, srv)
    if composer is not None:
        from tunelab.web.composer import routes

        routes(app, composer, pages.composer())
    return app


def _error_handlers(app: FastAPI) -> None:
    """Every error as JSON ``{"error", "code"}``: HTTP errors, invalid input, storage trouble."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, exc):
        code = getattr(exc, "code", None) or CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "malformed_json", "malformed JSON")
        detail = [{"field": ".".join(str(x) for x in e["loc"][1:]), "problem": e["msg"]} for e in errors]
        return error_response(422, "invalid", "invalid request", detail=detail)  # no input echoed back

    @app.exception_handler(Busy)
    async def busy(request, exc):
        return error_response(
            503, "store_busy", "the database is busy; try again", headers={"Retry-After": "2"}
        )

    @app.exception_handler(Unwritable)
    async def unwritable(request, exc):
        status = 507 if exc.reason == "disk_full" else 503
        return error_response(
            status, f"store_{exc.reason}", f"answers cannot be stored now ({exc.reason.replace('_', ' ')})"
        )

    @app.exception_handler(Exception)
    async def internal(request, exc):
        return error_response(500, "internal", "internal error")


def _pages(app: FastAPI, srv: Server) -> None:
    """The HTML pages, static files and the gallery's media (sync: they read the database)."""

    @app.get("/", response_class=HTMLResponse)
    def home():
        return pages.home(srv.store.tests(), srv.sets.names(), composer=srv.composing)

    @app.get("/listen/{test_id}", response_class=HTMLResponse)
    def listen_page(test_id: str):
        return pages.listen(srv.test_or_404(test_id))

    @app.get("/results/{test_id}", response_class=HTMLResponse)
    def results_page(test_id: str):
        """A page without data: its script asks for the token and fetches the results with it."""
        if not TEST_ID.match(test_id):
            raise ApiError(404, "no_such_test", "no such test")
        return pages.results_shell(test_id)

    @app.get("/gallery/{name}", response_class=HTMLResponse)
    def gallery_page(name: str, page: int = 0):
        if name not in srv.sets.names():
            raise ApiError(404, "not_found", "no such gallery set")
        return pages.gallery(name, srv.sets.items(name), page)

    @app.get("/static/{name}")
    async def static(name: str):
        if name not in STATIC:
            raise ApiError(404, "not_found", "not found")
        return FileResponse(STATIC_DIR / name, media_type=STATIC[name])

    @app.get("/media/gallery/{name}/{number}.{ext}")
    def gallery_media(name: str, number: int, ext: str):
        if name not in srv.sets.names() or ext not in MEDIA or not 0 <= number < len(srv.sets.items(name)):
            raise ApiError(404, "not_found", "no such file")
        return FileResponse(srv.sets.media(name, number, ext), media_type=MEDIA[ext])


def _listener_api(app: FastAPI, srv: Server) -> None:
    """The listener's JSON API and step media."""

    @app.get("/api/health")
    def health():
        state = srv.store.state()
        body = {"ok": state == "ok", "schema": srv.store.version, "storage": state}
        return JSONResponse(body, status_code=200 if state == "ok" else 503)

    @app.get("/api/tests/{test_id}")
    def public_test(test_id: str):
        test = srv.test_or_404(test_id)
        d = test["design"]
        return {"id": test_id, "name": test["name"], "scales": d["scales"], "points": d["points"],
                "min_play_s": d["min_play_s"], "no_preference": bool(d.get("no_preference")),
                "closed": bool(test["closed"])}  # fmt: skip

    @app.post("/api/listeners", status_code=201)
    def new_listener(body: NewListener, request: Request):
        test = srv.test_or_404(body.test_id)
        if test["closed"]:
            raise ApiError(409, "test_closed", "this test is closed")
        for key, limit in ((f"test:{body.test_id}", srv.limits.listeners_per_test_minute),
                           (f"client:{srv.client_of(request)}", srv.limits.listeners_per_client_minute)):  # fmt: skip
            wait = srv.rate.hit(key, limit, count=False)
            if wait:
                raise ApiError(429, "rate_limited", "too many new listeners; try again later",
                               {"Retry-After": str(int(wait) + 1)})  # fmt: skip
        srv.rate.hit(f"test:{body.test_id}", srv.limits.listeners_per_test_minute)
        srv.rate.hit(f"client:{srv.client_of(request)}", srv.limits.listeners_per_client_minute)
        design = test["design"]
        who = srv.store.add_listener(
            body.test_id,
            secrets.token_hex(16),
            body.expertise,
            body.screen,
            lambda k: listener_steps(design, k),
        )
        return {"listener_id": who["id"], "total": len(who["steps"]), "next_position": 0}

    @app.get("/api/listeners/{listener_id}")
    def progress(listener_id: str):
        who = srv.listener_or_404(listener_id)
        total, nxt = len(who["steps"]), who["next_position"]
        out = {"test_id": who["test_id"], "next_position": nxt, "total": total, "done": nxt >= total}
        if nxt < total:
            out["step"] = public_step(listener_id, nxt, srv.items_of(who["test_id"]), who["steps"][nxt])
        return out

    @app.get("/api/listeners/{listener_id}/steps/{position}/{slot}.{ext}")
    def step_media(listener_id: str, position: int, slot: str, ext: str):
        """The current step's medium; the first time is recorded as the start of listening."""
        who = srv.listener_or_404(listener_id)
        if position != who["next_position"] or position >= len(who["steps"]) or ext not in MEDIA:
            raise ApiError(404, "not_found", "no such file")
        step = who["steps"][position]
        index = slots(step).get(slot)
        if index is None:
            raise ApiError(404, "not_found", "no such file")
        item = srv.items_of(who["test_id"])[index]
        data = (srv.data_dir / "media" / who["test_id"] / item["media"][ext]).read_bytes()
        # listening starts when the audio has been sent whole (no ranges: every fetch is the whole
        # file); a picture starts nothing
        if ext == "wav" and slot not in srv.store.served(listener_id, position):
            srv.store.mark_served(listener_id, position, slot, srv.clock())
        # no ETag or Last-Modified: they would tell when (so in which order) the media were made
        return Response(data, media_type=MEDIA[ext], headers={"Cache-Control": "no-store"})


def _answers_api(app: FastAPI, srv: Server) -> None:
    """One answered step: checked, the listening time checked by the server's clock, stored."""

    @app.post("/api/responses", status_code=201)
    def respond(body: Answer):
        who = srv.listener_or_404(body.listener_id)
        test_id = who["test_id"]
        d = srv.design_of(test_id)
        srv.open_or_409(test_id)
        if body.position >= len(who["steps"]):
            raise ApiError(422, "no_such_step", "no such step")
        step = who["steps"][body.position]
        check_answer(body, step, d)
        if body.position == who["next_position"]:  # a new answer: the server's clock decides
            check_listened(srv, body, step, d, test_id)
        try:
            status = srv.store.respond(
                body.listener_id, body.position, played_s=body.played_s, ratings=body.ratings,
                chosen=body.choice, comment=body.comment,
            )  # fmt: skip
        except Conflict as err:
            raise ApiError(409, "conflict", str(err)) from None
        return JSONResponse(
            {"status": status, "next_position": max(body.position + 1, who["next_position"])},
            status_code=201 if status == "stored" else 200,
        )


def _admin_api(app: FastAPI, srv: Server) -> None:
    """The admin's API (token in a header)."""

    @app.get("/api/tests")
    def all_tests(request: Request):
        srv.admin(request)
        return [{**t, **srv.store.counts(t["id"])} for t in srv.store.tests()]

    @app.post("/api/tests", status_code=201)
    def new_test(body: NewTest, request: Request):
        srv.admin(request)
        from tunelab.web.design import SCALES, create

        unknown = [s for s in body.sets if s not in srv.sets.names()]
        if unknown or (body.reference and body.reference not in srv.sets.names()):
            raise ApiError(422, "invalid", f"srv.sets must be gallery sets: {', '.join(srv.sets.names())}")
        try:
            test_id = create(
                srv.data_dir, [srv.sets.source(s) for s in body.sets], reference=srv.sets.source(body.reference) if body.reference else None,
                n=body.n, seed=body.seed, scales=body.scales or SCALES, points=body.points, pairs=body.pairs,
                no_preference=body.no_preference, name=body.name, progress=False,
            )  # fmt: skip
        except ConfigError as err:
            raise ApiError(422, "invalid", str(err)) from None
        return {"id": test_id, "url": f"/listen/{test_id}"}

    @app.post("/api/tests/{test_id}/close")
    def close_test(test_id: str, request: Request):
        srv.admin(request)
        srv.test_or_404(test_id)
        changed = srv.store.close(test_id)
        return {"id": test_id, "closed": True, "changed": changed}

    @app.get("/api/tests/{test_id}/export.{fmt}")
    def export(test_id: str, fmt: str, request: Request):
        srv.admin(request)
        srv.test_or_404(test_id)
        if fmt == "csv":
            return Response(export_csv(srv.store, test_id), media_type="text/csv")
        if fmt == "json":
            return Response(export_json(srv.store, test_id), media_type="application/json")
        raise ApiError(404, "not_found", "export.csv or export.json")

    @app.get("/api/tests/{test_id}/report")
    def report(test_id: str, request: Request):
        srv.admin(request)
        from tunelab.web.analysis import analyse, finite, tables

        srv.test_or_404(test_id)
        result = analyse(srv.store, test_id)
        return finite({**result, "tables": tables(result)})

    @app.get("/api/tests/{test_id}/chart.png")
    def results_chart(test_id: str, request: Request):
        srv.admin(request)
        from tunelab.web.analysis import analyse

        srv.test_or_404(test_id)
        return Response(pages.chart(analyse(srv.store, test_id), "png"), media_type="image/png")
