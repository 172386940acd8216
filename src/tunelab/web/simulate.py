"""Simulated listeners for load and fault tests of ``tunelab serve`` (loopback only).

Each listener joins a test, then for every step reads its progress, fetches the step's audio
(which starts the server's listening clock), "listens" (a think time, at least the test's
required listening time) and posts an answer, retrying through connection errors until the server is back (so a server
killed mid-test and restarted is survived, and an answer stored but not acknowledged comes back
as a duplicate, not twice). Every acknowledged answer is recorded, for checking against the
database afterwards.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


async def _call(client, method: str, url: str, deadline: float, **kwargs):
    """One request, retried through connection errors (server down) until ``deadline``."""
    import httpx

    while True:
        try:
            return await client.request(method, url, **kwargs)
        except (httpx.TransportError, OSError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def _listener(
    client, test: dict, rng: random.Random, think: tuple[float, float], out: dict, deadline: float
):
    made = await _call(
        client, "POST", "/api/listeners", deadline, json={"test_id": test["id"], "consent": True}
    )
    made.raise_for_status()
    who = made.json()["listener_id"]
    out["listeners"].append(who)
    while True:
        t0 = time.perf_counter()
        state = (await _call(client, "GET", f"/api/listeners/{who}", deadline)).json()
        out["get_ms"].append((time.perf_counter() - t0) * 1000)
        if state["done"]:
            return
        position = state["next_position"]
        if out["acked"].get(who, -1) >= position:  # the server forgot an answer it acknowledged
            out["regressions"] += 1
        step = state["step"]
        media = [step["audio"]] if step["kind"] == "rate" else [step["a"]["audio"], step["b"]["audio"]]
        for url in media:
            await _call(client, "GET", url, deadline)
        need = min(
            [test["min_play_s"]]
            + [0.9 * m["seconds"] for m in ([step] if step["kind"] == "rate" else [step["a"], step["b"]])]
        )
        await asyncio.sleep(max(rng.uniform(*think), need + 0.05))
        body = {"listener_id": who, "position": position, "played_s": test["min_play_s"]}
        if state["step"]["kind"] == "rate":
            body["ratings"] = {s: rng.randint(1, test["points"]) for s in test["scales"]}
        else:
            body["choice"] = rng.choice("AB")
        t0 = time.perf_counter()
        r = await _call(client, "POST", "/api/responses", deadline, json=body)
        out["post_ms"].append((time.perf_counter() - t0) * 1000)
        if r.status_code in (200, 201):
            out["acked"][who] = position
            out["answers"] += 1
        else:
            out["errors"].append(f"{r.status_code} {r.text[:100]}")


async def _run(base: str, test_id: str, listeners: int, think, seed: int, timeout: float, out: dict) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=listeners, max_keepalive_connections=listeners)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        test = (await client.get(f"/api/tests/{test_id}")).json()
        out.update(listeners=[], acked={}, answers=0, errors=[], regressions=0, get_ms=[], post_ms=[])
        deadline = time.monotonic() + timeout
        t0 = time.perf_counter()
        await asyncio.gather(*(
            _listener(client, test, random.Random(seed * 1000 + i), think, out, deadline) for i in range(listeners)
        ))  # fmt: skip
        out["wall_s"] = time.perf_counter() - t0
    return out


def run(
    base: str, test_id: str, *, listeners: int = 50, think=(0.2, 1.0), seed: int = 0, timeout: float = 300,
    out: dict | None = None,
) -> dict:  # fmt: skip
    """Run ``listeners`` simulated listeners to the end of the test; returns what they saw (and
    fills ``out`` as they go): the last acknowledged position per listener, answers, errors,
    latencies (ms) and wall time."""
    out = {} if out is None else out
    return asyncio.run(_run(base, test_id, listeners, think, seed, timeout, out))


def percentiles(ms) -> dict:
    ms = np.asarray(ms, dtype=float)
    if not len(ms):
        return {}
    return {f"p{q}": float(np.percentile(ms, q)) for q in (50, 95, 99)} | {
        "max": float(ms.max()),
        "n": len(ms),
    }


def check(db_path, out: dict) -> dict:
    """Compare what the listeners were told against the database: every acknowledged answer is
    stored (``lost`` counts those that are not), and no step is stored twice."""
    import sqlite3

    db = sqlite3.connect(db_path)
    lost = 0
    for who, last in out["acked"].items():
        stored = {p for (p,) in db.execute("SELECT position FROM responses WHERE listener_id = ?", (who,))}
        lost += sum(p not in stored for p in range(last + 1))
    marks = ",".join("?" * len(out["listeners"]))
    rows = db.execute(
        f"SELECT COUNT(*), COUNT(DISTINCT listener_id || '/' || position) FROM responses WHERE listener_id IN ({marks})",
        out["listeners"],
    ).fetchone()
    finished = db.execute(
        f"SELECT COUNT(*) FROM listeners WHERE id IN ({marks}) AND next_position >= json_array_length(steps)",
        out["listeners"],
    ).fetchone()[0]
    return {"acknowledged": sum(v + 1 for v in out["acked"].values()), "stored": rows[0], "lost": lost,
            "duplicates": rows[0] - rows[1], "finished": finished}  # fmt: skip


class ServerProcess:
    """``tunelab serve`` as a child process on a free loopback port."""

    def __init__(self, data: Path, token: str, extra: tuple = ()):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.data, self.token, self.proc, self.extra = Path(data), token, None, tuple(extra)
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self):
        cmd = [sys.executable, "-m", "tunelab", "serve", "--data-dir", str(self.data), "--port", str(self.port),
               "--listeners-per-minute", "100000", "--client-listeners-per-minute", "100000", *self.extra]  # fmt: skip
        env = {**os.environ, "TUNELAB_ADMIN_TOKEN": self.token}
        self.data.mkdir(parents=True, exist_ok=True)
        log = self.data / "server.log"
        with open(log, "ab") as sink:
            self.proc = subprocess.Popen(cmd, stdout=sink, stderr=sink, env=env)
        import httpx

        deadline = time.time() + 60
        while time.time() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(f"{self.base}/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError(f"tunelab serve did not start: {log.read_text()[-500:]}")

    def cpu_seconds(self) -> float:
        """User and system CPU time the server process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def kill(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
