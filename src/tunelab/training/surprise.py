"""Information content: how surprised a model is by each token of real songs, in bits per note.

The information content of an event is ``-log2 P(event | what came before)`` (IDyOM's measure;
Pearce 2005). A note is one target or several (grid: its pitch token and the holds after it;
REMI: position, pitch, velocity, duration; CP and NB: the fields of a word), so a song's
information content is the sum over its targets, the song's end included, and **bits per note**
= a set's total bits / its notes: comparable across encodings and with IDyOM's per-note figures.

Pitch and the rest, by the chain rule. In a flat encoding, a target that names a pitch costs
``-log P(some pitch here) - log P(this pitch | some pitch here)``: the first term is when (a note
starts here), the second is **pitch**; every other target (holds, rests, positions, bars,
durations, velocities, the song's end) is when too. In a compound encoding the pitch field is
pitch and the other fields are the rest. Pitch + rhythm = the total, exactly; "rhythm" here is
everything that is not pitch.

Context: each song is preceded by the run's gap of separators, as in training. A target sees at
least half the run's ``seq_len`` tokens before it (windows of ``seq_len``, stride ``seq_len / 2``,
the second half of each counted, the first window whole); a window-mode run (trained on a
window's last position only) slides one token at a time and counts the last.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch

LN2 = math.log(2.0)


@dataclass
class Surprise:
    """One song's information content, per target (the song's tokens, then its end), in bits."""

    tokens: np.ndarray  # (T,) or (T, F): the targets
    bits: np.ndarray  # (T,): each target's information content
    pitch_bits: np.ndarray  # (T,): its pitch part (0 where the target names no pitch)
    notes: int

    @property
    def total(self) -> float:
        return float(self.bits.sum())


def stream_of(seqs: list[np.ndarray], sep: int | None, gap: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The scoring stream (``gap`` separators, then each song and ``gap`` separators; without a
    separator the songs, which carry their own start and end, one after the other: the first
    song's first token is then no target) and each song's targets as ``[a, b)``."""
    lead = max(gap, 1) if sep is not None else 0
    if not seqs:
        raise ValueError("no songs to score")
    parts = [np.full((lead, *seqs[0].shape[1:]), sep if sep is not None else 0, dtype=seqs[0].dtype)]
    spans, at = [], lead
    for s in seqs:
        end = len(s)
        if sep is not None:
            while end and s[end - 1] == sep:
                end -= 1
            parts += [s[:end], np.full(max(gap, 1), sep, dtype=s.dtype)]
            spans.append((at, at + end + 1))  # the first separator after the song is its end
            at += end + max(gap, 1)
        else:
            parts.append(s)
            spans.append((max(at, 1), at + end))  # the stream's first token has no prediction
            at += end
    return np.concatenate(parts), spans


def windows(n: int, length: int, keep: int) -> list[tuple[int, int]]:
    """``(start, first counted target)`` of each window over a stream of ``n`` tokens: window
    ``s`` reads ``stream[s : s + length]`` and predicts ``stream[s + 1 : s + length + 1]``; it
    counts its targets from the first one no earlier window counted. Every target 1 .. n - 1
    is counted once, and each (but the first window's) sees ``length - keep`` tokens or more."""
    length = min(length, n - 1)
    starts = list(range(0, n - length, keep))
    if starts[-1] + length < n - 1:
        starts.append(n - 1 - length)
    out, covered = [], 0
    for s in starts:
        out.append((s, covered + 1))
        covered = s + length
    return out


def target_bits(model, stream: np.ndarray, tokenizer, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """``(bits, pitch_bits)`` of every token of ``stream`` given the tokens before it ([0] is NaN:
    nothing predicts it); ``kwargs`` as for :func:`target_measures`."""
    bits, pitch = target_measures(model, stream, tokenizer, _nll, **kwargs)
    return bits / LN2, np.nan_to_num(pitch) / LN2  # the first token's pitch part: 0


@torch.inference_mode()
def target_measures(
    model,
    stream: np.ndarray,
    tokenizer,
    measure,
    *,
    seq_len: int,
    window_mode: bool = False,
    batch_size: int = 256,
    device="cpu",
    autocast=None,
    progress: bool = False,
) -> list[np.ndarray]:
    """What ``measure(model, tokenizer, x, y, pitch_ids)`` says of every token of ``stream`` given
    the tokens before it: ``measure`` returns tensors of shape ``(B, L, ...)``, one per measure;
    each comes back as an array of the stream's length (row 0 NaN: nothing predicts it)."""
    was_training = model.training
    model.eval()
    n = len(stream)
    length = min(seq_len, n - 1)
    plan = windows(n, length, 1 if window_mode else max(length // 2, 1))
    out: list[np.ndarray] | None = None
    pitch_ids = torch.as_tensor(tokenizer.pitch_ids(), device=device)
    s = torch.as_tensor(stream).to(device)
    offsets = torch.arange(length + 1, device=device)
    from tqdm import tqdm

    for i in tqdm(range(0, len(plan), batch_size), desc="bits per note", unit="batch", delay=1,
                  disable=not progress):  # fmt: skip
        starts = torch.as_tensor([p[0] for p in plan[i : i + batch_size]], device=device)
        lo = torch.as_tensor([p[1] for p in plan[i : i + batch_size]], device=device)
        rows = s[starts[:, None] + offsets]  # (B, L + 1[, F])
        x, y = rows[:, :-1], rows[:, 1:]
        with autocast() if autocast else nullcontext():
            found = measure(model, tokenizer, x, y, pitch_ids)
        target = starts[:, None] + 1 + offsets[:-1]  # (B, L): stream index of each target
        counted = target >= lo[:, None]
        where = target[counted].cpu().numpy()
        if out is None:
            out = [np.full((n, *m.shape[2:]), np.nan) for m in found]
        for array, m in zip(out, found):
            array[where] = m[counted].double().cpu().numpy()
    model.train(was_training)
    return out


def _nll(model, tokenizer, x, y, pitch_ids) -> tuple[torch.Tensor, torch.Tensor]:
    """Nats per target (B, L) and their pitch part."""
    if not tokenizer.is_compound:
        logp = model(x)[0].float().log_softmax(dim=-1)  # (B, L, V)
        nll = -logp.gather(-1, y[..., None]).squeeze(-1)
        if not len(pitch_ids):
            return nll, torch.zeros_like(nll)
        some_pitch = logp[..., pitch_ids].logsumexp(dim=-1)  # log P(a pitch token here)
        return nll, torch.where(torch.isin(y, pitch_ids), nll + some_pitch, 0.0)
    fields, _ = model(x, first=y[..., model.first_field])
    nll = torch.zeros(y.shape[:2], device=y.device)
    pitch = torch.zeros_like(nll)
    for f, logits in enumerate(fields):
        counted = y[..., f] != 0  # ignore: no target in this field
        part = -logits.float().log_softmax(dim=-1).gather(-1, y[..., f, None]).squeeze(-1) * counted
        nll += part
        if f == tokenizer.pitch_field:
            pitch = part
    return nll, pitch


def surprise(
    model, tokenizer, seqs: list[np.ndarray], notes: list[int], *, gap: int, **kwargs
) -> list[Surprise]:
    """Each song's :class:`Surprise` (``notes``: each song's notes; ``kwargs``: as for
    :func:`target_bits`)."""
    stream, spans = stream_of(seqs, tokenizer.separator_id, gap)
    bits, pitch = target_bits(model, stream, tokenizer, **kwargs)
    return [Surprise(stream[a:b], bits[a:b], pitch[a:b], k) for (a, b), k in zip(spans, notes)]


def bits_per_note(songs: list[Surprise]) -> dict[str, float]:
    """A set's bits per note: total, pitch, and the rest (rhythm), each = total bits / notes."""
    notes = max(sum(s.notes for s in songs), 1)
    total = sum(s.total for s in songs)
    pitch = sum(float(s.pitch_bits.sum()) for s in songs)
    return {
        "bits_per_note": total / notes,
        "pitch_bits_per_note": pitch / notes,
        "rhythm_bits_per_note": (total - pitch) / notes,
    }
