"""A bounded pool of worker threads for slow work (generation, rendering) that the event loop
awaits without blocking: at most ``workers`` jobs run and ``queue`` more wait; one more is refused
at once (:class:`Full`, answered 503 with Retry-After), so a crowd gets told, never a hang."""

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
    def __init__(self, workers: int = 2, queue: int = 8, initializer=None):
        self.workers, self.capacity = workers, workers + queue
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
            if self._jobs >= self.capacity:
                raise Full(max(1, round(self._mean * self._jobs / self.workers)))
            self._jobs += 1
        t0 = time.perf_counter()
        try:
            return await asyncio.wrap_future(self._executor.submit(fn, *args, **kwargs))
        finally:
            with self._lock:
                self._jobs -= 1
                self._mean = 0.8 * self._mean + 0.2 * (time.perf_counter() - t0)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
