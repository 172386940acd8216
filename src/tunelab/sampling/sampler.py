"""The batched sampler: many prompts continued at once, for every model family and encoding.

Each row of the batch is one melody: a context (song-boundary tokens the model expects before a
song, not part of the melody), then the prompt, then what is sampled. Rows whose prompts are
longer keep reading their prompt while the others already sample (their draws are replaced by
the prompt's next token), so every row sits at the same position and one call advances all.
At each sampled step the tokenizer's grammar masks the ids that cannot come next (on by
default; with ``grammar=False`` the raw draws are kept and counted as syntax errors where the
grammar rejects them). Rows stop at the end of a song, after ``bars`` new bars, or after
``max_steps`` tokens (unset: :data:`FALLBACK_STEPS`; :func:`tunelab.sampling.generate` sets
it to the run's longest training song, beyond which a melody has run away); finished rows
leave the batch once an eighth of it has finished.
Compound encodings sample one field at a time: the model's first field (family / bar state, or
pitch) first, then the others given it, each under its own :class:`Filters`.
Shapes: B batch, T time, F fields, V vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from tunelab.sampling.filters import Filters, draw
from tunelab.sampling.steppers import stepper
from tunelab.settings import setting
from tunelab.tokenizers import PAD

FALLBACK_STEPS = 512  # the step cap when neither the settings nor the run give one


@dataclass
class Settings:
    """What to sample and when to stop (see :func:`sample`)."""

    filters: Filters = field(default_factory=Filters)
    fields: dict = field(default_factory=dict)  # compound: field name -> Filters
    grammar: bool = setting(
        True, "mask every step to the encoding's grammar (off: raw output, errors counted)"
    )
    max_steps: int | None = setting(
        None,
        "most tokens sampled per melody (default: the run's longest training song in tokens; the study's "
        "protocol: 1,500)",
    )
    min_steps: int = setting(0, "no end of song before this many sampled tokens (1 after an empty prompt)")
    min_bars: int = setting(0, "no end of song before this many new bars (encodings with bar tokens; grid: "
                            "min_steps)", cli=False)  # fmt: skip
    bars: int | None = setting(None, "stop after this many new bars (a cap that cuts a melody where it is; "
                               "a melody of N bars is a plan: tunelab generate --bars)", cli=False)  # fmt: skip
    bar_steps: int = setting(16, "grid: a bar's length in steps (from the meter)", cli=False)
    stop_at_end: bool = setting(True, "stop a melody at the end of its song", cli=False)
    seed: int = setting(0, "random seed: the same seed gives the same melodies")
    batch_size: int = setting(512, "melodies sampled together")
    window: bool | None = setting(
        None, "window models: recompute the window even with a carried form", cli=False
    )
    lookback: int | None = setting(None, "attention looks back at most this far (see steppers)", cli=False)
    plan: object = setting(None, "what the grammar keeps (tunelab.tokenizers.plan.Plan): meter, upbeat, bars; "
                           "or a list, one per prompt", cli=False)  # fmt: skip

    def for_field(self, name: str) -> Filters:
        return self.fields.get(name, self.filters)

    def to_dict(self) -> dict:
        """What a generation dir records: the filters, per-field filters and the stops."""
        return {
            **self.filters.to_dict(),
            "fields": {k: v.to_dict() for k, v in self.fields.items()},
            **{
                k: getattr(self, k) for k in ("grammar", "max_steps", "min_steps", "bars", "seed", "lookback")
            },
        }


@dataclass
class Sample:
    """One generated melody: ``ids`` holds the prompt then the sampled tokens (no context)."""

    ids: np.ndarray
    prompt_length: int
    stop: str  # "end", "bars", "max_steps" or "dead_end"
    syntax_errors: int

    @property
    def steps(self) -> int:
        return len(self.ids) - self.prompt_length


def sample(model, tokenizer, prompts, settings: Settings | None = None, context=None, progress=None):
    """Continue every prompt; a :class:`Sample` per prompt, in order.

    Args:
        model: any tunelab model, in eval mode.
        tokenizer: the model's tokenizer (its grammar, end and bar tokens).
        prompts: id arrays (``[T]`` or ``[T, F]``), possibly empty.
        settings: :class:`Settings`.
        context: ids put before every prompt (the song boundary the model saw in training),
            default one end-of-song token; or a list with one array per prompt.
        progress: called with the number of melodies finished so far.
    """
    s = settings or Settings()
    if s.max_steps is None:
        s = replace(s, max_steps=FALLBACK_STEPS)
    prompts = [np.asarray(p, dtype=np.int64) for p in prompts]
    if context is None or not isinstance(context, list):
        context = [boundary(tokenizer, 1) if context is None else np.asarray(context)] * len(prompts)
    plans = list(s.plan) if isinstance(s.plan, (list, tuple)) else [s.plan] * len(prompts)
    if len(plans) != len(prompts):
        raise ValueError(f"{len(plans)} plans for {len(prompts)} prompts")
    gen = torch.Generator().manual_seed(s.seed)
    out: list[Sample | None] = [None] * len(prompts)
    done = 0
    for lo in range(0, len(prompts), s.batch_size):
        rows = range(lo, min(lo + s.batch_size, len(prompts)))
        for i, result in _Batch(
            model,
            tokenizer,
            [context[i] for i in rows],
            [prompts[i] for i in rows],
            s,
            gen,
            [plans[i] for i in rows],
        ):
            out[lo + i] = result
            done += 1
            if progress:
                progress(done)
    return out


def boundary(tokenizer, n: int) -> np.ndarray:
    """``n`` end-of-song tokens (words): what precedes a song in a training stream."""
    if tokenizer.is_compound:
        word = np.zeros(len(tokenizer.fields), dtype=np.int64)
        word[0] = tokenizer.end_id
        return np.tile(word, (n, 1))
    return np.full(n, tokenizer.end_id, dtype=np.int64)


class _Batch:
    """One batch of rows decoded together; iterating yields ``(row, Sample)`` as rows finish."""

    def __init__(self, model, tokenizer, contexts, prompts, s: Settings, gen, plans):
        self.model, self.tok, self.s, self.gen = model, tokenizer, s, gen
        self.compound = tokenizer.is_compound
        self.F = len(tokenizer.fields) if self.compound else 0
        self.first = model.first_field
        self.inputs = [np.concatenate([c, p]) if len(p) else c for c, p in zip(contexts, prompts)]
        self.starts = [len(c) for c in contexts]  # where each melody begins in its row
        self.grammars = [tokenizer.grammar(plan) for plan in plans]
        self.errors = [0] * len(prompts)
        self.min_steps = np.array([max(s.min_steps, 0 if len(p) else 1) for p in prompts])
        for g, p in zip(self.grammars, prompts):
            for t in tokenizer._iter(p):
                g.feed(t)
        sep = PAD if tokenizer.separator_id is None else tokenizer.separator_id
        self.stepper = stepper(model, window=s.window, lookback=s.lookback, pad_id=sep)

    def __iter__(self):
        s, n = self.s, len(self.inputs)
        length = np.array([len(x) for x in self.inputs])  # rows read their prompt up to here
        seq = torch.zeros(
            (n, length.max() + s.max_steps, *((self.F,) if self.compound else ())), dtype=torch.long
        )
        for i, x in enumerate(self.inputs):
            seq[i, : len(x)] = torch.from_numpy(x)
        rows = np.arange(n)  # the row of each batch position
        alive = np.ones(n, dtype=bool)
        sampled, bars = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        pos = int(length.min())
        with torch.inference_mode():
            hidden = self._start(seq, pos)
            while True:
                choose = alive & (pos >= length[rows])
                # tokens the end of song must wait for: min_steps, and at least one for an empty prompt
                wait = np.maximum(self.min_steps[rows] - sampled[rows], s.min_bars - bars[rows])
                token = self._choose(hidden, rows, wait, choose)
                stops, kept = [], []
                for b in np.flatnonzero(choose):
                    r = rows[b]
                    stop, keep = self._stop(r, token[b], sampled[r], bars[r])
                    if keep:
                        kept.append(b)
                    if stop:
                        stops.append((b, stop))
                if kept:
                    kept = np.array(kept)
                    seq[torch.from_numpy(rows[kept]), pos] = torch.from_numpy(token[kept])
                    sampled[rows[kept]] += 1
                    bars[rows[kept]] += self.tok.opens_bar(token[kept])
                for b, stop in stops:
                    r = rows[b]
                    alive[b] = False
                    ids = seq[r, self.starts[r] : length[r] + sampled[r]].numpy().copy()
                    yield int(r), Sample(ids, int(length[r] - self.starts[r]), stop, self.errors[r])
                if not alive.any():
                    return
                pos += 1
                if (~alive).sum() >= max(1, len(rows) // 8):  # finished rows leave the batch
                    keep_idx = np.flatnonzero(alive)
                    self.stepper.keep(torch.from_numpy(keep_idx))
                    rows, alive = rows[keep_idx], alive[keep_idx]
                idx = torch.from_numpy(rows)
                hidden = self.stepper.step(seq[idx, pos - 1 : pos], seq[idx, :pos])

    def _start(self, seq: torch.Tensor, pos: int) -> torch.Tensor:
        """The model's output after the first ``pos`` steps of every row. The prefix that all
        rows share (the context, and a primer given to every row) is read once, at batch size
        1, and its state copied to every row; the rest is read for the whole batch."""
        n = seq.shape[0]
        same = (seq[:, :pos] == seq[:1, :pos]).reshape(n, pos, -1).all(dim=2).all(dim=0)  # (pos,)
        shared = int(same.int().cumprod(dim=0).sum())
        if n == 1 or shared == 0:
            return self.stepper.start(seq[:, :pos])
        hidden = self.stepper.start(seq[:1, :shared])
        self.stepper.keep(torch.zeros(n, dtype=torch.long))
        if shared == pos:
            return hidden.expand(n, *hidden.shape[1:])
        return self.stepper.step(seq[:, shared:pos], seq[:, :pos])

    # ---- choosing the next token ---------------------------------------------------------------
    def _choose(self, hidden: torch.Tensor, rows, wait, active) -> np.ndarray:
        """The next token of every batch row; rows not ``active`` draw too, and their draw is ignored."""
        grammars = [self.grammars[r] for r in rows]
        if not self.compound:
            mask = self._mask(grammars, active, wait, None, None)
            return draw(hidden.masked_fill(~mask, float("-inf")), self.s.filters, self.gen).numpy()
        names, first = self.tok.fields, self.first
        words = np.zeros((len(rows), self.F), dtype=np.int64)
        device = next(self.model.parameters()).device
        h = hidden[:, None].to(device)  # (B, 1, C)
        states = self._mask(grammars, active, wait, 0, [()] * len(rows))
        if first == 0:
            mask = states
        else:  # pitch first: the values that some allowed bar state permits
            options = [
                _by_state(g, first, states[b]) if self.s.grammar and active[b] else []
                for b, g in enumerate(grammars)
            ]
            mask = torch.ones(len(rows), self.tok.vocab_size[first], dtype=torch.bool)
            for b, opts in enumerate(options):
                if opts:
                    mask[b] = torch.from_numpy(np.any([m for _, m in opts], axis=0))
        logits = self.model.first_head(h)[:, 0].cpu().masked_fill(~mask, float("-inf"))
        words[:, first] = draw(logits, self.s.for_field(names[first]), self.gen).numpy()
        heads = self.model.field_logits(h, torch.from_numpy(words[:, first])[:, None].to(device))
        for f in range(self.F):
            if f == first:
                continue
            if f == 0:  # pitch first: the bar states that allow the drawn value
                mask = states.clone()
                for b, opts in enumerate(options):
                    if opts:
                        mask[b] = False
                        for state, m in opts:
                            mask[b, state] = bool(m[words[b, first]])
            else:
                mask = self._mask(grammars, active, wait, f, [tuple(w[:f]) for w in words])
            logits = heads[f][:, 0].cpu().masked_fill(~mask, float("-inf"))
            words[:, f] = draw(logits, self.s.for_field(names[f]), self.gen).numpy()
        return words

    def _mask(self, grammars, active, wait, field, chosen) -> torch.Tensor:
        """(B, V) allowed ids: the grammar's (if on), no padding, no end while ``wait`` > 0 (the
        tokens still to sample before a song may end)."""
        compound = field is not None
        size = self.tok.vocab_size[field] if compound else self.tok.vocab_size
        m = np.ones((len(grammars), size), dtype=bool)
        if self.s.grammar:
            for b in np.flatnonzero(active):
                m[b] = grammars[b].allowed(field, chosen[b]) if compound else grammars[b].allowed()
        if field in (None, 0):
            m[:, PAD] = False  # padding is not music; the grammar's "stop here" is the end token
            early = wait > 0
            if early.any():
                m[early, self.tok.end_id] = False
            empty = ~m.any(axis=1)
            m[empty, self.tok.end_id] = True  # nothing left but to end the song
        return torch.from_numpy(m)

    # ---- stopping ------------------------------------------------------------------------------
    def _stop(self, r: int, token, sampled: int, bars: int) -> tuple[str | None, bool]:
        """(why row ``r`` stops with ``token`` as its next sampled token or None, whether the
        token is kept). Feeds the row's grammar."""
        s, tok = self.s, self.tok
        if s.bars is not None and bars >= s.bars and tok.opens_bar(token):
            return "bars", False
        if not self.grammars[r].feed(tuple(token) if self.compound else int(token)):
            if s.grammar:  # cannot happen under the mask; kept as a guard
                return "dead_end", False
            self.errors[r] += 1
        if s.stop_at_end and tok.ends(token):
            return "end", True
        if s.bars is not None and not tok.bar_tokens and sampled + 1 >= s.bars * s.bar_steps:
            return "bars", True
        if sampled + 1 >= s.max_steps:
            return "max_steps", True
        return None, True


def closed(tokenizer, ids: np.ndarray, keep: int = 0) -> np.ndarray:
    """``ids`` cut back to the last place where the song could end (a bar or a triplet closed,
    what the grammar allows the end token at), and ended there: a melody stopped by the step cap
    is whole music, never half a group. The first ``keep`` ids (a prompt) stay."""
    g = tokenizer.grammar()
    last, tokens = None, tokenizer._iter(ids)
    for i, t in enumerate(tokens):
        if i >= max(keep, 1) and _may_end(g, tokenizer):
            last = i
        if not g.feed(t):
            break
    else:
        if _may_end(g, tokenizer):
            last = len(tokens)
    if last is None:
        return ids
    end = boundary(tokenizer, 1)
    return np.concatenate([ids[:last], end])


def _may_end(grammar, tokenizer) -> bool:
    if tokenizer.is_compound:
        word = tuple(boundary(tokenizer, 1)[0])
        return bool(grammar.allowed(0, ())[word[0]]) and all(
            grammar.allowed(f, word[:f])[word[f]] for f in range(1, len(word))
        )
    return bool(grammar.allowed()[tokenizer.end_id])


def _by_state(grammar, f: int, states: torch.Tensor):
    """``(bar state, allowed values of field f)`` for every bar state in ``states``, the fields
    between filled with their first allowed value."""
    out = []
    for state in np.flatnonzero(states.numpy()):
        prefix = (int(state),)
        for g in range(1, f):
            prefix += (int(np.flatnonzero(grammar.allowed(g, prefix))[0]),)
        out.append((int(state), grammar.allowed(f, prefix)))
    return out
