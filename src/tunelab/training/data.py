"""Training data: songs -> one token stream per split -> batches of sequences or windows.

A split becomes one stream, songs one after another, as the study did: for grid, every song is
followed by ``gap`` ``/`` tokens (64 in the study), so a model learns to end a song and to start
one from silence; encodings whose songs carry their own start and end tokens (remi, cp, nb) are
simply concatenated. Two ways to cut examples from a stream:

- ``sequence`` (teacher forcing): non-overlapping chunks of ``seq_len + 1`` tokens; every position
  predicts the next one, so one forward pass trains ``seq_len`` targets. The chunk grid shifts by
  a random offset each epoch, so no boundary is always a boundary.
- ``window`` (the study's): every window of ``seq_len`` tokens, stride 1, predicts the single
  token after it, one target per forward pass.

Batches are drawn from a permutation that depends only on (seed, epoch), so a resumed run sees
the same batches, and a global batch is cut into equal per-process shards for DDP.
Shapes: N examples, B batch, L seq_len, F fields.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def encode_each(scores, tokenizer) -> list[np.ndarray | str]:
    """Each score's token array, or why it does not encode (``"ID: reason"``)."""
    out = []
    for i, score in enumerate(scores):
        try:
            out.append(tokenizer.encode(score))
        except ValueError as err:
            out.append(f"{score.meta.get('id', i)}: {err}")
    return out


def encode_songs(scores, tokenizer) -> tuple[list[np.ndarray], list[str]]:
    """Token arrays of the scores that encode, and a reason for each that does not."""
    each = encode_each(scores, tokenizer)
    return [x for x in each if not isinstance(x, str)], [x for x in each if isinstance(x, str)]


def song_stream(seqs: list[np.ndarray], gap_id: int | None = None, gap: int = 0) -> np.ndarray:
    """One stream: each song, then ``gap`` copies of ``gap_id`` (trailing ones it had dropped)."""
    parts = []
    for s in seqs:
        if gap and gap_id is not None:
            end = len(s)
            while end and s[end - 1] == gap_id:
                end -= 1
            parts += [s[:end], np.full(gap, gap_id, dtype=s.dtype)]
        else:
            parts.append(s)
    if not parts:
        raise ValueError("no songs to train on")
    return np.concatenate(parts)


@dataclass
class Examples:
    """Examples of one stream: chunks (``sequence``) or windows (``window``)."""

    stream: np.ndarray  # (S,) or (S, F)
    seq_len: int
    mode: str = "sequence"

    def __post_init__(self):
        if len(self.stream) < self.seq_len + 2:
            raise ValueError(
                f"the stream has {len(self.stream)} tokens, fewer than --seq-len {self.seq_len} + 2"
            )

    def __len__(self) -> int:
        if self.mode == "window":
            return len(self.stream) - self.seq_len
        return (len(self.stream) - self.seq_len) // self.seq_len  # whatever the epoch's offset

    def starts(self, epoch: int, seed: int, shuffle: bool = True) -> np.ndarray:
        """Start positions of every example, in the order of epoch ``epoch``."""
        rng = np.random.default_rng([seed, epoch])
        n = len(self)
        if self.mode == "window":
            starts = np.arange(n)
        else:
            offset = int(rng.integers(self.seq_len)) if shuffle else 0
            starts = offset + self.seq_len * np.arange(n)
        return rng.permutation(starts) if shuffle else starts

    def batch(self, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inputs (B, L[, F]) and targets: (B, L[, F]) in sequence mode, (B, 1[, F]) in window mode."""
        rows = self.stream[starts[:, None] + np.arange(self.seq_len + 1)]  # (B, L + 1[, F])
        x, y = rows[:, :-1], rows[:, 1:]
        return x, (y[:, -1:] if self.mode == "window" else y)

    def n_batches(self, batch_size: int, limit: int | None = None) -> int:
        """Training batches per epoch (full global batches, at most ``limit``)."""
        n = len(self) // batch_size
        return n if limit is None else min(n, limit)

    def batches(
        self,
        epoch: int,
        seed: int,
        batch_size: int,
        *,
        rank: int = 0,
        world: int = 1,
        limit: int | None = None,
        shuffle: bool = True,
    ) -> list[np.ndarray]:
        """This process's share of every global batch of the epoch (the last partial one dropped
        when training, kept when evaluating)."""
        starts = self.starts(epoch, seed, shuffle)
        n = self.n_batches(batch_size, limit) if shuffle else -(-len(starts) // batch_size)
        out = []
        for b in range(n):
            chunk = starts[b * batch_size : (b + 1) * batch_size]
            out.append(np.array_split(chunk, world)[rank])
        return out


def tail_chunk(stream: np.ndarray, seq_len: int) -> np.ndarray | None:
    """The stream's last tokens that the non-overlapping chunks from offset 0 leave out, as one
    shorter sequence (inputs and targets together), so evaluation scores every token."""
    covered = ((len(stream) - seq_len) // seq_len) * seq_len
    rest = stream[covered:]
    return rest if len(rest) >= 2 else None
