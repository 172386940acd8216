"""The written form of a tune and the played form it stands for.

A tune is written once, with marks at its barlines: where a repeat starts (``|:``) and ends
(``:|``), section bars inside the tune (``||``: a double or thin-thick bar), endings (``[1``,
``[1,3``: the bars played on those passes only) and part labels (``P:A``); an ABC header ``P:``
says in which order the parts are played (``AABB``, ``(AB)2C``). A :class:`Form` holds these
marks in reading order, at their ticks. :func:`played` turns a written Score into the played one:
repeats taken, endings chosen, parts in order, meter, key and chord changes carried along.

The rules are ABC 2.1's (sections 4.8, 4.9, 3.1.9), and abc2midi's where the standard leaves a
choice open: a ``:|`` goes back to the last ``|:``; without one, to the start of the tune, or,
after an earlier repeat, to the end of that repeat or a section bar after it. A repeat with
endings is played as many times as its highest ending number (at least twice); ending ``N`` is
played on pass ``N`` only, and an ending ends at the next ``:|`` (music after it is played). The
last ending closes its repeat: a ``:|`` inside it goes back nowhere (there is no pass after the
last; abc2midi plays one more that has no ending), and the next repeat starts after it, or at a
section bar after it. Without a header order the parts are played as written.
"""

from __future__ import annotations

import copy
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import pairwise
from operator import add

import numpy as np

from tunelab.changes import normalize_changes

_ORDER_TOKEN = re.compile(r"[A-Z]|\d+|[().]|\s+|.")
_LABEL = re.compile(r"[A-Z]")

REPEAT_START, REPEAT_END, SECTION = "|:", ":|", "||"
_ENDING = re.compile(r"\[(\d+(?:,\d+)*)\Z")
_PART = re.compile(r"P:([A-Z])\Z")
MAX_PASSES = 16  # endings beyond this are typos (an ending [12345 would play a tune 12,345 times)
MAX_PLAYED = 64  # a played form longer than this many times the written one is refused


@dataclass(frozen=True)
class Form:
    """The marks of a written tune, ``((tick, mark), ...)`` in reading order, and the header's
    play order of its parts (``None``: as written).

    Marks: ``"|:"``, ``":|"``, ``"||"``, ``"[1"`` / ``"[1,3"`` (an ending and its passes, sorted),
    ``"P:A"`` (a part starts). A ``::`` is ``":|"`` then ``"|:"`` at one tick.
    """

    marks: tuple = ()
    order: str | None = None

    def __post_init__(self):
        marks = tuple((int(t), str(m)) for t, m in self.marks)
        object.__setattr__(self, "marks", marks)
        for (a, _), (b, _) in pairwise(marks):
            if b < a:
                raise ValueError("form marks must be in time order")
        for t, m in marks:
            if t < 0 or not is_mark(m):
                raise ValueError(f"not a form mark: {m!r} at tick {t}")
        if self.order is not None:
            parse_order(self.order)

    def __bool__(self) -> bool:
        return bool(self.marks or self.order)

    def scaled(self, fn) -> Form:
        """The same marks at ticks ``fn(tick)`` (a resolution change)."""
        return Form(tuple((int(fn(t)), m) for t, m in self.marks), self.order)

    def to_list(self) -> dict:
        return {"marks": [list(x) for x in self.marks], "order": self.order}


def canonical(marks) -> tuple:
    """Marks in the order that means what they mean, whatever order a file wrote them in: at one
    tick a repeat ends, a section bar, a new part, a repeat starts, an ending opens."""
    rank = {REPEAT_END: 0, SECTION: 1, REPEAT_START: 3}
    return tuple(sorted(marks, key=lambda x: (x[0], rank.get(x[1], 2 if x[1].startswith("P:") else 4))))


def is_mark(m: str) -> bool:
    return m in (REPEAT_START, REPEAT_END, SECTION) or bool(_ENDING.match(m) or _PART.match(m))


def ending(numbers) -> str:
    """The mark of an ending played on ``numbers`` (an iterable of pass numbers)."""
    ns = sorted({int(n) for n in numbers})
    if not ns or ns[0] < 1:
        raise ValueError(f"an ending needs pass numbers from 1, got {ns}")
    return "[" + ",".join(map(str, ns))


def ending_passes(text: str) -> list[int]:
    """Pass numbers of an ABC ending's text: ``1``, ``1,3``, ``2-4``, ``1-2,4``."""
    out = set()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        lo_n, hi_n = int(lo), int(hi or lo)
        if hi_n < lo_n or hi_n > MAX_PASSES:
            raise ValueError(f"ending {text!r}: passes 1 to {MAX_PASSES}")
        out.update(range(lo_n, hi_n + 1))
    return sorted(out)


# ---- the header's order of parts -----------------------------------------------------------------


def parse_order(text: str) -> list[str]:
    """The part labels an ABC ``P:`` header plays, in order: ``AABB``, ``A2B``, ``(AB)2C``,
    ``B.A`` (dots and spaces separate). ValueError for anything else."""
    tokens = _ORDER_TOKEN.findall(text)
    pos = 0

    def seq(depth: int) -> list[str]:
        nonlocal pos
        out: list[str] = []
        while pos < len(tokens):
            tok = tokens[pos]
            if tok == ")":
                if not depth:
                    raise ValueError(f"P:{text}: ')' without '('")
                return out
            pos += 1
            if tok.isspace() or tok == ".":
                continue
            if tok == "(":
                item = seq(depth + 1)
                if pos >= len(tokens):
                    raise ValueError(f"P:{text}: '(' without ')'")
                pos += 1
            elif _LABEL.fullmatch(tok):
                item = [tok]
            else:
                raise ValueError(f"P:{text}: {tok!r} is not a part label (A-Z), a count or a bracket")
            count = 1
            if pos < len(tokens) and tokens[pos].isdigit():
                count = int(tokens[pos])
                pos += 1
            out += item * min(count, MAX_PASSES)
        if depth:
            raise ValueError(f"P:{text}: '(' without ')'")
        return out

    labels = seq(0)
    if not labels:
        raise ValueError(f"P:{text}: no part labels")
    return labels


# ---- the played form -----------------------------------------------------------------------------


def play_ranges(form: Form | None, end: int) -> list[tuple[int, int]]:
    """The written tune's tick ranges ``[(start, stop)]`` in the order they are played."""
    if not form:
        return [(0, end)]
    parts = _parts(form.marks, end)
    if form.order is not None and any(label for label, *_ in parts):
        first = {}
        for label, a, b, marks in parts:
            first.setdefault(label, (a, b, marks))
        chosen = [first[label] for label in parse_order(form.order) if label in first]
        intro = [p[1:] for p in parts if p[0] == ""]  # music before the first part label plays first
        sequence = intro + chosen
    else:
        sequence = [p[1:] for p in parts]
    out: list[tuple[int, int]] = []
    for a, b, marks in sequence:
        for x, y in _expand(marks, a, b):
            if out and out[-1][1] == x:  # contiguous: one range
                out[-1] = (out[-1][0], y)
            else:
                out.append((x, y))
    if sum(y - x for x, y in out) > MAX_PLAYED * max(end, 1):
        raise ValueError(f"the played form is more than {MAX_PLAYED} times the written one")
    return out


def _parts(marks: tuple, end: int) -> list[tuple[str, int, int, list]]:
    """``(label, start, stop, marks inside)`` of each part ("" for music before the first label)."""
    out: list[list] = [["", 0, end, []]]
    for t, m in marks:
        if m.startswith("P:"):
            out[-1][2] = t
            out.append([m[2:], t, end, []])
        else:
            out[-1][3].append((t, m))
    return [tuple(p) for p in out if p[2] > p[1] or p[3]]


def _passes(marks: list, start: int) -> int:
    """How many times the repeat whose body starts at mark index ``start`` is played: its highest
    ending number, at least 2."""
    top, endings = 2, False
    for _, m in marks[start:]:
        if m in (REPEAT_START, SECTION) and endings:
            break
        if m == REPEAT_START:
            break
        if m == REPEAT_END and not endings:
            break
        if m.startswith("["):
            endings = True
            top = max(top, *map(int, m[1:].split(",")))
    return top


def _expand(marks: list, a: int, b: int, implied: dict | None = None) -> list[tuple[int, int]]:
    """One part's ranges, its repeats taken and endings chosen. ``implied["|:"]`` gets the ticks
    a ``:|`` returns to where no ``|:`` is written, ``implied[":|"]`` those of a ``:|`` that only
    closes a last ending (the endings number the passes: there is no pass after the last)."""
    out: list[tuple[int, int]] = []
    head, i = a, 0
    back_i, back_t = 0, a  # where a :| returns to (mark index and tick)
    explicit = after_repeat = closing = False
    pass_no, playing = 1, True
    while i < len(marks):
        tick, m = marks[i]
        if playing and tick > head:
            out.append((head, tick))
        head = tick
        if m == REPEAT_START:
            back_i, back_t, explicit, pass_no, playing, closing = i + 1, tick, True, 1, True, False
        elif m.startswith("["):
            playing = pass_no in map(int, m[1:].split(","))
            if playing and pass_no >= _passes(marks, back_i):  # the last ending: the repeat is over,
                back_i, back_t, pass_no = i + 1, tick, 1  # and a :| inside it only closes it
                explicit, after_repeat, closing = False, True, True
        elif m == SECTION:
            playing, closing = True, False
            if not explicit and after_repeat:  # abc2midi: after a repeat, a section bar starts the next
                back_i, back_t, pass_no = i + 1, tick, 1
        elif m == REPEAT_END and not playing:  # an ending closed: what follows is played
            playing = True
            nxt = marks[i + 1] if i + 1 < len(marks) else (None, "")
            if pass_no >= _passes(marks, back_i) and not (nxt[0] == tick and nxt[1].startswith("[")):
                back_i, back_t, pass_no = i + 1, tick, 1  # and, unmarked, it is the last one
                explicit, after_repeat, closing = False, True, False
        elif m == REPEAT_END:
            if pass_no < _passes(marks, back_i) and not closing:
                if not explicit and implied is not None:
                    implied[REPEAT_START].add(back_t)
                pass_no += 1
                i, head = back_i, back_t
                continue
            if closing and implied is not None:
                implied[REPEAT_END].add(tick)
            back_i, back_t, pass_no = i + 1, tick, 1
            explicit, after_repeat, closing = False, True, False
        i += 1
    if playing and b > head:
        out.append((head, b))
    return out


def with_repeat_starts(form: Form) -> Form:
    """The same form with a ``|:`` written wherever a ``:|`` returns to a start that is only
    implied (the start of the tune or part, the end of the repeat before, a section bar after it)
    and a section bar for a ``:|`` that only closes a last ending: it plays the same (as
    :func:`played` has it), and readers that would otherwise guess (abc2midi: "Assuming repeat",
    or one more pass with no ending) do not have to."""
    implied: dict[str, set[int]] = {REPEAT_START: set(), REPEAT_END: set()}
    end = max((t for t, _ in form.marks), default=0) + 1
    for _, a, b, marks in _parts(form.marks, end):
        _expand(marks, a, b, implied)
    starts, closes = implied[REPEAT_START], implied[REPEAT_END]
    # a repeat sign is a section bar (as readers have it): a || where a |: now stands goes
    out = [(t, m) for t, m in form.marks if not (m == SECTION and t in starts)]
    out = [(t, SECTION if m == REPEAT_END and t in closes else m) for t, m in out]
    out += [(t, REPEAT_START) for t in starts if (t, REPEAT_START) not in form.marks]
    return Form(canonical(out), form.order)


def played(score):
    """The Score as played: its form's repeats, endings and parts expanded (``form`` None), meter,
    key and chord changes carried to where they sound; ``meta["sections"]`` lists ``[tick, label]``
    where each played part or repeat pass starts. A Score without a form comes back as it is."""
    if not score.form:
        return score if score.form is None else score.replace(form=None)
    ranges = play_ranges(score.form, score.end)
    if ranges == [(0, score.end)]:  # marks that change nothing (a section bar, a lone part label)
        return score.replace(form=None)
    shift = [(a, b, sum(y - x for x, y in ranges[:k]) - a) for k, (a, b) in enumerate(ranges)]

    def take(onset, duration, *cols) -> list[list]:  # onsets sorted: each range is a slice
        starts, lengths, *rest = (c.tolist() for c in (onset, duration, *cols))  # a tune's few hundred
        out: list[list] = [[] for _ in range(2 + len(cols))]  # notes: lists beat numpy calls here
        for a, b, d in shift:
            i, j = bisect_left(starts, a), bisect_left(starts, b)
            out[0] += [t + d for t in starts[i:j]] if d else starts[i:j]
            if j > i and max(map(add, starts[i:j], lengths[i:j])) > b:  # a note the jump cuts short
                out[1] += [x if t + x <= b else b - t for t, x in zip(starts[i:j], lengths[i:j])]
            else:
                out[1] += lengths[i:j]
            for got, col in zip(out[2:], rest):
                got += col[i:j]
        return out

    def changes(items):
        out = []
        for a, b, d in shift:
            state = [x for x in items if x[0] <= a]
            if state:
                out.append((a + d, *state[-1][1:]))
            out += [(t + d, *rest) for t, *rest in items if a < t < b]
        return normalize_changes(out)

    # a slice of a valid Score, moved: valid by construction (no re-validation: reading a tunebook
    # expands every tune)
    new = copy.copy(score)
    notes = take(score.onset, score.duration, score.pitch, score.velocity)
    new.onset, new.duration, new.pitch, new.velocity = (np.array(c, dtype=np.int64) for c in notes)
    if score.rests is not None and len(score.rests):  # sorted by onset (the Score sees to it)
        new.rests = np.array(list(zip(*take(score.rests[:, 0], score.rests[:, 1]))), dtype=np.int64).reshape(
            -1, 2
        )  # (no rests: the empty array is shared, as the copy shares every array)
    new.time_signatures, new.keys = changes(score.time_signatures), changes(score.keys)
    new.end, new.form = sum(b - a for a, b in ranges), None
    meta = dict(score.meta)
    if score.meta.get("barlines_tpq") == score.tpq:
        meta["barlines"] = _played_barlines(score, shift)
    if "chords" in score.meta:
        meta["chords"] = [
            [t + d, text] for a, b, d in shift for t, text in score.meta["chords"] if a <= t < b
        ]
    meta["sections"] = _sections(score.form, shift)
    new.meta = meta
    return new


def _played_barlines(score, shift) -> list[int]:
    """The written barlines where they are played. Where a jump joins a short bar before it to
    a short bar after it (a bar before ``:|`` and the upbeat it returns to) into one bar of the
    meter, the two are one bar: no barline at the join."""
    written = sorted(map(int, score.meta["barlines"]))
    out: list[int] = []
    for k, (a, b, d) in enumerate(shift):
        inside = written[bisect_right(written, a) : bisect_left(written, b)]
        if k:
            prev_a, prev_b, _ = shift[k - 1]
            i = bisect_left(written, prev_b) - 1  # the last barline before the previous range's end
            tail = prev_b - (written[i] if i >= 0 and written[i] >= prev_a else prev_a)
            head = (inside[0] if inside else b) - a
            full = score.bar_length(*score.meter_at(a))
            if not (tail < full and head < full and tail + head == full):
                out.append(a + d)
        out += [x + d for x in inside]
    return out


def _sections(form: Form, shift) -> list[list]:
    """``[tick, label]`` where each played range starts: its part's label, else the index of the
    written range it plays ("1", "2"...), so a repeated section is recognisable."""
    labels = [(t, m[2:]) for t, m in form.marks if m.startswith("P:")]
    out = []
    for a, _, d in shift:
        label = next((lab for t, lab in reversed(labels) if t <= a), "")
        out.append([a + d, label or f"@{a}"])
    return out
