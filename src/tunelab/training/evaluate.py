"""A model's loss and accuracy on batches and on whole streams.

- ``nll_per_token``: mean negative log-likelihood (nats) of the targets the loss counts: every
  non-padding token; for compound encodings every field that is not ``ignore`` (CONTI counts, a
  generator has to produce it), the first field predicted first and the others given its true
  value (teacher forcing, as in training). ``perplexity`` = exp(nll_per_token).
- ``masked_accuracy``: argmax accuracy over the targets that mean something: never padding, and
  for compound encodings never ignore or CONTI fields (the tokenizer's ``accuracy_mask``).
- ``study_accuracy``: the study's protocol (reference/study-setup.md). Every 64-token window
  of the stream (each song followed by 64 ``/``), stride 1, predicts the token after it, and
  every target counts, ``/`` included. Comparable with the study's reported test accuracies;
  ``study_nll`` is the same windows' mean NLL in nats, comparable with the study's test loss
  (0.4613 for its LSTM).
Shapes: B batch, T time, F fields, V vocabulary.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch

from tunelab.models.base import STUDY_WINDOW
from tunelab.training.data import Examples, tail_chunk
from tunelab.training.losses import token_nll


@dataclass
class Tally:
    """Running sums of a split: loss, counted targets, correct and counted accuracy targets."""

    loss: float = 0.0
    count: int = 0
    correct: int = 0
    counted: int = 0

    def add(self, loss_sum, count, correct, counted) -> None:
        self.loss += float(loss_sum)
        self.count += int(count)
        self.correct += int(correct)
        self.counted += int(counted)

    def summary(self) -> dict:
        nll = self.loss / max(self.count, 1)
        return {
            "nll_per_token": nll,
            "perplexity": math.exp(min(nll, 700.0)),
            "masked_accuracy": self.correct / max(self.counted, 1),
            "targets": self.count,
        }


def batch_stats(
    model, x, y, acc_mask, *, compound: bool, first_field: int = 0, gamma=0.0, alpha=1.0, skip: int = 0
):
    """Forward one batch; (loss sum with gradient, counted targets, correct, accuracy targets).

    x (B, T[, F]) inputs; y (B, T'[, F]) targets for the last T' positions (T' = T in sequence
    mode, 1 in window mode); acc_mask like y. The first ``skip`` positions count nowhere.
    """
    if skip:
        y = y.clone()
        y[:, :skip] = 0  # padding: neither loss nor accuracy
        acc_mask = acc_mask.clone()
        acc_mask[:, :skip] = False
    if not compound:
        logits, _ = model(x)
        logits = logits[:, -y.shape[1] :]  # (B, T', V)
        keep = y != 0
        loss = (token_nll(logits, y, gamma=gamma, alpha=alpha) * keep).sum()
        correct = ((logits.argmax(dim=-1) == y) & acc_mask).sum()
        return loss, keep.sum(), correct, acc_mask.sum()
    fields, _ = model(x, first=y[..., first_field])
    loss, preds = 0.0, []
    for f, logits in enumerate(fields):
        logits = logits[:, -y.shape[1] :]
        loss = loss + (token_nll(logits, y[..., f], gamma=gamma, alpha=alpha) * (y[..., f] != 0)).sum()
        preds.append(logits.argmax(dim=-1))
    correct = ((torch.stack(preds, dim=-1) == y) & acc_mask).sum()
    return loss, (y != 0).sum(), correct, acc_mask.sum()


def to_device(arrays, device):
    return [torch.as_tensor(np.ascontiguousarray(a)).to(device, non_blocking=True) for a in arrays]


@torch.inference_mode()
def evaluate(
    model,
    examples: Examples,
    tokenizer,
    *,
    batch_size: int = 256,
    device="cpu",
    first_field: int = 0,
    autocast=None,
    starts: np.ndarray | None = None,
) -> dict:
    """Loss, perplexity and masked accuracy over every target of ``examples``' stream once
    (sequence mode: chunks from offset 0 plus the tail; window mode: every window), or over the
    examples at ``starts`` only. ``autocast``: as for :func:`study_windows`."""
    was_training = model.training
    model.eval()
    tally = Tally()
    compound = tokenizer.is_compound
    if starts is not None:
        batches = [examples.batch(starts[i : i + batch_size]) for i in range(0, len(starts), batch_size)]
    else:
        batches = [examples.batch(s) for s in examples.batches(0, 0, batch_size, shuffle=False)]
        rest = tail_chunk(examples.stream, examples.seq_len) if examples.mode == "sequence" else None
        if rest is not None:
            batches.append((rest[None, :-1], rest[None, 1:]))
    for x, y in batches:
        with autocast() if autocast else nullcontext():
            stats = batch_stats(
                model,
                *to_device([x, y, tokenizer.accuracy_mask(y)], device),
                compound=compound,
                first_field=first_field,
            )
        tally.add(*stats)
    model.train(was_training)
    return tally.summary()


@torch.inference_mode()
def study_windows(
    model,
    stream: np.ndarray,
    *,
    window: int = STUDY_WINDOW,
    batch_size: int = 512,
    device="cpu",
    index=None,
    autocast=None,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The study's protocol for every ``window``-token window of a flat stream: whether the argmax
    prediction is right, and the negative log-likelihood (nats) of the true next token.
    (hits, nll)[j] are about the target at stream[j + window]; with ``index`` (window numbers),
    only those windows: [i] is about stream[index[i] + window]. ``autocast``: a context manager
    factory to run the forward passes in (bf16 on a CPU that has it); None: float32."""
    if stream.ndim != 1:
        raise ValueError("the study's accuracy is defined for flat (grid) token streams")
    was_training = model.training
    model.eval()
    s = torch.as_tensor(stream).to(device)
    windows = s.unfold(0, window + 1, 1)  # (N, window + 1), a view
    if index is not None:
        windows = windows[torch.as_tensor(index, device=windows.device)]
    hits, nll = [], []
    from tqdm import tqdm

    for i in tqdm(range(0, len(windows), batch_size), desc="study windows", unit="batch", delay=1,
                  disable=not progress):  # fmt: skip
        w = windows[i : i + batch_size]
        with autocast() if autocast else nullcontext():
            logits, _ = model(w[:, :-1])
        last = logits[:, -1].float()  # (B, V)
        hits.append((last.argmax(dim=-1) == w[:, -1]).cpu())
        nll.append(-last.log_softmax(dim=-1).gather(-1, w[:, -1:]).squeeze(-1).cpu())
    model.train(was_training)
    return torch.cat(hits).numpy(), torch.cat(nll).double().numpy()


def study_hits(model, stream: np.ndarray, **kwargs) -> np.ndarray:
    """Whether the argmax prediction is right for every window (see :func:`study_windows`)."""
    return study_windows(model, stream, **kwargs)[0]


def subsample(n: int, k: int, seed: int = 0) -> np.ndarray | None:
    """One window in ``k`` of ``n``, drawn at random (seeded), in order; None for all. Not
    every k-th: grid streams repeat with the bar (16 steps in 4/4), so a stride of 16 would
    score one metrical position only (it read 0.851 where the whole protocol reads 0.840)."""
    if k <= 1:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=-(-n // k), replace=False))


def study_metrics(model, stream: np.ndarray, subsample_k: int = 1, seed: int = 0, **kwargs) -> dict:
    """The study's window accuracy and NLL (nats per target) of a flat stream, over every window
    or (``subsample_k`` > 1) one in k drawn at random with ``seed``."""
    index = subsample(len(stream) - kwargs.get("window", STUDY_WINDOW), subsample_k, seed)
    hits, nll = study_windows(model, stream, index=index, **kwargs)
    return {"study_accuracy": float(hits.mean()), "study_nll": float(nll.mean()), "study_windows": len(hits)}


def study_accuracy(model, stream: np.ndarray, **kwargs) -> float:
    """Next-token accuracy over every 64-token window of a flat stream (the study's)."""
    return float(study_hits(model, stream, **kwargs).mean())
