"""The composer's API (/api/compose) with the shipped models: controls from the model, the same
tune from the same ask, bars regenerated with the rest kept, downloads tunelab reads back, and one
clear 4xx JSON error for each kind of bad input; a full pool answers 503 with Retry-After."""

from __future__ import annotations

import io
import wave
from functools import partial

import numpy as np
import pytest
from fastapi.testclient import TestClient

import tunelab
from tunelab.io.abc import read_abc_tune
from tunelab.web.app import create_app
from tunelab.web.composer import Composer

ASK = {"model": "folk-lstm", "key": "D", "mode": "major", "meter": "6/8", "bars": 8, "type": "jig", "seed": 4}


@pytest.fixture(scope="module")
def composer():
    c = Composer(partial(tunelab.load, threads=1), ["folk-lstm", "study-lstm"], per_minute=1000)
    yield c
    c.pool.shutdown()


@pytest.fixture()
def client(composer, tmp_path):
    return TestClient(
        create_app(tmp_path, admin_token="t" * 32, composer=composer), base_url="http://127.0.0.1"
    )


def notes_outside(abc: str, first: int, last: int) -> list:
    """(onset, duration, pitch) of the notes outside full bars first..last (1 = the first full bar)."""
    s = read_abc_tune(abc, source="t", tune=1)
    starts = list(s.bar_starts()) + [s.end]
    full = starts[1:] if s.pickup else starts
    a, b = full[first - 1], full[last]
    return [(int(o), int(d), int(p)) for o, d, p in zip(s.onset, s.duration, s.pitch) if not a <= o < b]


def test_the_models_say_what_they_can_be_asked(client):
    found = {m["name"]: m for m in client.get("/api/compose/models").json()}
    folk, study = found["folk-lstm"], found["study-lstm"]
    assert folk["fills_in"] and folk["bars"] and "6/8" in folk["meters"] and "jig" in folk["types"]
    assert "dorian" in folk["modes"] and folk["key_by"] == "conditioning"
    assert (
        not study["fills_in"]
        and not study["bars"]
        and study["meters"] == []
        and study["key_by"] == "transposition"
    )


def test_a_tune_as_asked_the_same_again_and_its_bars_regenerated(client):
    first = client.post("/api/compose", json=ASK).json()
    assert first["bars"] == 8 and "M:6/8" in first["abc"] and "K:D" in first["abc"]
    assert client.post("/api/compose", json=ASK).json()["abc"] == first["abc"]  # a permalink's promise
    assert first["svg"].lstrip().startswith("<svg") and len(first["timemap"]) == first["notes"]
    filled = client.post("/api/compose", json={"model": "folk-lstm", "action": "fill", "abc": first["abc"],
                                               "first": 3, "last": 4, "seed": 9}).json()  # fmt: skip
    assert notes_outside(filled["abc"], 3, 4) == notes_outside(first["abc"], 3, 4)
    assert filled["abc"] != first["abc"] and filled["bars"] == 8
    moved = client.post("/api/compose", json={"model": "folk-lstm", "action": "transpose", "abc": first["abc"],
                                              "to": "G"}).json()  # fmt: skip
    a, b = read_abc_tune(first["abc"], source="a", tune=1), read_abc_tune(moved["abc"], source="b", tune=1)
    assert "K:G" in moved["abc"] and len(set((b.pitch - a.pitch).tolist())) == 1  # every note by one interval
    more = client.post("/api/compose", json={"model": "folk-lstm", "action": "continue", "abc": first["abc"],
                                             "from_bar": 5, "bars": 12, "seed": 1}).json()  # fmt: skip
    assert more["bars"] == 12 and notes_outside(more["abc"], 5, 12) == notes_outside(first["abc"], 5, 8)


def test_downloads_read_back(client, tmp_path):
    tune = client.post("/api/compose", json=ASK).json()
    want = read_abc_tune(tune["abc"], source="t", tune=1)
    for ext in ("mid", "musicxml", "abc"):
        r = client.get(f"/api/compose/media/{tune['id']}.{ext}?download=1")
        assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
        path = tmp_path / f"t.{ext}"
        path.write_bytes(r.content)
        (back,), errors = tunelab.io.load_file(path)
        assert not errors and back.pitch.tolist() == want.pitch.tolist()
    r = client.get(f"/api/compose/media/{tune['id']}.wav")
    with wave.open(io.BytesIO(r.content)) as w:
        seconds = w.getnframes() / w.getframerate()
    music = want.end / want.tpq * 60 / tune["qpm"]  # the tune at the tempo the page follows it at
    assert music <= seconds <= music + 3  # and the last note's release
    assert client.get(f"/api/compose/media/{tune['id']}.svg").text.lstrip().startswith("<svg")
    assert client.get(f"/api/compose/media/{'0' * 24}.wav").status_code == 404


@pytest.mark.parametrize(
    "path, body, status, code",
    [
        ("/api/compose/render", {"abc": "X:1\nK:C\nCDE|F\n[GA\n"}, 422, "abc_syntax"),
        ("/api/compose", {**ASK, "bars": 400}, 422, "invalid"),
        ("/api/compose", {**ASK, "temperature": 5.0}, 422, "invalid"),
        ("/api/compose", {**ASK, "bars": "8"}, 422, "invalid"),  # strict: no coercion
        ("/api/compose", {**ASK, "colour": "red"}, 422, "invalid"),  # unknown field
        ("/api/compose", {**ASK, "model": "nope"}, 404, "unknown_model"),
        ("/api/compose", {**ASK, "model": "study-lstm", "meter": "6/8", "bars": None}, 422, "refused"),
        ("/api/compose", {**ASK, "type": "polka music"}, 422, "refused"),
        (
            "/api/compose",
            {"model": "study-lstm", "action": "fill", "abc": "K:C\nCDEF|GABc|\n", "first": 1, "last": 1},
            422,
            "cannot_fill",
        ),
        (
            "/api/compose",
            {"model": "folk-lstm", "action": "vary", "key": "D", "abc": "K:C\nCDEF|\n"},
            422,
            "invalid",
        ),
        ("/api/compose", {"model": "folk-lstm", "action": "fill", "first": 1, "last": 2}, 422, "invalid"),
    ],
)
def test_bad_input_gets_one_clear_error(client, path, body, status, code):
    r = client.post(path, json={k: v for k, v in body.items() if v is not None})
    assert r.status_code == status, r.text
    assert r.json()["code"] == code and r.json()["error"]
    if code == "abc_syntax":
        assert r.json()["error"].startswith("line 4:")


def test_uploads_that_are_not_tunes(client, tmp_path):
    r = client.post("/api/compose/import?name=big.mid", content=b"\0" * (5 * 1024 * 1024))
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"
    r = client.post(
        "/api/compose/import?name=noise.mid",
        content=bytes(np.random.default_rng(0).integers(0, 256, 900, dtype=np.uint8)),
    )
    assert r.status_code == 422 and r.json()["code"] == "unreadable" and "noise.mid" in r.json()["error"]
    r = client.post("/api/compose/import?name=x.exe", content=b"MZ")
    assert r.status_code == 415
    r = client.post("/api/compose/import?name=tune.abc", content=b"X:1\nM:3/4\nL:1/4\nK:G\nGAB|d2B|G3|]\n")
    assert r.status_code == 200 and "M:3/4" in r.json()["abc"]


def test_a_full_pool_answers_503_with_retry_after(composer, client):
    busy = composer.pool._jobs
    composer.pool._jobs = composer.pool.capacity  # every worker and queue place taken
    try:
        r = client.post("/api/compose", json=ASK)
    finally:
        composer.pool._jobs = busy
    assert r.status_code == 503 and r.json()["code"] == "busy" and int(r.headers["retry-after"]) >= 1


def test_a_client_over_its_rate_is_told_when_to_come_back(tmp_path):
    slow = Composer(partial(tunelab.load, threads=1), ["folk-lstm"], per_minute=2)
    c = TestClient(create_app(tmp_path, admin_token="t" * 32, composer=slow), base_url="http://127.0.0.1")
    codes = [c.post("/api/compose/render", json={"abc": "K:C\nCDEF|\n"}).status_code for _ in range(3)]
    slow.pool.shutdown()
    assert codes[:2] == [200, 200] and codes[2] == 429


ORPHAN = """
import asyncio, os, sys
from tunelab.web.pool import Pool
if __name__ == "__main__":
    print(asyncio.run(Pool(1, 0).run(os.getpid)), flush=True)
    os._exit(0)  # no shutdown: as a server killed with SIGKILL
"""


def test_workers_leave_when_their_server_dies_without_a_shutdown(tmp_path):
    import os
    import subprocess
    import sys
    import time

    (tmp_path / "server.py").write_text(ORPHAN)
    done = subprocess.run([sys.executable, str(tmp_path / "server.py")], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    worker = int(done.stdout.split()[-1])
    assert worker != os.getpid()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)  # still there?
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(worker, 9)
    raise AssertionError(f"worker {worker} outlived its server by 10 s")
