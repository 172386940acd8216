"""Running the app: uvicorn with a deadline on request headers, and the admin token's checks.

uvicorn closes idle keep-alive connections, but a client that sends half a request line or
half its headers and then waits is held open indefinitely (a "slowloris"). The protocol below
gives every request ``HEADER_SECONDS`` from its first byte (or from the connection's opening)
to finish its headers, then closes the connection. Bodies have their own deadline in the app
(:class:`tunelab.web.app.Guard`).
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

from tunelab.errors import ConfigError

HEADER_SECONDS = 10.0
MIN_TOKEN_BITS = 64  # log2 of the guesses zxcvbn says an attacker needs (a random 16-character token: ~73)


def timed_protocol(seconds: float = HEADER_SECONDS):
    """uvicorn's httptools protocol with a deadline on each request's headers."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class TimedHeaders(HttpToolsProtocol):
        _deadline = None

        def _arm(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(seconds, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self.cycle is None or self.cycle.response_complete:  # bytes of a new request
                self._arm()
            super().data_received(data)

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

    return TimedHeaders


def token_bits(token: str) -> float:
    """How hard a token is to guess: log2 of the guesses zxcvbn (Dropbox's estimator, its Python
    port) says it takes, which knows keyboard rows, alphabets, repeats, dictionary words and
    dates (benchmarks/results/token_strength.md: the alphabet, a keyboard row and a repeated
    password score 7-27 bits; random 16-32 character tokens 73-106)."""
    if not token:
        return 0.0
    from zxcvbn import zxcvbn

    return zxcvbn(token[:100])["guesses_log10"] * math.log2(10)  # its cost grows with the length


def admin_token(flag: str | None, file: str | None, env: dict | None = None) -> tuple[str, str, list[str]]:
    """(token, where it came from, warnings) from ``--admin-token-file``, ``--admin-token`` or
    TUNELAB_ADMIN_TOKEN (else a new random one). Refuses a weak token."""
    import secrets

    env = os.environ if env is None else env
    warnings = []
    if file:
        path = Path(file)
        try:
            token, source = path.read_text().strip(), f"file {path}"
        except OSError as err:
            raise ConfigError(f"--admin-token-file {path}: {err.strerror or err}") from None
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            warnings.append(f"--admin-token-file {path} is readable by others: chmod 600 {path}")
    elif flag:
        token, source = flag, "--admin-token"
        warnings.append(
            "--admin-token shows in the process list (ps); prefer --admin-token-file or TUNELAB_ADMIN_TOKEN"
        )
    elif env.get("TUNELAB_ADMIN_TOKEN"):
        token, source = env["TUNELAB_ADMIN_TOKEN"], "TUNELAB_ADMIN_TOKEN"
    else:
        return secrets.token_urlsafe(24), "new", warnings
    bits = token_bits(token)
    if bits < MIN_TOKEN_BITS:
        raise ConfigError(
            f"the admin token from {source} is weak (about {bits:.0f} bits, {len(token)} characters); give one "
            f"of at least {MIN_TOKEN_BITS} bits, e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))'"
        )
    return token, source, warnings


def check_data_dir(data_dir) -> Path:
    """The data dir, made if missing; refuses one that cannot be written (one clear line)."""
    path = Path(data_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".tunelab-write-check-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        db = path / "tunelab.db"
        if db.exists() and not os.access(db, os.W_OK):
            raise PermissionError(f"{db} is read-only")
    except OSError as err:
        raise ConfigError(f"--data-dir {path}: cannot write there ({err.strerror or err})") from None
    return path
