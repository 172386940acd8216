"""A determined listener against the listening test (issue 33): each finding that got through,
now held. The media match nothing public and carry no order; only audio starts the clock; proxy
headers are believed from no one by default; the right admin token is never locked out; a body
that trickles in is cut off; exported cells neither run nor reorder."""

from __future__ import annotations

import hashlib
import socket
import time

import httpx
import pytest

from tunelab.web import design, simulate
from tunelab.web.analysis import _cell
from tunelab.web.app import create_app
from tunelab.web.guard import Limits

from .test_web import Clock, make_sets, media_urls
from .test_web_browser import serve
from .test_web_security import ADMIN, TOKEN, _client


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("blindtest")
    a, b, _ = make_sets(root, n=4)
    test_id = design.create(root / "data", [a, b], n=4, seed=1, pairs=0, max_seconds=2.0, min_play_s=1.0,
                            synth="numpy", progress=False)  # fmt: skip
    return root, a, b, test_id


def _listener(client, test_id) -> str:
    r = client.post("/api/listeners", json={"test_id": test_id, "consent": True, "expertise": "none"})
    return r.json()["listener_id"]


def test_1_no_test_file_equals_a_gallery_file_or_another_test_file(made):
    root, a, b, _ = made
    data = root / "whole"  # whole songs, rendered as the gallery renders them (its synthesizer)
    first, other = (design.create(data, [a, b], n=4, seed=1, pairs=0, max_seconds=600, min_play_s=1.0,
                                  synth="auto", progress=False) for _ in range(2))  # fmt: skip
    gallery = {"modelA": str(a), "modelB": str(b)}
    media = (data / "media").glob("*/*.*")
    tests = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in media}
    with _client(data, gallery=gallery) as client:
        public = [
            client.get(f"/media/gallery/{s}/{i}.{ext}")
            for s in gallery
            for i in range(4)
            for ext in ("wav", "png")
        ]
    assert all(r.status_code == 200 for r in public)
    assert not {hashlib.sha256(r.content).hexdigest() for r in public} & set(tests)
    assert not {len(r.content) for r in public if r.headers["content-type"] == "audio/wav"} & {
        p.stat().st_size for p in tests.values() if p.suffix == ".wav"
    }  # not even their lengths
    assert len({p.parent.name for p in tests.values()}) == 2 and other != first  # two tests, no shared file


def test_2_step_media_carry_no_etag_or_time(made):
    root, _, _, test_id = made
    with _client(root / "data") as client:
        who = _listener(client, test_id)
        step = client.get(f"/api/listeners/{who}").json()["step"]
        for url in media_urls(step) + [media_urls(step)[0].replace(".wav", ".png")]:
            r = client.get(url)
            assert r.status_code == 200 and "etag" not in r.headers and "last-modified" not in r.headers


def test_3_only_the_whole_audio_starts_the_listening_clock(made):
    root, _, _, test_id = made
    clock = Clock()
    with _client(root / "data", clock) as client:
        who = _listener(client, test_id)
        step = client.get(f"/api/listeners/{who}").json()["step"]
        wav = media_urls(step)[0]
        assert client.get(wav.replace(".wav", ".png")).status_code == 200  # the picture alone
        clock.advance(30)
        answer = {"listener_id": who, "position": 0, "played_s": 0,
                  "ratings": {s: 5 for s in client.get(f"/api/tests/{test_id}").json()["scales"]}}  # fmt: skip
        r = client.post("/api/responses", json=answer)
        assert r.status_code == 422 and r.json()["code"] == "too_soon"
        part = client.get(wav, headers={"Range": "bytes=0-0"})  # a range gets the whole file, and starts it
        assert part.status_code == 200 and len(part.content) > 1000
        assert client.post("/api/responses", json=answer).json()["code"] == "too_soon"  # not before the time
        clock.advance(5)
        assert client.post("/api/responses", json=answer).status_code == 201


def test_4_proxy_headers_lift_no_limit_and_the_right_token_is_never_locked_out(tmp_path, made):
    root, _, _, test_id = made
    server = simulate.ServerProcess(root / "data", TOKEN, extra=("--client-listeners-per-minute", "3"))
    server.start()
    try:
        codes = [
            httpx.post(f"{server.base}/api/listeners", json={"test_id": test_id, "consent": True},
                       headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code
            for i in range(5)
        ]  # fmt: skip
        assert codes[:3] == [201] * 3 and codes[3:] == [429, 429]  # one address, whatever it claims
        wrong = [
            httpx.get(f"{server.base}/api/tests", headers={"X-Admin-Token": f"g{i}"}).status_code
            for i in range(12)
        ]
        assert wrong[-1] == 429
        assert httpx.get(f"{server.base}/api/tests", headers=ADMIN).status_code == 200
    finally:
        server.stop()


def test_6_a_body_that_trickles_in_is_cut_off_at_the_deadline(tmp_path, made):
    root = made[0]
    url, stop = serve(create_app(root / "data", admin_token=TOKEN, limits=Limits(body_seconds=2.0)))
    try:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"POST /api/listeners HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 60\r\n\r\n")  # fmt: skip
            s.settimeout(0.05)
            t0, reply = time.monotonic(), b""
            while not reply and time.monotonic() - t0 < 15:
                try:
                    s.sendall(b" ")  # a byte every 0.4 s: never 2 s between two
                    reply = s.recv(1000)
                except (TimeoutError, OSError):
                    time.sleep(0.35)
            assert b" 408 " in reply.split(b"\r\n")[0] and time.monotonic() - t0 < 4
    finally:
        stop()


@pytest.mark.parametrize(
    "given, shown",
    [
        (" =1+1", "' =1+1"),
        ("\n=1+1", "'\n=1+1"),
        ("\t\t+SUM(A1)", "'\t\t+SUM(A1)"),
        ("\u00a0@x", "'\u00a0@x"),
        ("abc\u202etxt.exe", "abc<U+202E>txt.exe"),
        ("\u2066=2\u2069", "<U+2066>=2<U+2069>"),
        ("fine, -1 is fine inside", "fine, -1 is fine inside"),
        (-3, "-3"),
    ],
)
def test_8_exported_cells_neither_run_nor_reorder(given, shown):
    assert _cell(given) == shown


@pytest.mark.slow
def test_7_reads_stay_fast_under_a_held_lock_and_50_writers_and_health_is_now(tmp_path, made):
    import threading

    import numpy as np

    from .test_web_security import _hold_write_lock

    root, _, _, test_id = made
    data = root / "data"
    server = simulate.ServerProcess(data, TOKEN).start()
    try:
        base = server.base
        ready = threading.Event()
        locker = threading.Thread(target=_hold_write_lock, args=(data / "tunelab.db", 10.0, ready))
        locker.start()
        ready.wait(5)
        t_lock, writes, reads = time.monotonic(), [], []

        def writer():
            with httpx.Client(timeout=30) as c:
                while time.monotonic() - t_lock < 8.0:
                    t0 = time.monotonic()
                    r = c.post(f"{base}/api/listeners", json={"test_id": test_id, "consent": True})
                    writes.append((r.status_code, time.monotonic() - t0, r.headers.get("retry-after")))
                    time.sleep(0.05)

        threads = [threading.Thread(target=writer) for _ in range(50)]
        for t in threads:
            t.start()
        with httpx.Client(timeout=5) as c:
            while time.monotonic() - t_lock < 8.0:
                for url in ("/api/health", f"/listen/{test_id}", f"/api/tests/{test_id}"):
                    t0 = time.monotonic()
                    c.get(base + url)
                    reads.append((time.monotonic() - t0) * 1000)
                time.sleep(0.02)
        for t in threads:
            t.join(15)
        locker.join(10)
        t_free = time.monotonic()
        health = httpx.get(f"{base}/api/health").json()  # no write has succeeded since the lock
        print(f"50 writers under a 10 s lock: {len(writes)} writes, {len(reads)} reads, read p99 "
              f"{np.percentile(reads, 99):.1f} ms, slowest write {max(w[1] for w in writes):.2f} s")  # fmt: skip
        assert {w[0] for w in writes} == {503} and all(w[2] for w in writes)
        assert max(w[1] for w in writes) < 2.0
        assert np.percentile(reads, 99) < 100, f"read p99 {np.percentile(reads, 99):.0f} ms"
        assert health["storage"] == "ok" and time.monotonic() - t_free < 1.0
    finally:
        server.stop()
