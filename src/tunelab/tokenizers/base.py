"""The tokenizer contract, the registry, and the grammar mechanism every encoding shares.

A tokenizer turns a Score into ids (``[T]`` for flat encodings, ``[T, F]`` for compound ones)
and back. Its grammar is a state machine (:class:`Grammar`): the sampler asks it which ids may
come next and feeds it the one it picked; :meth:`Tokenizer.decode` feeds it every id, skips
and counts the ones it rejects, and builds the Score from the rest. So decoding never raises
on model output, and ``syntax_errors`` and ``decode`` always agree.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections import Counter
from typing import ClassVar

import numpy as np

from tunelab.score import Score
from tunelab.tokenizers import controls as C
from tunelab.tokenizers.grammar import Grammar
from tunelab.tokenizers.rhythm import breaks_triplets, on_grid_of

PAD = 0  # id 0 is padding in every flat vocabulary and "ignore" in every compound field
CONTI = 1  # in compound fields: "unchanged since the last word that set it"


class Tokenizer(ABC):
    """Base class: the public API. Encodings fill ``_encode``, ``_grammar`` and ``_to_score``."""

    name: str = ""
    fields: tuple[str, ...] = ()  # empty for flat encodings
    end_id: int = -1  # the id (flat) or first-field value (compound) that ends a song
    separator_id: int | None = None  # what goes between songs in a training stream (grid: `/`)
    carries_meter: ClassVar[bool] = False  # the encoding names meters itself (no "meter" items)
    rests_are_tokens: ClassVar[bool] = False  # rests are tokens (grid), not the gaps between notes
    bar_tokens: ClassVar[bool] = True  # bars open with tokens (opens_bar); grid counts steps instead
    song_gap: ClassVar[int] = 0  # separators after each song in a training stream (grid: the study's 64)
    finest_grid: ClassVar[int] = (
        24  # the finest steps a quarter `tunelab train` picks (a grid's length grows with it)
    )
    text_lines: ClassVar[bool] = False  # a melody is a line of the encoding's own text (grid text: grid.txt)
    # options a tokenizer saved before they existed was made with (tunelab.tokenizers.from_dict)
    saved_before: ClassVar[dict] = {"controls": (), "items": None, "monophonic": False, "meters_seen": None,
                                    "bar_cuts": True, "whole_triplets": False}  # fmt: skip

    def __init__(
        self,
        steps_per_quarter: int = 4,
        *,
        controls=C.KINDS,
        items=None,
        monophonic: bool = False,
        meters_seen=None,
        bar_cuts: bool = True,
        whole_triplets: bool = False,
    ):
        """``controls``: which of a Score's keys, meters and form marks the encoding carries
        (:mod:`tunelab.tokenizers.controls`); ``items``: the item names of the vocabulary (None:
        every name those kinds can produce; :meth:`fit` keeps the ones a corpus uses);
        ``monophonic``: the grammar forbids overlapping notes; ``meters_seen``: the grammar allows
        only these meters (None: every meter the vocabulary has); ``bar_cuts``: a bar may end
        early where the meter changes (as a few tunebooks write it); when False, every bar but the
        first and last is whole and a song with such a bar does not encode; ``whole_triplets``: on a
        grid that holds triplets, onsets and lengths are binary but inside whole triplet groups of
        one length (:mod:`tunelab.tokenizers.rhythm`), and a song that mixes them does not encode."""
        if steps_per_quarter <= 0:
            raise ValueError(f"steps_per_quarter must be positive, got {steps_per_quarter}")
        self.steps_per_quarter = steps_per_quarter
        self.controls = tuple(k for k in C.parse_kinds(controls) if not (k == "meter" and self.carries_meter))
        self.items = list(items) if items is not None else C.vocabulary(self.controls, self._grid_meters())
        self._item_id = {name: i for i, name in enumerate(self.items)}
        self._header_kind = [
            "fill" if name in C.INFILL else name[:2] if name[:2] in C.ONCE else "" for name in self.items
        ]
        # an item's slot: one item per slot per position (two keys at one tick: the later would
        # overrule the first; a mark twice is one mark), so items, which take no time, cannot run on
        self._slot = ["K:" if name.startswith("K:") else name for name in self.items]
        self._all_items = np.ones(len(self.items), dtype=bool)
        self.monophonic = bool(monophonic)
        self.meters_seen = None if meters_seen is None else [tuple(m) for m in meters_seen]
        self.bar_cuts = bool(bar_cuts)
        self.whole_triplets = bool(whole_triplets) and bool(monophonic)

    def _grid_meters(self) -> list:
        """Meters a ``meter`` item may name (only encodings without meters of their own ask)."""
        from tunelab.tokenizers.values import Values

        return Values(self.steps_per_quarter).meters

    def fit(self, scores) -> Tokenizer:
        """The tokenizer for a training corpus: the control items it uses (in vocabulary order),
        the meters it has and whether it is monophonic (grid also learns its pitches)."""
        seen, meters, chords, cut, n, mixed = set(), set(), 0, 0, 0, 0
        types: Counter = Counter()
        for s in scores:
            if isinstance(s, str):  # grid text lines: notes only
                continue
            names = {name for _, name in C.items(s, self.controls)}
            seen.update(names)
            types.update(name for name in names if name.startswith("T:"))
            meters.update(tuple(ts[1:]) for ts in s.time_signatures)
            chords, cut, n = chords + (not s.is_monophonic()), cut + bool(s.cut_bars()), n + 1
            mixed += on_grid_of(s, self.steps_per_quarter) and breaks_triplets(
                s, self.steps_per_quarter, self.rests_are_tokens
            )  # a song off the grid does not encode at all: it does not count
        # a tune type a handful of songs name is a label, not a type a model can learn: unknown
        seen -= {t for t, k in types.items() if k < max(C.MIN_TYPE_SONGS, C.MIN_TYPE_SHARE * n)}
        bars = [int(n[2:]) for n in seen if n.startswith("B:")]
        seen |= {f"B:{n}" for n in range(1, max(bars, default=0) + 1)}  # every count up to the longest
        if "infill" in self.controls:
            seen |= set(C.INFILL)
        names = [n for n in self.items if n in seen] + sorted(seen - set(self.items))
        # overlapping notes and a bar cut short by a meter change: kept where 1% of the songs have
        # them (rarer ones, a double stop in a fiddle book or a notation slip, the grammar should
        # not copy into every tenth generated tune; those songs do not encode); triplets of mixed
        # lengths where 5% do (O'Neill's: 21 of 1,510 on a 12-step grid, 1.4%, mostly what abc2midi
        # warns of too; a corpus that writes swing as uneven triplets keeps them)
        rare = 0.01 * max(n, 1)
        return self._with(items=names, monophonic=chords < rare, meters_seen=sorted(meters) or None,
                          bar_cuts=cut >= rare, whole_triplets=mixed < 0.05 * max(n, 1),
                          **self._fitted(scores))  # fmt: skip

    def _fitted(self, scores) -> dict:
        """Options an encoding learns from a corpus besides the shared ones."""
        return {}

    def _with(self, **changes) -> Tokenizer:
        return type(self)(**{**self._options(), **changes})

    # ---- control items -------------------------------------------------------------------------
    def items_allowed(self, started: bool, named: set) -> np.ndarray:
        """Over the items: which may come now. A header control (bars, tune type) comes once, at
        the start, before any note; so does the opening key, which may change once the music has
        begun (a second key before it would overrule the first, the one a melody was asked for):
        ``started`` (music has begun), ``named`` (kinds given). The sentinels of filling in are
        never written (a grammar reads them: :class:`tunelab.tokenizers.infill.Sentinels`)."""
        return np.array(
            [not kind or ((kind == "K:" if started else kind not in named) and kind != "fill")
             for kind in self._header_kind], dtype=bool,
        )  # fmt: skip

    def items_free(self, here: set) -> np.ndarray:
        """Over the items: those whose slot is still free at this position (``here``: the slots of
        the items already named at it, :meth:`item_slot`)."""
        if not here:
            return self._all_items
        return np.array([slot not in here for slot in self._slot], dtype=bool)

    def item_slot(self, index: int) -> str:
        return self._slot[index]

    def item_token(self, name: str) -> np.ndarray:
        """The token of item ``name``: an id (flat) or a word (compound: its pitch field names the
        item). A sentinel of filling in (:mod:`tunelab.tokenizers.infill`) is a word of no bar
        state, which the loss and accuracy skip: it is given, never predicted."""
        index = self._item_id[name]
        if not self.is_compound:
            return np.array(len(self.vocab) - len(self.items) + index, dtype=np.int64)
        if name not in C.INFILL:
            raise ValueError(f"{name}: a compound encoding places its items itself")
        word = np.zeros(len(self.fields), dtype=np.int64)
        word[self.pitch_field] = 2 + 128 + index  # after <ignore>, <conti> and the 128 pitches
        return word

    @functools.cached_property
    def _sentinels(self) -> dict:
        """id (flat) or pitch-field value (compound) -> the sentinel of filling in it is."""
        out = {}
        for name in C.INFILL if "infill" in self.controls else ():
            if name in self._item_id:
                token = self.item_token(name)
                out[int(token[self.pitch_field] if self.is_compound else token)] = name
        return out

    def sentinel(self, token) -> str | None:
        """The sentinel of filling in that ``token`` is, or None."""
        if not self._sentinels:
            return None
        if self.is_compound:
            if token[0] != PAD:
                return None
            token = token[self.pitch_field]
        return self._sentinels.get(int(token))

    def header_kind(self, index: int) -> str:
        """``"B:"``, ``"T:"`` or ``"K:"`` for an item named once before the music, ``"fill"`` for a
        sentinel of filling in, else ``""``."""
        return self._header_kind[index]

    def item_ids(self, score: Score) -> list[tuple[int, int]]:
        """``[(tick, item index)]`` of a (quantized) score's control items; ValueError for one the
        vocabulary lacks, or for a bar cut short where this tokenizer keeps bars whole."""
        if self.monophonic and not score.is_monophonic():
            raise ValueError("this tokenizer is for one voice (its training songs were) and this score has "
                             "overlapping notes")  # fmt: skip
        if self.whole_triplets and breaks_triplets(score, self.steps_per_quarter, self.rests_are_tokens):
            raise ValueError("this tokenizer writes triplets whole (its training songs did) and this score has "
                             "notes of several triplet lengths in a group, or a triplet across a beat")  # fmt: skip
        if not self.bar_cuts and score.cut_bars():
            at = score.cut_bars()[0]
            raise ValueError(f"the bar at {at / score.tpq:g} quarters ends early, where the meter changes; this "
                             "tokenizer keeps every bar whole (its training songs did)")  # fmt: skip
        out = []
        for t, name in C.items(score, self.controls):
            if name not in self._item_id and name[:2] in C.HEADER:
                continue  # a bar count or tune type the corpus never had: unknown, as for a song without
            if name not in self._item_id:
                raise ValueError(f"{name} is not in this tokenizer's controls (fit it on data with it)")
            out.append((t, self._item_id[name]))
        return out

    def with_items(self, score: Score, found: list[tuple[int, int]]) -> Score:
        """``score`` with the decoded items ``[(tick, item index)]`` applied."""
        if not self.controls:
            return score
        return C.apply(score, [(t, self.items[i]) for t, i in found], self.controls)

    # ---- vocabulary ----------------------------------------------------------------------------
    @property
    @abstractmethod
    def vocab(self) -> list:
        """Token names: one list (flat) or one list per field (compound)."""

    @property
    def pad_id(self) -> int:
        return PAD

    @property
    def is_compound(self) -> bool:
        return bool(self.fields)

    @property
    def vocab_size(self) -> int | list[int]:
        return [len(v) for v in self.vocab] if self.is_compound else len(self.vocab)

    # ---- encode / decode -----------------------------------------------------------------------
    def encode(self, score: Score) -> np.ndarray:
        """Ids for a score (quantized to this tokenizer's grid first)."""
        return self._encode(score)

    def decode(self, ids) -> Score:
        """The Score that the grammatical part of ``ids`` describes; never raises on bad ids.

        Forbidden ids (or words) are skipped; their count is ``score.meta["syntax_errors"]``.
        """
        grammar = self.grammar()
        errors = 0
        for token in self._iter(ids):
            if not grammar.feed(token):
                errors += 1
        score = self._to_score(grammar.result())
        score.meta["syntax_errors"] = errors
        return score

    def syntax_errors(self, ids) -> int:
        """How many ids (words) the grammar forbids where they stand."""
        grammar = self.grammar()
        return sum(not grammar.feed(t) for t in self._iter(ids))

    def grammar(self, plan=None) -> Grammar:
        """A fresh grammar state at the start of a sequence; ``plan`` (a
        :class:`tunelab.tokenizers.plan.Plan`): the meter, upbeat and length it must keep."""
        if plan is not None:
            self._check_plan(plan)
        if self._sentinels:
            from tunelab.tokenizers.infill import Sentinels

            return Sentinels(self, plan)
        return self._grammar() if plan is None else self._grammar(plan)

    def _check_plan(self, plan) -> None:
        plan.check(self.steps_per_quarter)
        if (
            plan.meter is not None
            and self.meters_seen is not None
            and tuple(plan.meter) not in self.meters_seen
        ):
            from tunelab.errors import ConfigError

            known = ", ".join(f"{n}/{d}" for n, d in self.meters_seen)
            raise ConfigError(f"--meter {plan.meter[0]}/{plan.meter[1]}: this model knows {known}")

    def _iter(self, ids):
        arr = np.asarray(ids, dtype=np.int64)
        if self.is_compound:
            arr = arr.reshape(-1, len(self.fields))
            return [tuple(int(x) for x in row) for row in arr]
        return [int(x) for x in arr.reshape(-1)]

    # ---- what generation asks ------------------------------------------------------------------
    def ends(self, tokens) -> np.ndarray:
        """Which tokens (``[..., ]`` flat, ``[..., F]`` compound) end a song."""
        t = np.asarray(tokens)
        return (t[..., 0] if self.is_compound else t) == self.end_id

    def opens_bar(self, tokens) -> np.ndarray:
        """Which tokens start a new bar (encodings with bar tokens override this)."""
        t = np.asarray(tokens)
        return np.zeros(t.shape[:-1] if self.is_compound else t.shape, dtype=bool)

    def prompt(self, score: Score) -> np.ndarray:
        """The ids of ``score`` as a prompt to continue: its encoding without the song's end."""
        ids = self.encode(score)
        while len(ids) and self.ends(ids[-1]):
            ids = ids[:-1]
        return ids

    def head(self, score: Score, *, bars: bool = True) -> np.ndarray:
        """The ids a song with ``score``'s controls begins with: its encoding with the notes left
        out, up to its last control item at tick 0 (each encoding places them as in training);
        empty when it has none. ``bars=False`` leaves the bar count out (unknown)."""
        template = score.replace(onset=[], duration=[], pitch=[], velocity=None, rests=None)
        wanted = {name for t, name in C.items(template, self.controls) if t == 0 and name != "M:|"}
        wanted = {n for n in wanted if n in self._item_id and (bars or not n.startswith("B:"))}
        ids = self.encode(template)
        base = 2 + 128 if self.is_compound else len(self.vocab) - len(self.items)
        values = ids[:, self.pitch_field] if self.is_compound else ids
        marks = np.flatnonzero(np.isin(values, [base + self._item_id[n] for n in wanted]))
        if not len(marks):
            return ids[:0]
        return ids[: int(marks.max()) + 1]

    # ---- what information content asks (tunelab.training.surprise) -----------------------------
    def pitch_ids(self) -> np.ndarray:
        """Flat encodings: the ids that name a pitch, so that a note's surprise splits into
        "a note starts here" and "this pitch" (empty: the encoding does not separate them)."""
        return np.zeros(0, dtype=np.int64)

    @property
    def pitch_field(self) -> int | None:
        """Compound encodings: the field that holds the pitch (None: no such field)."""
        return self.fields.index("pitch") if "pitch" in self.fields else None

    # ---- accuracy ------------------------------------------------------------------------------
    def accuracy_mask(self, targets) -> np.ndarray:
        """Which target positions (flat ``[..., T]``) or fields (compound ``[..., T, F]``) count for
        accuracy: never padding; in compound encodings never ignore (0) or CONTI fields."""
        t = np.asarray(targets)
        if not self.is_compound:
            return t != PAD
        mask = (t != PAD) & (t != CONTI)
        mask[..., 0] = t[..., 0] != PAD  # the family / bar-state field has no CONTI value
        return mask & (t[..., :1] != PAD)

    # ---- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"name": self.name, **self._options()}

    def _options(self) -> dict:
        return {
            "steps_per_quarter": self.steps_per_quarter,
            "controls": list(self.controls),
            "items": list(self.items),
            "monophonic": self.monophonic,
            "meters_seen": None if self.meters_seen is None else [list(m) for m in self.meters_seen],
            "bar_cuts": self.bar_cuts,
            "whole_triplets": self.whole_triplets,
        }

    # ---- human view ----------------------------------------------------------------------------
    def show(self, ids, limit: int | None = None) -> str:
        """Token names, one token (or word) per line."""
        rows = self._iter(ids)[:limit]
        if not self.is_compound:
            return "\n".join(self.vocab[t] if 0 <= t < len(self.vocab) else f"<{t}?>" for t in rows)
        return "\n".join(
            " ".join(v[t] if 0 <= t < len(v) else f"<{t}?>" for v, t in zip(self.vocab, row)) for row in rows
        )

    # ---- hooks ---------------------------------------------------------------------------------
    @abstractmethod
    def _encode(self, score: Score) -> np.ndarray: ...

    @abstractmethod
    def _grammar(self) -> Grammar: ...

    @abstractmethod
    def _to_score(self, result) -> Score: ...


def mask_of(size: int, ids) -> np.ndarray:
    """A boolean mask of ``size`` with ``ids`` (an iterable or a slice) set."""
    m = np.zeros(size, dtype=bool)
    m[ids] = True
    return m
