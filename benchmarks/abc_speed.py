"""The tune-by-tune clock of benchmarks/abc_tunebooks.py alone, for a quiet machine (issue 27:
the Irish tunebooks at 50x music21 or better).

Each tune read natively (written form, then the played form expanded from it, both timed) and
right after by music21, a garbage collection outside each timing; only the tunes the native
reader reads itself count. About 2 minutes for both books.

The collection walks music21's whole heap and leaves the CPU's caches cold: the native reader
then takes 0.8 ms a tune against 0.42 ms warm (reading 64 MB between tunes instead, and no
collection, gives 0.91 ms: it is the caches). ``--no-collect`` leaves the collector to run when
it would, inside either reader's timing.

    python benchmarks/abc_speed.py [--books oneills ryans] [--every 1] [--no-collect]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from abc_tunebooks import _warm_up, tasks_of


def clock(book: str, every: int, collect: bool = True) -> tuple[int, float, float]:
    from tunelab.form import played
    from tunelab.io.abc import read_abc_tune

    native = music21 = 0.0
    n = 0
    for _, src, number, text, dialect in tasks_of(book)[::every]:
        if collect:
            gc.collect()
        t0 = time.perf_counter()
        try:
            score = read_abc_tune(text, source=src, tune=number, **dialect)
            played(score)
        except Exception:
            continue
        t1 = time.perf_counter()
        if score.meta["reader"] != "native":
            continue
        if collect:
            gc.collect()
        t2 = time.perf_counter()
        try:
            read_abc_tune(text, source=src, tune=number, native=False)
        except Exception:
            continue
        native, music21, n = native + t1 - t0, music21 + time.perf_counter() - t2, n + 1
    return n, 1000 * native / n, 1000 * music21 / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--books", nargs="+", default=["oneills", "ryans"])
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument(
        "--no-collect",
        action="store_true",
        help="no garbage collection between parses: each reader pays for its garbage as it comes",
    )
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    _warm_up()
    for book in args.books:
        n, a, b = clock(book, args.every, collect=not args.no_collect)
        print(f"{book}: {n:,} tunes, native {a:.2f} ms, music21 {b:.1f} ms a tune: {b / a:.1f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
