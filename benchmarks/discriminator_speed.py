"""How long the discriminator suite takes on 1,000 against 1,000 melodies (issue 31: under 60 s).

Two sets of 1,000 real Deutschl songs drawn at random from the study preset's train split (the
collection is ordered by source: its first and second thousand are told apart 73-75% of the time,
random halves must come out at 0.5): the work is the same whatever the melodies are. Times ``two_sample`` (features and sequence, 5 folds each)
with the threads given.

    python benchmarks/discriminator_speed.py [--threads 2]    # writes results/discriminator_speed.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--note", default="nothing else running")
    args = ap.parse_args()
    import torch

    import tunelab.corpus
    from tunelab.metrics.discriminator import two_sample

    torch.set_num_threads(args.threads)
    songs = tunelab.corpus.load("deutschl", "study", verbose=False).split("train")
    import numpy as np

    pick = np.random.default_rng(0).permutation(len(songs))[: 2 * args.n]
    a, b = [songs[i] for i in pick[: args.n]], [songs[i] for i in pick[args.n :]]
    t0 = time.perf_counter()
    verdicts = two_sample(a, b, seed=0)
    seconds = time.perf_counter() - t0
    rows = [f"| {v.classifier} | {v.accuracy:.3f} [{v.low:.3f}, {v.high:.3f}] |" for v in verdicts]
    text = "\n".join([
        "# The discriminator's time (benchmarks/discriminator_speed.py)", "",
        f"{len(a):,} against {len(b):,} real Deutschl songs (drawn at random from the study preset's train split), "
        f"features and sequence classifiers, 5 folds each, and both (their probabilities averaged), {args.threads} thread(s), {args.note}: "
        f"**{seconds:.1f} s**.", "", "| classifier | accuracy (real against real: 0.5) |", "|---|---|", *rows, "",
    ])  # fmt: skip
    (HERE / "results" / "discriminator_speed.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
