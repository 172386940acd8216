"""The two classifiers of :mod:`tunelab.metrics.discriminator`, cross-validated: a logistic
regression over whole-melody features and a bidirectional GRU over the notes."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tunelab.score import Score

from .discriminator import DURATIONS, FOLDS, Verdict, feature_names, features, wilson

TELLS = 6  # what each verdict names of what gives a set away


def _verdict(name: str, correct: np.ndarray, fold: np.ndarray, n: int, tells: list[str]) -> Verdict:
    low, high = wilson(int(correct.sum()), len(correct))
    per_fold = [float(correct[fold == k].mean()) for k in range(FOLDS)]
    return Verdict(name, float(correct.mean()), low, high, n, per_fold, tells)


def _logistic(x: torch.Tensor, y: torch.Tensor, l2: float, steps: int = 200) -> torch.Tensor:
    w = torch.zeros(x.shape[1] + 1, requires_grad=True)
    xb = torch.cat([x, torch.ones(len(x), 1)], 1)
    opt = torch.optim.LBFGS([w], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(xb @ w, y) + l2 * (w[:-1] ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach()


def feature_test(
    a: list[Score], b: list[Score], fold: np.ndarray, l2: float = 1e-3
) -> tuple[Verdict, np.ndarray]:
    """Logistic regression, features standardised on each training fold; its tells: the largest
    weights of a fit on all melodies (positive: more of it in set ``a``). With the verdict, each
    melody's held-out logit (positive: set ``a``)."""
    x = np.stack([features(s) for s in a + b])
    y = np.r_[np.ones(len(a)), np.zeros(len(b))]
    correct, logit = np.zeros(len(y), dtype=bool), np.zeros(len(y))
    for k in range(FOLDS):
        tr, te = fold != k, fold == k
        mu, sd = x[tr].mean(0), x[tr].std(0) + 1e-6
        w = _logistic(
            torch.tensor((x[tr] - mu) / sd, dtype=torch.float32), torch.tensor(y[tr], dtype=torch.float32), l2
        )
        logit[te] = (torch.tensor((x[te] - mu) / sd, dtype=torch.float32) @ w[:-1] + w[-1]).numpy()
        correct[te] = (logit[te] > 0) == (y[te] == 1)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    w = _logistic(torch.tensor((x - mu) / sd, dtype=torch.float32), torch.tensor(y, dtype=torch.float32), l2)[
        :-1
    ]
    names = feature_names()
    order = np.argsort(-np.abs(w.numpy()))[:TELLS]
    tells = [f"{'more' if w[i] > 0 else 'less'} {names[i]} ({float(x[y == 1, i].mean()):.3g} vs {float(x[y == 0, i].mean()):.3g})"
             for i in order]  # fmt: skip
    return _verdict("features", correct, fold, len(a), tells), logit


# ---- the sequence model -----------------------------------------------------------------------
MAX_NOTES = 256


def note_rows(score: Score) -> np.ndarray:
    """Per note: pitch (0-127), interval bin (1-25; 0 for the first note), duration bin (0-7),
    place in its bar in 16ths (0-47)."""
    p = score.pitch.astype(int)[:MAX_NOTES]
    onset = score.onset[: len(p)]
    d = score.duration[: len(p)] / score.tpq
    interval = np.r_[0, np.clip(np.diff(p), -12, 12) + 13]
    dur = np.abs(d[:, None] - DURATIONS[None]).argmin(1)
    starts = score.bar_starts()
    bar = starts[np.maximum(np.searchsorted(starts, onset, side="right") - 1, 0)]
    place = np.clip(np.round((onset - bar) * 4 / score.tpq), 0, 47).astype(int)
    return np.stack([p, interval, dur, place], 1)


class NoteGRU(nn.Module):
    """Two GRUs over the notes, one forwards and one backwards, on padded batches.

    Not ``nn.GRU(bidirectional=True)`` over a packed batch: its CPU backward pass fills a zero
    gradient the size of the whole batch at every time step (quadratic in the length: a third of
    the profiled training time at 48 notes a melody; a fold's fit went from 14.5 s to 9.5 s on two
    threads without it). The backward GRU reads each melody reversed within its
    own length, so padding only ever follows the notes and is masked out."""

    def __init__(self, width: int = 48):
        super().__init__()
        self.embed = nn.ModuleList(nn.Embedding(n, 16) for n in (128, 26, len(DURATIONS), 48))
        self.forwards = nn.GRU(64, width, batch_first=True)
        self.backwards = nn.GRU(64, width, batch_first=True)
        self.out = nn.Linear(4 * width, 1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h = torch.cat([e(x[..., i]) for i, e in enumerate(self.embed)], -1)
        steps = torch.arange(x.shape[1])[None]
        mask = (steps < lengths[:, None])[..., None]
        # position t of a melody of n notes is position n - 1 - t of it reversed (and back)
        mirror = (lengths[:, None] - 1 - steps).clamp(min=0)[..., None]
        ahead, _ = self.forwards(h)
        back, _ = self.backwards(h.gather(1, mirror.expand(-1, -1, h.shape[-1])))
        back = back.gather(1, mirror.expand(-1, -1, back.shape[-1]))
        y = torch.cat([ahead, back], -1)
        mean = (y * mask).sum(1) / lengths[:, None]
        peak = y.masked_fill(~mask, -1e9).max(1).values
        return self.out(torch.cat([mean, peak], -1))[:, 0]


def _batch(rows: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(r) for r in rows])
    x = torch.zeros(len(rows), int(lengths.max()), 4, dtype=torch.long)
    for i, r in enumerate(rows):
        x[i, : len(r)] = torch.as_tensor(r)
    return x, lengths


def _fit(rows: list[np.ndarray], y: np.ndarray, seed: int, epochs: int = 10) -> NoteGRU:
    torch.manual_seed(seed)
    model = NoteGRU()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    rng = np.random.default_rng(seed)
    target = torch.tensor(y, dtype=torch.float32)
    sizes = np.array([len(r) for r in rows])
    for _ in range(epochs):
        for idx in _buckets(sizes, rng, batch=64):
            x, lengths = _batch([rows[i] for i in idx])
            loss = nn.functional.binary_cross_entropy_with_logits(model(x, lengths), target[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def _buckets(sizes: np.ndarray, rng, batch: int = 32, pool: int = 8) -> list[np.ndarray]:
    """One epoch's batches: shuffled, then sorted by length within pools of ``pool`` batches, so
    a batch pads to a length near its melodies' own (folk songs run from 20 notes to 1,000; a
    random batch pads every melody to its longest), the batches in random order."""
    order = rng.permutation(len(sizes))
    out = []
    for at in range(0, len(order), batch * pool):
        chunk = order[at : at + batch * pool]
        chunk = chunk[np.argsort(sizes[chunk], kind="stable")]
        out += np.array_split(chunk, max(1, round(len(chunk) / batch)))
    return [out[i] for i in rng.permutation(len(out))]


@torch.inference_mode()
def _logits(model: NoteGRU, rows: list[np.ndarray]) -> np.ndarray:
    out = []
    for i in range(0, len(rows), 256):
        out.append(model(*_batch(rows[i : i + 256])).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def sequence_test(
    a: list[Score], b: list[Score], fold: np.ndarray, seed: int = 0
) -> tuple[Verdict, np.ndarray]:
    """The GRU, one per fold; its tells: the held-out melodies of set ``a`` it was surest of,
    each with the bar whose removal lowers that certainty most. With the verdict, each melody's
    held-out logit."""
    rows = [note_rows(s) for s in a + b]
    y = np.r_[np.ones(len(a)), np.zeros(len(b))]
    correct, logit, models = np.zeros(len(y), dtype=bool), np.zeros(len(y)), {}
    for k in range(FOLDS):
        tr, te = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        models[k] = _fit([rows[i] for i in tr], y[tr], seed + k)
        logit[te] = _logits(models[k], [rows[i] for i in te])
        correct[te] = (logit[te] > 0) == (y[te] == 1)
    tells = []
    for i in np.argsort(-logit[: len(a)])[: TELLS // 2]:
        bar, drop = _telling_bar(models[int(fold[i])], a[i], rows[i], logit[i])
        ident = a[i].meta.get("id", f"#{i}")
        tells.append(
            f"{ident}: P(generated) {1 / (1 + np.exp(-logit[i])):.3f}; bar {bar} most ({drop:+.2f} logit without it)"
        )
    return _verdict("sequence", correct, fold, len(a), tells), logit


def both_test(features: np.ndarray, sequence: np.ndarray, fold: np.ndarray, n: int) -> Verdict:
    """The two classifiers as one: each melody's two held-out probabilities averaged (every
    melody is still judged only by models that never saw it). Sharper than either where they
    see different things: the regression a whole melody's proportions, the GRU its order."""
    y = np.r_[np.ones(n), np.zeros(n)]
    p = (1 / (1 + np.exp(-features)) + 1 / (1 + np.exp(-sequence))) / 2
    correct = (p > 0.5) == (y == 1)
    agree = float(np.mean((features > 0) == (sequence > 0)))
    return _verdict("both", correct, fold, n, [f"the two classifiers agree on {agree:.0%} of melodies"])


def _telling_bar(model: NoteGRU, score: Score, rows: np.ndarray, base: float) -> tuple[int, float]:
    """The bar (1 = the first) whose notes, left out, lower the verdict most, and by how much."""
    starts = score.bar_starts()
    which = np.searchsorted(starts, score.onset[: len(rows)], side="right")
    bars = [b for b in np.unique(which) if (which != b).sum() >= 2]
    if not bars:
        return 1, 0.0
    without = _logits(model, [rows[which != b] for b in bars])
    j = int(np.argmin(without))
    return int(bars[j]), float(without[j] - base)
