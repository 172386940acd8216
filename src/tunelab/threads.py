"""How many CPU threads torch uses: the CPUs this process may run on, less those other programs
keep busy, so that tunelab's threads never spin-wait against each other on a shared core.

On 2 cores with one other busy program, the small LSTM trained at 5,315 tokens/s with 2 threads
and 10,612 with 1 (benchmarks/results/threads.md): torch's default (one thread per core) halves
the throughput of a machine that is not idle. :func:`use` measures the other programs' load
over a quarter of a second (Linux ``/proc/stat``; elsewhere the load average) and picks
``usable - busy`` threads, at least 1; ``--threads`` (or ``OMP_NUM_THREADS``) overrides. The
choice is made once per process and said in one line.
"""

from __future__ import annotations

import math
import os
import sys
import time

HELP = "CPU threads (default: the CPUs this process may use, less those other programs keep busy)"
_chosen: int | None = None


def usable() -> int:
    """The CPUs this process may run on (its affinity mask, else all)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def busy(interval: float = 0.25) -> float:
    """How many CPUs other programs keep busy, measured from when this module was imported (the
    process's own CPU time taken off), over at least ``interval`` seconds: the imports and loading
    that come before a choice count towards it, so a command waits only for what is left (the load
    average where /proc/stat is missing)."""
    if _MARK is None:
        return min(os.getloadavg()[0], float(os.cpu_count() or 1)) if hasattr(os, "getloadavg") else 0.0
    before, own0, wall0 = _MARK
    time.sleep(max(interval - (time.monotonic() - wall0), 0.0))
    after, own = _cpu_jiffies(), time.process_time() - own0
    total, idle = after[0] - before[0], after[1] - before[1]
    if total <= 0:
        return 0.0
    cpus = os.cpu_count() or 1
    seconds = total / cpus / os.sysconf("SC_CLK_TCK")  # wall seconds the sample covered
    return max((total - idle) / total * cpus - own / max(seconds, 1e-9), 0.0)


def _cpu_jiffies() -> tuple[int, int]:
    """(all, idle) jiffies of every CPU since boot, from /proc/stat's first line."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields[:8]), fields[3] + fields[4]  # user..steal; idle + iowait


def choose(requested: int | None = None) -> tuple[int, str]:
    """(threads, why) for this machine as it is now."""
    if requested:
        return requested, "as asked"
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        return int(os.environ["OMP_NUM_THREADS"]), "from OMP_NUM_THREADS"
    n, other = usable(), busy()
    threads = max(1, min(n, math.floor(n - other + 0.5)))
    return threads, f"{n} usable, {other:.1f} kept busy by other programs"


_line: str | None = None


def _mark() -> tuple | None:
    try:
        return _cpu_jiffies(), time.process_time(), time.monotonic()
    except OSError:
        return None


_MARK = _mark()  # the start of the load measurement: when tunelab.threads is first imported


def use(requested: int | None = None, *, quiet: bool = False) -> int:
    """Set torch's thread count once per process (later calls keep the first choice unless
    ``requested`` differs) and say it in one line on stderr."""
    global _chosen
    if _chosen is not None and (not requested or requested == _chosen):
        return _chosen
    import torch

    global _line
    threads, why = choose(requested)
    torch.set_num_threads(threads)
    _chosen = threads
    _line = f"tunelab: {threads} CPU thread{'s' * (threads > 1)} ({why}; --threads N to choose)"
    if not quiet:
        say()
    return threads


def say() -> None:
    """The thread line of :func:`use`, once: a command chooses its threads quietly and says so
    when the work starts, after its input was checked (an error then stands alone)."""
    global _line
    if _line:
        print(_line, file=sys.stderr)
        _line = None
