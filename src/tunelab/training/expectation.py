"""Per-note expectation, as IDyOM reports it: each note's information content and entropy, for its
pitch and for the rest (when it starts, how long it lasts), and the pitches the model expected.

IDyOM (Pearce 2005) writes one row per note: information content ``-log2 P(event | context)``
and entropy ``H = -sum p log2 p`` of the distribution it predicted, per viewpoint. tunelab's
models predict tokens, so a note's row gathers its targets (tunelab.training.surprise splits
them by the chain rule):

- **pitch**: the target that names the note's pitch, its pitch part: ``-log2 P(this pitch |
  a pitch here)`` (compound encodings: the pitch field's, given the word's first field); the
  entropy of that distribution; the most expected pitches with their probabilities.
- **rest**: every other target from the one after the previous note's pitch up to this note's
  ("when": holds, rests, positions, bars, durations, and the "a pitch here" part of the pitch
  target); its entropy is the sum of those targets' entropies along the song (the entropy of the
  pitch target's "a pitch here or something else" choice counted for it).

The targets after the last note (the song's end) make a last row with no pitch, so a song's rows
add up to its information content exactly (:func:`tunelab.training.surprise.surprise`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

from .surprise import LN2, stream_of, target_measures

TOP = 3  # the most expected pitches written per note


@dataclass
class NoteRow:
    song: str
    index: int  # the note's place in the song (the end row: the number of notes)
    onset: float | None  # in quarter notes from the song's start (None: the end row)
    pitch: int | None  # MIDI (None: the end row)
    pitch_ic: float
    pitch_entropy: float
    rest_ic: float
    rest_entropy: float
    expected: list[tuple[int, float]]  # (MIDI pitch, probability), most expected first


def _entropy(logp: torch.Tensor) -> torch.Tensor:
    return -(logp.exp() * logp).sum(-1)


def _measure(model, tokenizer, x, y, pitch_ids):
    """Nats per target and its pitch part, the entropies of the pitch and of the rest, the top
    pitches' indices (into ``pitch_values``) and their probabilities; and whether the target
    names a pitch."""
    k = TOP
    if not tokenizer.is_compound:
        logp = model(x)[0].float().log_softmax(dim=-1)  # (B, L, V)
        nll = -logp.gather(-1, y[..., None]).squeeze(-1)
        lp = logp[..., pitch_ids]  # (B, L, P)
        some = lp.logsumexp(-1)  # log P(a pitch here)
        cond = lp - some[..., None]  # log P(pitch | a pitch here)
        is_pitch = torch.isin(y, pitch_ids)
        pitch_nll = torch.where(is_pitch, nll + some, 0.0)
        others = logp.masked_fill(
            torch.isin(torch.arange(logp.shape[-1], device=y.device), pitch_ids), -torch.inf
        )
        when = torch.cat([others, some[..., None]], dim=-1)  # the choice: this other token, or a pitch
        rest_h = torch.where(is_pitch, _entropy(when.clamp_min(-1e30)), _entropy(logp))
    else:
        fields, _ = model(x, first=y[..., model.first_field])
        f_pitch = tokenizer.pitch_field
        nll = torch.zeros(y.shape[:2], device=y.device)
        rest_h = torch.zeros_like(nll)
        for f, logits in enumerate(fields):
            counted = y[..., f] != 0  # ignore: no target in this field
            lpf = logits.float().log_softmax(dim=-1)
            part = -lpf.gather(-1, y[..., f, None]).squeeze(-1) * counted
            nll += part
            if f == f_pitch:  # the pitch field's whole distribution, as tunelab score counts it
                pitch_nll, pitch_h, cond = part, _entropy(lpf), lpf[..., 2:130]  # after <ignore>, <conti>
            else:
                rest_h += _entropy(lpf) * counted
        is_pitch = (y[..., f_pitch] >= 2) & (y[..., f_pitch] < 130)
        pitch_nll = pitch_nll * is_pitch
    if not tokenizer.is_compound:
        pitch_h = _entropy(cond)
    top_lp, top_i = cond.topk(min(k, cond.shape[-1]), dim=-1)
    return nll, pitch_nll, pitch_h, rest_h, top_i.double(), top_lp.exp(), is_pitch.double()


def _pitch_values(tokenizer) -> np.ndarray:
    """The MIDI pitch of each index of the conditional pitch distribution."""
    if tokenizer.is_compound:
        return np.arange(128)
    names = [tokenizer.vocab[int(i)] for i in tokenizer.pitch_ids()]
    return np.array([int(re.search(r"(\d+)$", n)[1]) for n in names])


def note_rows(model, tokenizer, songs, seqs: list[np.ndarray], *, gap: int, **kwargs) -> list[list[NoteRow]]:
    """Each song's :class:`NoteRow` list (``songs``: the Scores ``seqs`` encode; ``kwargs``: as
    for :func:`tunelab.training.surprise.target_measures`)."""
    if (not tokenizer.is_compound and not len(tokenizer.pitch_ids())) or (
        tokenizer.is_compound and tokenizer.pitch_field is None
    ):
        raise ValueError(f"the {tokenizer.name} encoding does not name pitches apart: no per-note pitch")
    stream, spans = stream_of(seqs, tokenizer.separator_id, gap)
    nll, pitch_nll, pitch_h, rest_h, top_i, top_p, is_pitch = target_measures(
        model, stream, tokenizer, _measure, **kwargs
    )
    values = _pitch_values(tokenizer)
    out = []
    for song, (a, b) in zip(songs, spans):
        onsets = song.onset / song.tpq  # sorted by onset, then pitch, as encodings read them
        rows, rest_ic, rest_ent = [], 0.0, 0.0
        for t in range(a, b):
            rest_ic += (nll[t] - pitch_nll[t]) / LN2
            rest_ent += rest_h[t] / LN2
            if is_pitch[t] == 1:
                i = len(rows)
                expected = [(int(values[int(j)]), float(p)) for j, p in zip(top_i[t], top_p[t])]
                rows.append(NoteRow(song.meta.get("id", ""), i, onsets[i] if i < len(onsets) else None,
                                    named_pitch(tokenizer, stream[t], values), pitch_nll[t] / LN2,
                                    pitch_h[t] / LN2, rest_ic, rest_ent, expected))  # fmt: skip
                rest_ic, rest_ent = 0.0, 0.0
        rows.append(NoteRow(song.meta.get("id", ""), len(rows), None, None, 0.0, 0.0, rest_ic, rest_ent, []))
        out.append(rows)
    return out


def named_pitch(tokenizer, token, values: np.ndarray) -> int:
    """The MIDI pitch a pitch target names."""
    if tokenizer.is_compound:
        return int(token[tokenizer.pitch_field]) - 2
    return int(values[int(np.flatnonzero(tokenizer.pitch_ids() == int(token))[0])])
