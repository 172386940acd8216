"""A bounded pool of worker threads for slow work (generation, rendering) that the event loop
awaits without blocking: at most ``workers`` jobs run and ``queue`` more wait, and no job is
taken when its answer would come later than ``max_wait`` (its wait, the jobs ahead of it x the
running mean of a job's time / the workers, and its own time); one more is refused at once (:class:`Full`, answered 503 with
Retry-After), so a crowd gets told, never a hang, and those let in are answered in time."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor


class Full(Exception):
    """The pool has ``workers + queue`` jobs already; ``retry_after``: seconds worth waiting."""

    def __init__(self, retry_after: int):
        super().__init__(f"busy: try again in {retry_after} s")
        self.retry_after = retry_after


class Pool:
    def __init__(self, workers: int = 2, queue: int = 8, initializer=None, max_wait: float = 4.0):
        self.workers, self.capacity, self.max_wait = workers, workers + queue, max_wait
        self._executor = ThreadPoolExecutor(
            workers, thread_name_prefix="tunelab-work", initializer=initializer
        )
        self._lock, self._jobs = threading.Lock(), 0
        self._mean = 0.5  # seconds a job takes, a running mean (for Retry-After)

    @property
    def jobs(self) -> int:
        return self._jobs

    async def run(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` on a worker thread; Full when the pool is full."""
        with self._lock:
            answer = self._mean * (
                1 + max(0, self._jobs + 1 - self.workers) / self.workers
            )  # wait + own time
            if self._jobs >= self.capacity or answer > self.max_wait:
                raise Full(max(1, round(self._mean * self._jobs / self.workers)))
            self._jobs += 1
        try:
            return await asyncio.wrap_future(self._executor.submit(self._timed, fn, *args, **kwargs))
        finally:
            with self._lock:
                self._jobs -= 1

    def _timed(self, fn, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            with self._lock:  # a job's own time, its wait in the queue not counted
                self._mean = 0.8 * self._mean + 0.2 * (time.perf_counter() - t0)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
