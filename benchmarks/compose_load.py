"""Latency of the composer (``tunelab serve``'s /compose) on loopback, with the shipped folk model.

A real server process (``python -m tunelab serve --compose-model folk-lstm``, 2 worker processes
of one thread, a queue of 8). Then:

1. one user: 30 requests one after the other for a 16-bar tune (a reel in G, 4/4, a new seed
   each), p50 / p95 of the whole request;
2. a crowd: 20 users, each asking for a 16-bar tune as soon as the last came back, for 60 s;
   every answer a tune or a 503 with Retry-After (then the user waits as told); meanwhile the
   page's routes (/compose, its script, /api/compose/models) are fetched every 0.25 s and timed.

Writes benchmarks/results/compose_load.md.

    python benchmarks/compose_load.py [--users 20] [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
ASK = {"model": "folk-lstm", "key": "G", "mode": "major", "meter": "4/4", "bars": 16, "type": "reel"}
PAGES = ("/compose", "/static/compose.js", "/api/compose/models")


def start(data: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TUNELAB_ADMIN_TOKEN": secrets.token_urlsafe(24)}
    proc = subprocess.Popen([sys.executable, "-m", "tunelab", "serve", "--port", str(port), "--data-dir", str(data),
                             "--compose-model", "folk-lstm", "--compose-per-minute", "100000"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/api/compose/models", timeout=30).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def one_user(url: str, n: int) -> list[float]:
    out = []
    with httpx.Client(base_url=url, timeout=60) as c:
        for seed in range(n):
            t0 = time.perf_counter()
            r = c.post("/api/compose", json={**ASK, "seed": 1000 + seed})
            assert r.status_code == 200, r.text
            out.append(time.perf_counter() - t0)
    return out


def crowd(url: str, users: int, seconds: float) -> dict:
    stop = time.monotonic() + seconds
    done, busy, errors, pages = [], [], [], []
    lock = threading.Lock()

    def user(k: int):
        with httpx.Client(base_url=url, timeout=60) as c:
            seed = 10_000 * (k + 1)
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                try:
                    r = c.post("/api/compose", json={**ASK, "seed": seed})
                except httpx.HTTPError as err:
                    with lock:
                        errors.append(type(err).__name__)
                    continue
                took = time.perf_counter() - t0
                with lock:
                    if r.status_code == 200:
                        done.append(took)
                        seed += 1
                    elif r.status_code in (429, 503) and r.headers.get("retry-after"):
                        busy.append(took)
                    else:
                        errors.append(f"{r.status_code} {r.text[:80]}")
                if r.status_code in (429, 503):  # as a page does: wait as told
                    time.sleep(float(r.headers.get("retry-after", 1)))

    def prober():
        with httpx.Client(base_url=url, timeout=30) as c:
            while time.monotonic() < stop:
                for path in PAGES:
                    t0 = time.perf_counter()
                    r = c.get(path)
                    with lock:
                        pages.append((path, time.perf_counter() - t0, r.status_code))
                time.sleep(0.25)

    threads = [threading.Thread(target=user, args=(k,)) for k in range(users)] + [
        threading.Thread(target=prober)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"done": done, "busy": busy, "errors": errors, "pages": pages}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--note", default="nothing else running")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "compose_load.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start(Path(tmp))
        try:
            httpx.post(url + "/api/compose", json=ASK, timeout=60)  # the model loaded, the caches warm
            single = one_user(url, 30)
            many = crowd(url, args.users, args.seconds)
        finally:
            proc.terminate()
            proc.wait(10)
    p = lambda xs, q: float(np.percentile(xs, q)) if xs else float("nan")  # noqa: E731
    page_ms = [t * 1000 for _, t, _ in many["pages"]]
    lines = [
        "# The composer under load (benchmarks/compose_load.py)", "",
        f"`tunelab serve --compose-model folk-lstm` on loopback (2 worker processes of one thread, a queue of 8), a "
        f"16-bar reel in G (4/4) per request; {os.cpu_count()} cores, {args.note}.", "",
        "| | requests | p50 | p95 | max |", "|---|---:|---:|---:|---:|",
        f"| one user, one tune at a time | {len(single)} | {p(single, 50):.2f} s | {p(single, 95):.2f} s | "
        f"{max(single):.2f} s |",
        f"| {args.users} users for {args.seconds:g} s: tunes | {len(many['done'])} | {p(many['done'], 50):.2f} s | "
        f"{p(many['done'], 95):.2f} s | {max(many['done'], default=float('nan')):.2f} s |",
        f"| the same: 503 (or 429) with Retry-After | {len(many['busy'])} | {p(many['busy'], 50) * 1000:.0f} ms | "
        f"{p(many['busy'], 95) * 1000:.0f} ms | {max(many['busy'], default=float('nan')) * 1000:.0f} ms |",
        f"| the same: the page's routes ({', '.join(PAGES)}) | {len(page_ms)} | {p(page_ms, 50):.0f} ms | "
        f"{p(page_ms, 95):.0f} ms | {max(page_ms, default=float('nan')):.0f} ms |",
        "", f"Other errors: {len(many['errors'])}" + (f" ({many['errors'][:3]})" if many["errors"] else "") + ".",
        f"Page routes not 200: {sum(s != 200 for *_, s in many['pages'])}.",
    ]  # fmt: skip
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
