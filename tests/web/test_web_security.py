"""The listening-test server against a hostile client, one test per finding of the review (issue
16): de-blinding, a stalled writer, storage errors, ballot stuffing, exports that run in a
spreadsheet, the admin token, lax input and missing hardening; and the Bradley-Terry fit against
data with known strengths."""

import csv
import hashlib
import io
import json
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tunelab.web import design, simulate
from tunelab.web.app import create_app
from tunelab.web.guard import Limits
from tunelab.web.store import Store

from .test_web import OPEN, TOKEN, Clock, _answer, make_sets, media_urls

ADMIN = {"X-Admin-Token": TOKEN}


@pytest.fixture(scope="module")
def blind(tmp_path_factory):
    """A test of three sets with telling names, and one whose melodies come from MIDI files."""
    root = tmp_path_factory.mktemp("blind")
    a, b, real = make_sets(root)
    for old, new in ((a, "setGPT"), (b, "setHumanLike")):
        old.rename(root / f"{new}.txt")
    from tunelab.io import load, save

    midi = root / "midiset"
    midi.mkdir()
    for i, score in enumerate(load(str(real))[0][:3]):
        save(score.replace(meta={"title": f"secret-title-{i}"}), midi / f"songfile{i}.mid")
    sets = [root / "setGPT.txt", root / "setHumanLike.txt", midi]
    test_id = design.create(root / "data", sets, reference=str(real), n=3, seed=4, pairs=2, no_preference=True,
                            max_seconds=2.0, min_play_s=1.0, synth="numpy", progress=False)  # fmt: skip
    return root, test_id


def _client(data, clock=None, **kw) -> TestClient:
    """A test client of the app over ``data``, its clock at ``client.clock``."""
    kw.setdefault("limits", OPEN)
    clock = clock or Clock()
    client = TestClient(create_app(data, admin_token=TOKEN, allowed_hosts=("testserver",), clock=clock, **kw))
    client.clock = clock
    return client


def test_1_no_set_file_or_source_name_is_in_any_medium_and_keys_are_random(blind):
    root, test_id = blind
    store = Store(root / "data" / "tunelab.db")
    items = store.items(test_id)
    names = {"setGPT", "setHumanLike", "midiset", "reference-real", "real", "Music21", "music21"}
    names |= {f"songfile{i}" for i in range(3)} | {f"secret-title-{i}" for i in range(3)}
    names |= {it["source"] for it in items if len(it["source"]) > 3}
    files = sorted((root / "data" / "media" / test_id).iterdir())
    assert len(files) == 3 * len(items)  # wav, svg, png for each
    for f in files:
        blob = f.read_bytes()
        leaked = [n for n in names if n.encode() in blob]
        assert not leaked, (f.name, leaked)
    for it in items:  # the old scheme: sha256(test/set/source), recomputable by anyone who knows a set name
        old = hashlib.sha256(f"{test_id}/{it['set_name']}/{it['source']}".encode()).hexdigest()[:16]
        assert it["key"] != old and len(it["key"]) == 16
    assert len({it["key"] for it in items}) == len(items)
    # and no key, set or source ever reaches a listener
    clock = Clock()
    with _client(root / "data", clock) as client:
        who = client.post("/api/listeners", json={"test_id": test_id, "consent": True}).json()["listener_id"]
        seen = []
        for position in range(4):
            state = client.get(f"/api/listeners/{who}")
            seen.append(state.text)
            step = state.json()["step"]
            for url in media_urls(step):
                seen.append(url)
            assert (
                _answer(
                    client, who, step, position, **({"choice": "none"} if step["kind"] == "pair" else {})
                ).status_code
                == 201
            )
        blob = " ".join(seen)
        assert not [it["key"] for it in items if it["key"] in blob]
        assert not [n for n in names if n in blob]
        assert client.get(f"/media/{items[0]['key']}.svg").status_code == 404  # no route by key at all


def _hold_write_lock(db_path, seconds: float, ready: threading.Event):
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE tests SET name = name")
    ready.set()
    time.sleep(seconds)
    db.execute("COMMIT")
    db.close()


@pytest.mark.slow
def test_2_a_stalled_writer_gives_503_within_2_s_while_every_other_route_answers_at_once(tmp_path):
    import httpx

    a, b, _ = make_sets(tmp_path, n=3)
    data = tmp_path / "data"
    test_id = design.create(
        data, [a, b], n=3, seed=0, max_seconds=1.0, min_play_s=0.3, synth="numpy", progress=False
    )
    server = simulate.ServerProcess(data, TOKEN).start()
    try:
        base = server.base
        who = httpx.post(f"{base}/api/listeners", json={"test_id": test_id, "consent": True}).json()[
            "listener_id"
        ]
        acked = []

        def answer(position):
            step = httpx.get(f"{base}/api/listeners/{who}").json()["step"]
            for url in media_urls(step):
                httpx.get(base + url)
            time.sleep(0.35)
            body = {
                "listener_id": who,
                "position": position,
                "played_s": 1.0,
                "ratings": dict.fromkeys(design.SCALES, 5),
            }
            return httpx.post(f"{base}/api/responses", json=body, timeout=30)

        assert answer(0).status_code == 201
        acked.append(0)
        step = httpx.get(f"{base}/api/listeners/{who}").json()["step"]
        for url in media_urls(step):  # served before the lock: only the answer itself must write
            httpx.get(base + url)
        time.sleep(0.4)  # listened long enough (the test asks for 0.3 s)
        ready = threading.Event()
        locker = threading.Thread(target=_hold_write_lock, args=(data / "tunelab.db", 10.0, ready))
        locker.start()
        ready.wait(5)
        t_lock = time.monotonic()
        body = {
            "listener_id": who,
            "position": 1,
            "played_s": 1.0,
            "ratings": dict.fromkeys(design.SCALES, 5),
        }
        result = {}

        def post():
            t0 = time.monotonic()
            r = httpx.post(f"{base}/api/responses", json=body, timeout=30)
            result.update(
                status=r.status_code,
                seconds=time.monotonic() - t0,
                json=r.json(),
                retry=r.headers.get("retry-after"),
            )

        writer = threading.Thread(target=post)
        writer.start()
        latencies = []
        poller = httpx.Client(timeout=5)  # one keep-alive connection, as a browser holds
        while time.monotonic() - t_lock < 9.0:
            for url in (
                "/api/health",
                f"/listen/{test_id}",
                f"/api/tests/{test_id}",
                f"/api/listeners/{who}",
            ):
                t0 = time.monotonic()
                r = poller.get(base + url)
                latencies.append((time.monotonic() - t0) * 1000)
                assert r.status_code in (200, 503), (url, r.status_code)
            time.sleep(0.05)
        writer.join(10)
        poller.close()
        assert result["status"] == 503 and result["json"]["code"] == "store_busy" and result["retry"] == "2"
        assert result["seconds"] < 2.0, result
        health = httpx.get(f"{base}/api/health").json()
        locker.join(5)
        print(
            f"during a 10 s write lock: {len(latencies)} reads, slowest {max(latencies):.1f} ms, "
            f"p50 {np.median(latencies):.1f} ms; the blocked answer got 503 after {result['seconds']:.2f} s"
        )
        # measured alone: the slowest of ~620 reads 11-15 ms; a busy machine (training jobs beside the
        # test suite) has given one scheduling hiccup of 316 ms, so: 99% under 100 ms, none over 1 s
        assert np.percentile(latencies, 99) < 100, (
            f"p99 {np.percentile(latencies, 99):.0f} ms during the lock"
        )
        assert max(latencies) < 1000, f"slowest read {max(latencies):.0f} ms during the lock"
        assert health["storage"] == "busy"  # health said what was wrong while the writer held on
        again = httpx.post(f"{base}/api/responses", json=body, timeout=30)  # after the lock: stored
        assert again.status_code == 201
        acked.append(1)
        stored = (
            sqlite3.connect(data / "tunelab.db")
            .execute("SELECT position FROM responses WHERE listener_id = ?", (who,))
            .fetchall()
        )
        assert sorted(p for (p,) in stored) == acked
    finally:
        server.stop()


def test_3_storage_errors_are_json_with_codes_and_health_says_so(tmp_path, monkeypatch):
    a, b, _ = make_sets(tmp_path, n=3)
    data = tmp_path / "data"
    test_id = design.create(
        data, [a, b], n=2, seed=0, max_seconds=1.0, min_play_s=0.3, synth="numpy", progress=False
    )
    clock = Clock()
    with _client(data, clock) as client:
        assert (
            client.post("/api/tests", json={"sets": ["x"], "seed": -1}, headers=ADMIN).json()["code"]
            == "invalid"
        )
        who = client.post("/api/listeners", json={"test_id": test_id, "consent": True}).json()["listener_id"]
        step = client.get(f"/api/listeners/{who}").json()["step"]
        for url in media_urls(step):
            client.get(url)
        clock.advance(5)
        store = client.app.state.store
        real_connect = sqlite3.connect

        def read_only(path, *a, **kw):  # as root, a 0444 file stays writable: open it read-only instead
            return real_connect(f"file:{path}?mode=ro", *a, uri=True, **kw)

        monkeypatch.setattr(sqlite3, "connect", read_only)
        store._local = threading.local()  # new connections from here on
        r = _answer(client, who, step, 0, listen=False)
        assert r.status_code == 503 and r.json() == {
            "error": "answers cannot be stored now (read only)",
            "code": "store_read_only",
        }
        health = client.get("/api/health")
        assert health.status_code == 503 and health.json()["storage"] == "read_only"
        monkeypatch.setattr(sqlite3, "connect", real_connect)
        store._local = threading.local()
        pages = store.connect().execute("PRAGMA page_count").fetchone()[0]

        def no_room(*a, **kw):  # every new connection may not grow the file: a full disk
            db = real_connect(*a, **kw)
            db.execute(f"PRAGMA max_page_count = {pages}")
            return db

        monkeypatch.setattr(sqlite3, "connect", no_room)
        store._local = threading.local()
        big = {"comment": "x" * 1000}
        for position in range(client.get(f"/api/listeners/{who}").json()["total"]):
            r = _answer(client, who, client.get(f"/api/listeners/{who}").json()["step"], position, **big)
            if r.status_code != 201:
                break
        assert r.status_code == 507 and r.json()["code"] == "store_disk_full", r.text
        assert client.get("/api/health").json()["storage"] == "disk_full"
    cmd = [sys.executable, "-m", "tunelab", "serve", "--data-dir", str(tmp_path / "a-file" / "data")]
    (tmp_path / "a-file").write_text("not a folder")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "cannot write there" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_4_fast_scripts_are_refused_listeners_are_rate_limited_and_tests_close(tmp_path, capsys):
    a, b, _ = make_sets(tmp_path, n=3)
    data = tmp_path / "data"
    test_id = design.create(
        data, [a, b], n=3, seed=0, max_seconds=2.0, min_play_s=1.0, synth="numpy", progress=False
    )
    clock = Clock()
    limits = Limits(listeners_per_test_minute=12, listeners_per_client_minute=5)
    with _client(data, clock, limits=limits) as client:
        made = [client.post("/api/listeners", json={"test_id": test_id, "consent": True}) for _ in range(7)]
        assert [m.status_code for m in made] == [201] * 5 + [429] * 2
        assert made[-1].json()["code"] == "rate_limited" and int(made[-1].headers["retry-after"]) > 0
        who = made[0].json()["listener_id"]
        # the probe's script: every step answered at once with a made-up played_s
        step = client.get(f"/api/listeners/{who}").json()["step"]
        for url in media_urls(step):
            client.get(url)
        fast = _answer(client, who, step, 0, played=999.0, listen=False)
        assert fast.status_code == 422 and fast.json()["code"] == "too_soon"
        clock.advance(1.01)
        assert _answer(client, who, step, 0, listen=False).status_code == 201  # a listener who listened
        assert client.post(f"/api/tests/{test_id}/close").status_code == 401
        assert client.post(f"/api/tests/{test_id}/close", headers=ADMIN).json()["closed"]
        step = client.get(f"/api/listeners/{who}").json()["step"]
        closed = _answer(client, who, step, 1)
        assert closed.status_code == 409 and closed.json()["code"] == "test_closed"
        clock.advance(120)
        late = client.post("/api/listeners", json={"test_id": test_id, "consent": True})
        assert late.status_code == 409 and late.json()["code"] == "test_closed"
    from tunelab.cli import main

    other = design.create(data, [a, b], n=2, seed=1, max_seconds=1.0, synth="numpy", progress=False)
    assert main(["listen", "close", other, "--data-dir", str(data)]) == 0
    assert "closed" in capsys.readouterr().out and Store(data / "tunelab.db").test(other)["closed"] == 1


def test_5_exports_hold_every_field_and_nothing_a_spreadsheet_would_run(tmp_path):
    a, b, _ = make_sets(tmp_path, n=3)
    data = tmp_path / "data"
    test_id = design.create(data, [a, b], n=2, seed=0, pairs=2, no_preference=True, max_seconds=1.0,
                            min_play_s=0.3, synth="numpy", progress=False)  # fmt: skip
    clock = Clock()
    comments = [
        '=HYPERLINK("http://x","y")',
        "+1+1",
        "-2",
        "@SUM(A1)",
        "nul\x00byte\x1b[31m",
        "\tleading tab",
    ]
    with _client(data, clock) as client:
        who = client.post(
            "/api/listeners", json={"test_id": test_id, "consent": True, "expertise": "student"}
        ).json()["listener_id"]
        total = client.get(f"/api/listeners/{who}").json()["total"]
        for position in range(total):
            step = client.get(f"/api/listeners/{who}").json()["step"]
            extra = {"choice": "none" if position % 2 else "B"} if step["kind"] == "pair" else {}
            r = _answer(client, who, step, position, comment=comments[position % len(comments)], **extra)
            assert r.status_code == 201, r.text
        text = client.get(f"/api/tests/{test_id}/export.csv", headers=ADMIN).text
        rows_json = client.get(f"/api/tests/{test_id}/export.json", headers=ADMIN).json()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert "\x00" not in text and "\x1b" not in text
    for r in rows:
        for value in r.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    pairs = [r for r in rows if r["kind"] == "choice"]
    assert len(pairs) == 2 and {r["expertise"] for r in rows} == {"student"}
    assert all(r["comment"] for r in pairs)  # A/B comments exported (the probe found 0 of 876)
    assert {r["chosen_set"] for r in pairs} <= {"modelA", "modelB", "none"} and "none" in {
        r["chosen_set"] for r in pairs
    }
    assert len(rows_json) == len(rows) and all(r["expertise"] == "student" for r in rows_json)
    assert '=HYPERLINK("http://x","y")' in [r["comment"] for r in rows_json]  # JSON keeps the text as given


def test_6_the_admin_token_lives_in_headers_is_rate_limited_strong_and_files_are_private(tmp_path, blind):
    root, test_id = blind
    with _client(root / "data") as client:
        page = client.get(f"/results/{test_id}")
        assert page.status_code == 200 and TOKEN not in page.text and "?token" not in page.text
        assert "setGPT" not in page.text and page.headers["cache-control"] == "no-store"
        assert client.get(f"/api/tests/{test_id}/chart.png?token={TOKEN}").json()["code"] == "token_in_url"
        codes = [
            client.get("/api/tests", headers={"X-Admin-Token": f"guess{i}"}).status_code for i in range(12)
        ]
        assert codes == [403] * 10 + [429] * 2
        assert client.get("/api/tests", headers=ADMIN).status_code == 200  # the right one is never locked out
    from tunelab.web.server import admin_token, token_bits

    assert token_bits("t") < 64 <= token_bits(TOKEN)
    for weak in (
        "abcdefghijklmnopqrstuvwxyz",
        "qwertyuiopasdfghjklzxcvbnm",
        "passwordpasswordpassword12345678",
    ):
        assert token_bits(weak) < 64, weak  # what a count of characters let through
    for weak in ("t", "password123", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"):
        done = subprocess.run([sys.executable, "-m", "tunelab", "serve", "--data-dir", str(tmp_path), "--admin-token", weak],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.returncode == 2 and "weak" in done.stderr
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    os.chmod(token_file, 0o600)
    assert admin_token(None, str(token_file), env={}) == (TOKEN, f"file {token_file}", [])
    assert admin_token(None, None, env={"TUNELAB_ADMIN_TOKEN": TOKEN})[:2] == (TOKEN, "TUNELAB_ADMIN_TOKEN")
    assert "ps" in admin_token(TOKEN, None, env={})[2][0]
    for name in ("tunelab.db", "tunelab.db-wal", "tunelab.db-shm"):
        path = root / "data" / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name


def test_7_types_are_strict_and_a_changed_re_answer_is_a_conflict(blind):
    root, test_id = blind
    clock = Clock()
    with _client(root / "data", clock) as client:
        for body in ({"test_id": test_id, "consent": 1}, {"test_id": test_id, "consent": "true"}):
            assert client.post("/api/listeners", json=body).status_code == 422
        who = client.post("/api/listeners", json={"test_id": test_id, "consent": True}).json()["listener_id"]
        step = client.get(f"/api/listeners/{who}").json()["step"]
        assert step["kind"] == "rate"
        for bad in ("5", True, 5.0):
            r = _answer(client, who, step, 0, ratings=dict.fromkeys(design.SCALES, bad))
            assert r.status_code == 422, bad
        assert _answer(client, who, step, 0, position_type="x").status_code == 422  # unknown field
        r = client.post("/api/responses", json={"listener_id": who, "position": "0", "played_s": 5,
                                                "ratings": dict.fromkeys(design.SCALES, 5)})  # fmt: skip
        assert r.status_code == 422
        assert _answer(client, who, step, 0, ratings=dict.fromkeys(design.SCALES, 5)).status_code == 201
        same = _answer(client, who, step, 0, listen=False, ratings=dict.fromkeys(design.SCALES, 5))
        assert same.status_code == 200 and same.json()["status"] == "duplicate"
        changed = _answer(client, who, step, 0, listen=False, ratings=dict.fromkeys(design.SCALES, 6))
        assert changed.status_code == 409 and changed.json()["code"] == "conflict"
    rows = Store(root / "data" / "tunelab.db").ratings(test_id)
    assert {
        r["value"] for r in rows if r["position"] == 0 and r["listener"] == max(x["listener"] for x in rows)
    } == {5}


def test_8_frames_caches_hosts_slow_clients_and_openapi(tmp_path, blind):
    root, test_id = blind
    with _client(root / "data") as client:
        r = client.get(f"/listen/{test_id}")
        assert (
            "frame-ancestors 'none'" in r.headers["content-security-policy"]
            and r.headers["x-frame-options"] == "DENY"
        )
        assert client.get("/api/tests", headers=ADMIN).headers["cache-control"] == "no-store"
        assert client.get("/", headers={"Host": "evil.example"}).json()["code"] == "bad_host"
        assert client.get("/api/openapi.json").status_code == 404
    with _client(root / "data", openapi=True) as client:
        assert client.get("/api/openapi.json").status_code == 200
    server = simulate.ServerProcess(tmp_path / "slow", TOKEN).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # and never the rest
            s.settimeout(20)
            t0 = time.monotonic()
            assert s.recv(100) == b""  # the server hung up
            assert time.monotonic() - t0 < 12
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(b"POST /api/listeners HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 100\r\n\r\n{\"test_id\": ")  # fmt: skip
            s.settimeout(20)
            t0 = time.monotonic()
            reply = s.recv(1000)
            assert b" 408 " in reply.split(b"\r\n")[0] and time.monotonic() - t0 < 12
    finally:
        server.stop()


def test_bradley_terry_recovers_known_strengths_from_synthetic_choices():
    from tunelab.web.pairwise import bradley_terry

    truth = np.array([0.8, 0.3, -0.2, -0.9])
    truth = truth - truth.mean()
    conditions = ["w", "x", "y", "z"]
    rng = np.random.default_rng(11)
    choices = []
    for listener in range(80):
        for _ in range(15):
            i, j = rng.choice(4, 2, replace=False)
            p = 1 / (1 + np.exp(-(truth[i] - truth[j])))
            won = rng.random() < p
            choices.append({"listener": listener, "a_set": conditions[i], "b_set": conditions[j],
                            "a_idx": 0, "b_idx": 1, "chosen_idx": 0 if won else 1})  # fmt: skip
    bt = bradley_terry(choices, conditions, n_boot=300, seed=0)
    assert bt["ranking"] == conditions and bt["n"] == 1200 and bt["listeners"] == 80
    for k in range(4):
        lo, hi = bt["ci"][k]
        assert lo <= truth[k] <= hi, (conditions[k], truth[k], bt["ci"][k])
    w = np.array(bt["win_probability"])
    assert np.allclose(w + w.T, 1) and w[0, 3] > 0.8
    # ties count half to each side: adding only ties between w and z pulls them together
    tied = choices + [{"listener": 100 + k, "a_set": "w", "b_set": "z", "a_idx": 0, "b_idx": 1, "chosen_idx": -1}
                      for k in range(400)]  # fmt: skip
    bt2 = bradley_terry(tied, conditions, n_boot=10, seed=0)
    assert bt2["ties"] == 400
    assert bt2["strength"][0] - bt2["strength"][3] < bt["strength"][0] - bt["strength"][3]
    assert bradley_terry([], conditions)["n"] == 0
    json.dumps(bt)  # plain numbers, for the report
