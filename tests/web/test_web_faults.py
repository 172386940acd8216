"""Killing the server (SIGKILL) in the middle of a listening test loses nothing: every answer the
listeners were told was stored is in the database after a restart, none is stored twice, and every
listener resumes at their next step and finishes. A small version of benchmarks/listen_load.py."""

import sqlite3
import threading
import time
from contextlib import closing

import pytest

from tunelab.web import simulate

from .test_web import TOKEN, make_sets

pytestmark = pytest.mark.slow  # end to end


def test_a_killed_server_restarts_with_every_acknowledged_answer_and_listeners_resume(tmp_path):
    from tunelab.web import design

    a, b, _ = make_sets(tmp_path, n=3)
    data = tmp_path / "data"
    test_id = design.create(data, [a, b], n=3, seed=0, pairs=1, max_seconds=1.0, min_play_s=0.5, synth="numpy",
                            progress=False)  # fmt: skip
    server = simulate.ServerProcess(data, TOKEN).start()
    result = {}
    worker = threading.Thread(
        target=lambda: simulate.run(
            server.base, test_id, listeners=8, think=(0.02, 0.1), timeout=60, out=result
        )
    )
    try:
        worker.start()
        deadline = time.time() + 30
        while time.time() < deadline:  # kill once a third of the 8 x 7 answers are in
            with closing(sqlite3.connect(data / "tunelab.db", timeout=30)) as db:
                if db.execute("SELECT COUNT(*) FROM responses").fetchone()[0] >= 18:
                    break
            time.sleep(0.01)
        server.kill()
        acked_at_kill = dict(result["acked"])
        time.sleep(0.5)
        server.start()
        worker.join(90)
    finally:
        server.stop()
    assert not worker.is_alive() and result, "the simulated listeners did not finish"
    check = simulate.check(data / "tunelab.db", result)
    assert check["lost"] == 0 and check["duplicates"] == 0
    assert check["acknowledged"] == check["stored"] == 8 * 7
    assert check["finished"] == 8 and result["regressions"] == 0 and not result["errors"]
    assert sum(v + 1 for v in acked_at_kill.values()) >= 18 - 8  # (answers stored, minus those in flight)
    assert (
        simulate.check(data / "tunelab.db", {"acked": acked_at_kill, "listeners": result["listeners"]})[
            "lost"
        ]
        == 0
    )


def test_serve_prints_a_fresh_admin_token_that_opens_the_admin_routes(tmp_path):
    import socket
    import subprocess
    import sys

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "tunelab", "serve", "--data-dir", str(tmp_path), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert "127.0.0.1" in proc.stdout.readline()  # loopback unless told otherwise
        token = proc.stdout.readline().split("admin token:")[1].strip()
        assert len(token) >= 16
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                httpx.get(f"{base}/api/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert httpx.get(f"{base}/api/tests", headers={"X-Admin-Token": token}).json() == []
        assert httpx.get(f"{base}/api/tests", headers={"X-Admin-Token": token + "x"}).status_code == 403
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
