"""Load and fault benchmark of ``tunelab serve`` on loopback.

A real server process (``python -m tunelab serve``) and a test of 20 steps (3 conditions x 6
melodies rated on the study's five scales, and 2 A/B pairs). Then:

1. load: 50 simulated listeners at once, each fetching a step's audio and answering 1.05 s later
   (the test asks for 1 s of listening; the think time 0.2-1.0 s is always shorter);
2. saturation: 50 more with no pause beyond the listening time the server requires (1 s a step:
   answers sooner are refused since issue 16), so that every listener has a request in flight
3. fault: 50 more; when 40% of their answers are in, the server is killed (SIGKILL) and
   restarted a second later; the listeners retry through the outage and resume.

Each run checks every acknowledged answer against the database. Writes
benchmarks/results/listen_load.md (or --out).

    python benchmarks/listen_load.py [--listeners 50] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from tunelab.web import design, simulate

TOKEN = "bench-2u8ZqLr5VwX3mKc9TfYp"  # strong enough for tunelab serve


def tunes(path: Path, n: int, seed: int) -> Path:
    """``n`` little random 4/4 tunes as grid text."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        tokens = []
        for _ in range(int(rng.integers(8, 16))):
            tokens += [str(int(rng.choice([60, 62, 64, 65, 67, 69, 71, 72])))] + ["_"] * int(
                rng.choice([1, 3])
            )
        lines.append(" ".join(tokens + ["60", "_", "_", "_", "_", "_", "_", "_"]))
    path.write_text("\n".join(lines) + "\n")
    return path


def make_test(root: Path) -> str:
    sets = [
        tunes(root / f"{name}.txt", 8, seed) for seed, name in enumerate(("lstm", "transformer", "hybrid"))
    ]
    return design.create(root / "data", sets, n=6, seed=0, pairs=2, max_seconds=4, min_play_s=1.0, synth="numpy",
                         progress=False)  # fmt: skip


def fault_run(
    server: simulate.ServerProcess, test_id: str, listeners: int, total_steps: int
) -> tuple[dict, dict]:
    """Simulate while killing the server at 40% of the answers; returns (sim output, kill facts)."""
    result, facts = {}, {}

    def load():
        simulate.run(server.base, test_id, listeners=listeners, think=(0.05, 0.3), seed=2, out=result)

    thread = threading.Thread(target=load)
    thread.start()
    target = int(0.4 * listeners * total_steps)
    while True:
        answers = sum(
            r[0] for r in _db(server.data).execute("SELECT COUNT(*) FROM responses p JOIN listeners l ON "
                                                   "l.id = p.listener_id WHERE l.number >= ?", (2 * listeners,))
        )  # fmt: skip
        if answers >= target:
            break
        time.sleep(0.02)
    t0 = time.perf_counter()
    server.kill()
    facts["stored_at_kill"] = answers
    facts["acked_at_kill"] = dict(result["acked"])
    time.sleep(1.0)
    server.start()
    facts["downtime_s"] = time.perf_counter() - t0
    thread.join()
    return result, facts


def _db(data: Path):
    import sqlite3

    return sqlite3.connect(data / "tunelab.db", timeout=30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listeners", type=int, default=50)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "listen_load.md")
    ap.add_argument("--note", default="nothing else running", help="what else the machine was doing")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tunelab-load-"))
    test_id = make_test(root)
    server = simulate.ServerProcess(root / "data", TOKEN).start()
    steps = 6 * 3 + 2
    rows = []
    try:
        for label, think in (
            ("load: an answer 1.05 s after its audio (think 0.2-1.0 s)", (0.2, 1.0)),
            ("saturation: no pause beyond the required listening", (0.0, 0.0)),
        ):
            cpu = server.cpu_seconds()
            out = simulate.run(server.base, test_id, listeners=args.listeners, think=think, seed=len(rows))
            cpu_ms = (server.cpu_seconds() - cpu) * 1000 / (len(out["post_ms"]) + len(out["get_ms"]))
            rows.append((label, out, simulate.check(server.data / "tunelab.db", out), {"cpu_ms": cpu_ms}))
            print(label, rows[-1][2], simulate.percentiles(out["post_ms"]), flush=True)
        out, facts = fault_run(server, test_id, args.listeners, steps)
        before = {"acked": facts["acked_at_kill"], "listeners": out["listeners"]}
        facts["before"] = simulate.check(server.data / "tunelab.db", before)
        rows.append(
            (
                "fault: SIGKILL at 40%, restart after 1 s",
                out,
                simulate.check(server.data / "tunelab.db", out),
                facts,
            )
        )
        print(rows[-1][0], rows[-1][2], facts, flush=True)
    finally:
        server.stop()
    lines = [
        "# Listening-test server under load (benchmarks/listen_load.py)",
        "",
        f"`tunelab serve` (one uvicorn process, SQLite in WAL mode, synchronous=FULL) on loopback; {args.listeners} "
        f"simulated listeners at once per run (httpx, asyncio, in a second process on the same 2 cores), each "
        f"answering a test of {steps} steps (18 ratings on five scales, 2 A/B choices). Latency is measured by "
        "the client, request to reply. Every acknowledged answer is then looked up in the database.",
        "",
        "| run | answers acknowledged | stored | lost | stored twice | listeners finished | POST p50 ms | POST p95 ms "
        "| POST p99 ms | POST max ms | GET p95 ms | answers/s | wall s | server CPU ms / request |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, out, chk, facts in rows:
        post, get = simulate.percentiles(out["post_ms"]), simulate.percentiles(out["get_ms"])
        lines.append(
            f"| {label} | {chk['acknowledged']} | {chk['stored']} | {chk['lost']} | {chk['duplicates']} | "
            f"{chk['finished']}/{args.listeners} | {post['p50']:.1f} | {post['p95']:.1f} | {post['p99']:.1f} | "
            f"{post['max']:.0f} | {get['p95']:.1f} | {out['answers'] / out['wall_s']:.0f} | {out['wall_s']:.1f} | "
            + (f"{facts['cpu_ms']:.2f} |" if "cpu_ms" in facts else "- |")
        )
    facts = rows[-1][3]
    lines += [
        "",
        f"Fault run: the server was killed with {facts['stored_at_kill']} of its answers stored "
        f"({facts['before']['acknowledged']} acknowledged to the listeners; after the restart "
        f"{facts['before']['acknowledged'] - facts['before']['lost']} of those were in the database) and was back after "
        f"{facts['downtime_s']:.1f} s; listeners whose request failed retried it (a stored but unacknowledged "
        f"answer comes back as a duplicate, not a second row) and went on from their next step. Server-side "
        f"regressions (a listener sent back to a step already acknowledged): {rows[-1][1]['regressions']}. "
        "The fault run's latencies include the outage.",
        "",
        f"Machine: {os.cpu_count()} cores, {args.note}. Command: `python benchmarks/listen_load.py --listeners "
        f"{args.listeners}`. Each listener fetches its step's audio before answering and answers no sooner than "
        "the test's listening time (1 s) after it: the server refuses earlier answers since issue 16.",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
