"""A bounded pool of worker processes for slow work (generation, rendering) that the event loop
awaits without blocking: at most ``workers`` jobs run and ``queue`` more wait, and no job is
taken when its answer would come later than ``max_wait`` (its wait, the jobs ahead of it x the
running mean of a job's time / the workers, and its own time); one more is refused at once
(:class:`Full`, answered 503 with Retry-After), so a crowd gets told, never a hang, and those let
in are answered in time.

Processes, not threads: with the work in threads the page's routes took up to 170 ms under load
(44 ms with processes, benchmarks/results/compose_load.md), consistent with the work holding the
interpreter lock while the event loop waits (which call holds it longest was not profiled). A job is a picklable callable; its process is started (``spawn``) with ``initializer``.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor


class Full(Exception):
    """The pool has ``workers + queue`` jobs already; ``retry_after``: seconds worth waiting."""

    def __init__(self, retry_after: int):
        super().__init__(f"busy: try again in {retry_after} s")
        self.retry_after = retry_after


def _start(parent: int, initializer, initargs: tuple) -> None:
    """A worker's start: it leaves when its server does, however the server ended (a SIGKILL
    runs no shutdown, and a worker waiting for jobs would otherwise wait for ever)."""

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="tunelab-parent-watch", daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def _timed(fn, *args):
    """``fn(*args)`` and its own time in seconds (in the worker: its wait in the queue not counted)."""
    t0 = time.perf_counter()
    return fn(*args), time.perf_counter() - t0


class Pool:
    def __init__(self, workers: int = 2, queue: int = 8, initializer=None, initargs: tuple = (),
                 max_wait: float = 4.0):  # fmt: skip
        self.workers, self.capacity, self.max_wait = workers, workers + queue, max_wait
        self._executor = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
            initargs=(os.getpid(), initializer, initargs),
        )  # fmt: skip
        self._lock, self._jobs = threading.Lock(), 0
        self._mean = 0.5  # seconds a job takes, a running mean (for Retry-After)

    @property
    def jobs(self) -> int:
        return self._jobs

    async def run(self, fn, *args):
        """``fn(*args)`` in a worker process; Full when the pool is full."""
        with self._lock:
            answer = self._mean * (1 + max(0, self._jobs + 1 - self.workers) / self.workers)  # wait + own
            if self._jobs >= self.capacity or answer > self.max_wait:
                raise Full(max(1, round(self._mean * self._jobs / self.workers)))
            self._jobs += 1
        try:
            result, seconds = await asyncio.wrap_future(self._executor.submit(_timed, fn, *args))
            with self._lock:
                self._mean = 0.8 * self._mean + 0.2 * seconds
            return result
        finally:
            with self._lock:
                self._jobs -= 1

    def warm(self) -> None:
        """Start every worker now (each imports and loads in its initializer), not on first use."""
        for f in [self._executor.submit(time.sleep, 0) for _ in range(self.workers)]:
            f.result()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
