"""Thread choice: the other programs' load read from /proc/stat, and the count it gives."""

import os

import pytest

from tunelab import threads


@pytest.mark.parametrize(
    ("usable", "busy", "want"),
    [
        (2, 0.0, 2),
        (2, 0.4, 2),
        (2, 0.6, 1),
        (2, 1.0, 1),
        (2, 2.0, 1),
        (2, 3.5, 1),
        (16, 3.4, 13),
        (1, 0.0, 1),
    ],
)
def test_threads_are_the_usable_cpus_less_the_busy_ones(monkeypatch, usable, busy, want):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "usable", lambda: usable)
    monkeypatch.setattr(threads, "busy", lambda: busy)
    assert threads.choose()[0] == want
    assert threads.choose(3) == (3, "as asked")
    monkeypatch.setenv("OMP_NUM_THREADS", "5")
    assert threads.choose() == (5, "from OMP_NUM_THREADS")


def test_busy_counts_other_programs_not_this_one(monkeypatch):
    """Two samples of /proc/stat on 4 CPUs at 100 jiffies a second: 100 jiffies passed (0.25 s
    of wall time), 75 of them idle, while this process used 0.1 s of CPU."""
    samples = iter([(1000, 800), (1100, 800 + 75)])  # (all, idle) jiffies
    monkeypatch.setattr(threads, "_cpu_jiffies", lambda: next(samples))
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(threads.os, "sysconf", lambda name: 100)
    clock = iter([0.0, 0.1])
    monkeypatch.setattr(threads.time, "process_time", lambda: next(clock))
    slept = []
    monkeypatch.setattr(threads.time, "sleep", slept.append)
    monkeypatch.setattr(threads.time, "monotonic", lambda: 10.1)
    monkeypatch.setattr(threads, "_MARK", threads._mark())  # the import's mark: at monotonic 10.1
    # 100 jiffies over 4 CPUs at 100 a second: 0.25 s; 25 busy of 100: 4 x 0.25 = 1.0 CPU busy,
    # of which this process 0.1 s / 0.25 s = 0.4: other programs keep 0.6 busy
    assert threads.busy() == pytest.approx(0.6)
    assert slept == [pytest.approx(0.25)]  # the whole interval waited: nothing came between mark and reading


def test_the_time_since_import_counts_towards_the_interval(monkeypatch):
    samples = iter([(1000, 800), (1100, 800 + 75)])
    monkeypatch.setattr(threads, "_cpu_jiffies", lambda: next(samples))
    clock = iter([0.0, 0.1])
    monkeypatch.setattr(threads.time, "process_time", lambda: next(clock))
    times = iter([5.0, 5.4])  # the mark, then the reading 0.4 s later (an import of torch between)
    monkeypatch.setattr(threads.time, "monotonic", lambda: next(times))
    monkeypatch.setattr(threads, "_MARK", threads._mark())
    slept = []
    monkeypatch.setattr(threads.time, "sleep", slept.append)
    threads.busy()
    assert slept == [0.0]


def test_the_live_reading_is_within_the_machine():
    got = threads.busy(0.05)
    assert 0.0 <= got <= (os.cpu_count() or 1) + 0.5
