"""Why melodies ramble (issue 31): each shipped study model's probability that the song ends now,
by how far the song has gone, read on the study's real test songs (teacher forced), beside the
real songs' own hazard (of the songs that reach a position, the share that end there).

A model that knows how long a melody has gone on raises its end probability as real songs do;
one that sees 64 tokens cannot, and its end probability stays flat with position.

    python benchmarks/endings.py     # writes benchmarks/results/endings.md and endings.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
SPLIT = HERE.parent.parent / "shared" / "data" / "study-split"
MODELS = ("study-lstm", "study-transformer", "study-hybrid")
BUCKET = 32  # tokens (8 quarter notes on the study's 16th-note grid)


def end_probability(name: str, songs) -> np.ndarray:
    """(position in the song, P(the song ends here)) for every target of every song."""
    import tunelab
    from tunelab.training.data import encode_songs
    from tunelab.training.surprise import stream_of, target_measures

    m = tunelab.load(name, threads=1)
    tok, meta = m.tokenizer, m.meta
    seqs, _ = encode_songs(songs, tok)
    sep = tok.separator_id

    def measure(model, tokenizer, x, y, pitch_ids):
        return (model(x)[0].float().softmax(-1)[..., sep],)

    stream, spans = stream_of(seqs, sep, meta["data"]["gap"] or 1)
    (p_end,) = target_measures(m.model, stream, tok, measure, seq_len=int(meta["train"]["seq_len"]),
                               window_mode=meta["train"]["mode"] == "window", batch_size=128)  # fmt: skip
    out = []
    for a, b in spans:
        for t in range(a, b):
            out.append((t - a, p_end[t]))
    return np.array(out)


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import tunelab.corpus

    torch.set_num_threads(1)
    songs = tunelab.corpus.load(str(SPLIT), verbose=False).split("test")
    lengths = None
    curves = {}
    for name in MODELS:
        pe = end_probability(name, songs)
        if lengths is None:  # each song's length in targets: the positions of its last target + 1
            ends = np.flatnonzero(np.r_[pe[1:, 0] == 0, True])
            lengths = pe[ends, 0] + 1
        buckets = (pe[:, 0] // BUCKET).astype(int)
        curves[name] = np.array([pe[buckets == k, 1].mean() for k in range(buckets.max() + 1)])
    top = min(len(c) for c in curves.values())
    reach = np.array([(lengths > k * BUCKET).sum() for k in range(top)])
    end_in = np.array([((lengths > k * BUCKET) & (lengths <= (k + 1) * BUCKET)).sum() for k in range(top)])
    real = end_in / np.maximum(reach, 1) / BUCKET  # per-token hazard within the bucket
    lines = ["# Why melodies ramble (benchmarks/endings.py)", "",
             f"P(the song ends at this token), mean over the study's {len(songs)} test songs' targets in each "
             f"bucket of {BUCKET} tokens (teacher forced), beside the real songs' per-token hazard (of the songs "
             "that reach the bucket, the share that end in it, / 32).", "",
             "| tokens into the song | songs reaching it | real hazard | " + " | ".join(MODELS) + " |",
             "|---|---:|---:|" + "---:|" * len(MODELS)]  # fmt: skip
    for k in range(top):
        if reach[k] < 10:
            break
        cells = " | ".join(f"{curves[n][k]:.4f}" for n in MODELS)
        lines.append(f"| {k * BUCKET}-{(k + 1) * BUCKET - 1} | {reach[k]} | {real[k]:.4f} | {cells} |")
    (HERE / "results" / "endings.md").write_text("\n".join(lines) + "\n")
    fig, ax = plt.subplots(figsize=(7, 3.6))
    keep = reach >= 10
    x = np.arange(top)[keep] * BUCKET
    ax.plot(x, real[keep], "k-", lw=2, label="real songs' hazard")
    for n in MODELS:
        ax.plot(x, curves[n][:top][keep], label=n)
    ax.set_xlabel("tokens into the song (16th notes)")
    ax.set_ylabel("P(end at this token)")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(HERE / "results" / "endings.png", dpi=110)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
