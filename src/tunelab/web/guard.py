"""What the server puts between a client and the app: limits, rate counting, the ASGI guard
(Host check, body size and deadline, security headers) and the JSON error shape."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import ClassVar

from fastapi import HTTPException
from fastapi.responses import JSONResponse

MAX_BODY = 16 * 1024
BODY_LIMITS = {"/api/compose/import": 256 * 1024}  # paths that take a file: their own limit
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


class Guard:
    """ASGI middleware: refuses a ``Host`` it does not serve (DNS rebinding), bodies over
    :data:`MAX_BODY` (by header, and by counting what arrives) and bodies that have not all
    arrived ``body_seconds`` after the request began (however they trickle); sets the security headers on every response, and ``no-store`` on the API
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
            return await error_response(400, "bad_host", "unexpected Host header")(scope, receive, send)
        size, most = headers.get(b"content-length"), BODY_LIMITS.get(scope["path"], MAX_BODY)
        if size is not None and (not size.isdigit() or int(size) > most):
            return await error_response(413, "body_too_large", f"request body over {most} bytes")(
                scope, receive, send
            )
        seen, whole = 0, False
        private = scope["path"].startswith(("/api/", "/results/"))
        deadline = asyncio.get_running_loop().time() + self.body_seconds  # for the whole body, not a chunk

        async def counted():
            nonlocal seen, whole
            if whole:  # the body is in: what follows (a disconnect) may take as long as it takes
                return await receive()
            try:
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    raise TimeoutError
                message = await asyncio.wait_for(receive(), left)
            except TimeoutError:
                raise ApiError(
                    408, "timeout", f"request body not received within {self.body_seconds:g} s"
                ) from None
            whole = message.get("type") != "http.request" or not message.get("more_body", False)
            seen += len(message.get("body", b""))
            if seen > most:
                raise ApiError(413, "body_too_large", f"request body over {most} bytes")
            return message

        async def secured(message):
            if message["type"] == "http.response.start":
                extra = [(b"cache-control", b"no-store")] if private else []
                message["headers"] = list(message.get("headers", [])) + self.HEADERS + extra
            await send(message)

        await self.app(scope, counted, secured)


def error_response(status: int, code: str, message: str, *, detail=None, headers=None) -> JSONResponse:
    body = {"error": message, "code": code}
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, headers=headers)
