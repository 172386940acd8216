"""What a Score holds besides its notes, as tokens every encoding can carry: keys, meters (for
grid, whose steps know no bars) and the written form's marks.

Each is an *item*: a name at a tick. :func:`items` lists a Score's items in a canonical order,
:func:`apply` puts decoded items back. An encoding places each item at its tick as a token with
no length (grid: between steps; REMI: after its position; CP and NB: a word at its position
whose pitch field names the item), so an item is where it happens and a model sees a key change
or a repeat sign where a musician does. Marks at the very end of a tune (the closing ``:|``)
travel at its start as ``$:|``, and the header's play order as ``P=`` items at tick 0.

Kinds: ``key`` (``K:D``, ``K:Dm``, ``K:Ddor``...; ``K:D?`` for a tonic whose mode the source
does not give), ``meter`` (``M:6/8`` where a meter starts; ``M:|`` where the first full bar
starts after a pickup), ``form`` (``|:``, ``:|``, ``||``, ``[1``, ``P:A``; an ending played
on several passes is one item per pass at one tick, ``[1`` ``[3``), and the header controls a
model can be asked for: ``bars`` (``B:16``, the bars from the first full one; ``meta["bars"]``
says another count, or None for unknown: the melody a prompt begins) and ``type``
(``T:reel``, the tune type an ABC ``R:`` field names). A song without a control has no item for
it: that is its "unknown".
"""

from __future__ import annotations

from tunelab.form import Form, canonical, is_mark
from tunelab.score import Score

KINDS = ("key", "meter", "form", "bars", "type")
INFILL = ("<suffix>", "<middle>")  # the sentinels of filling in (tunelab.tokenizers.infill): kind "infill"
ALL_KINDS = (*KINDS, "infill")  # "infill" is asked for (tunelab train --infill), never a default
MAX_BARS = 256  # B:1 .. B:256; a longer piece has no bars item
MODES = {"major": "", "minor": "m", "dorian": "dor", "phrygian": "phr", "lydian": "lyd",
         "mixolydian": "mix", "locrian": "loc", None: "?"}  # fmt: skip
_MODE_OF = {v: k for k, v in MODES.items()}
TONICS = [letter + acc for letter in "CDEFGAB" for acc in ("", "#", "b")]
MAX_ENDING = 16
ORDER_SYMBOLS = [chr(c) for c in range(ord("A"), ord("Z") + 1)] + ["(", ")"] + [str(d) for d in range(10)]
_FORM_MARKS = ["|:", ":|", "||", *(f"[{n}" for n in range(1, MAX_ENDING + 1)),
               *(f"P:{chr(c)}" for c in range(ord("A"), ord("Z") + 1))]  # fmt: skip


def parse_kinds(kinds) -> tuple[str, ...]:
    """``"key,meter"`` or an iterable -> a tuple of known kinds in canonical order."""
    if isinstance(kinds, str):
        kinds = [k.strip() for k in kinds.split(",") if k.strip() and k.strip() != "none"]
    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in ALL_KINDS]
    if bad:
        raise ValueError(f"unknown control kind {bad[0]!r}; choose from {', '.join(ALL_KINDS)} (or none)")
    return tuple(k for k in ALL_KINDS if k in kinds)


# tune types as tunebooks spell them -> one name
_TYPE_SPELLINGS = {"slipjig": "slip jig", "doublejig": "double jig", "singlejig": "single jig",
                   "fling": "highland fling", "setdance": "set dance", "strathspeys": "strathspey"}  # fmt: skip
TYPES = ["reel", "jig", "double jig", "single jig", "slip jig", "hornpipe", "polka", "slide", "strathspey",
         "highland fling", "march", "waltz", "air", "set dance", "mazurka", "schottische", "barndance", "clog",
         "song", "dance"]  # fmt: skip


MIN_TYPE_SONGS, MIN_TYPE_SHARE = 5, 0.002  # a type fewer songs name is unknown to a fitted tokenizer
HEADER = ("B:", "T:")  # controls a song may lack: one a vocabulary lacks is left out (unknown)
ONCE = (*HEADER, "K:")  # named at most once before the music starts (a key may change later, a header not)


def tune_type(text) -> str | None:
    """The tune type an ``R:`` field names, spelled one way (``Slip-jig`` -> ``slip jig``)."""
    import re

    name = " ".join(re.sub(r"[^a-z ]", " ", str(text or "").lower()).split())
    name = _TYPE_SPELLINGS.get(name.replace(" ", ""), name)
    return name or None


def bar_count(score: Score) -> int:
    """Bars from the first full one to the end (a pickup is not a bar; a short last one is)."""
    starts = score.bar_starts()
    return int((starts >= score.pickup).sum()) if score.pickup else len(starts)


# the controls a fitted vocabulary shows it holds, by the item names of each (meter is the notes'
# own in every encoding but grid, so it is not asked)
HELD = {"bars": ("B:",), "type": ("T:",), "key": ("K:",), "form": ("P=", "$", *_FORM_MARKS)}


def kinds_held(items) -> set[str]:
    """Which of the controls in :data:`HELD` a fitted vocabulary's items carry."""
    return {kind for kind, p in HELD.items() if any(name.startswith(p) for name in items)}


def vocabulary(kinds, meters=()) -> list[str]:
    """Every item name the kinds can produce (``meters``: the meters a grid may name)."""
    out = []
    if "bars" in kinds:
        out += [f"B:{n}" for n in range(1, MAX_BARS + 1)]
    if "type" in kinds:
        out += [f"T:{t}" for t in TYPES]
    if "meter" in kinds:
        out += [f"M:{n}/{d}" for n, d in meters] + ["M:|"]
    if "key" in kinds:
        out += [f"K:{t}{m}" for t in TONICS for m in MODES.values()]
    if "form" in kinds:
        out += [f"P={s}" for s in ORDER_SYMBOLS] + _FORM_MARKS + ["$" + m for m in _FORM_MARKS]
    if "infill" in kinds:
        out += list(INFILL)
    return out


def items(score: Score, kinds) -> list[tuple[int, str]]:
    """The Score's items of these kinds, ``[(tick, name)]`` in encoding order (by tick; at one
    tick: meter, key, then form marks as written). Ticks are the Score's own."""
    out: list[tuple[int, str]] = []
    if "bars" in kinds and score.time_signatures and score.end > 0:
        bars = (
            score.meta["bars"] if "bars" in score.meta else bar_count(score)
        )  # a part of a melody: the whole's
        if bars is not None and bars <= MAX_BARS:
            out.append((0, f"B:{bars}"))
    if "type" in kinds and tune_type(score.meta.get("rhythm")):
        out.append((0, f"T:{tune_type(score.meta['rhythm'])}"))
    if "meter" in kinds:
        out += [(t, f"M:{n}/{d}") for t, n, d in score.time_signatures]
        if score.pickup:
            out.append((score.pickup, "M:|"))
    if "key" in kinds:
        out += [
            (t, f"K:{tonic}{MODES.get(mode, '?')}")
            for t, tonic, mode in score.keys
            if t < score.end or t == 0
        ]
    if "form" in kinds and score.form:
        head = []
        if score.form.order:
            head += [(0, f"P={c}") for c in score.form.order if c in ORDER_SYMBOLS]
        body = []
        for t, m in score.form.marks:
            names = [f"[{n}" for n in m[1:].split(",")] if m.startswith("[") else [m]
            at_end = t == score.end and t > 0
            (head if at_end else body).extend(
                (0 if at_end else t, ("$" if at_end else "") + x) for x in names
            )
        out += head + body
    return sorted(out, key=lambda x: x[0])  # stable: the order above within a tick


def apply(score: Score, found: list[tuple[int, str]], kinds) -> Score:
    """``score`` with the decoded items' keys, meters and form (each kind in ``kinds`` replaces
    what the score had; items that contradict each other are resolved the simple way: the last
    key or meter at a tick wins, a mark the form does not allow is dropped)."""
    changes: dict = {}
    header = {name.split(":", 1)[0]: name.split(":", 1)[1] for _, name in found if name[:2] in ("B:", "T:")}
    if "type" in kinds and "T" in header:
        changes["meta"] = {**score.meta, "rhythm": header["T"]}
    if "key" in kinds:
        keys = []
        for t, name in found:
            if name.startswith("K:"):
                key = _key(name[2:])
                if key:
                    keys.append((t, *key))
        changes["keys"] = keys
    if "meter" in kinds:
        tss = [
            (t, *map(int, name[2:].split("/")))
            for t, name in found
            if name.startswith("M:") and name != "M:|"
        ]
        ups = [t for t, name in found if name == "M:|"]
        if tss:
            tss[0] = (0, *tss[0][1:])
            changes["time_signatures"] = sorted(dict((t, (t, n, d)) for t, n, d in tss).values())
        changes["pickup"] = ups[0] if ups and 0 < ups[0] < score.end else 0
    if "form" in kinds:
        changes["form"] = _form(found, score.end)
    return score.replace(**changes) if changes else score


def _key(text: str) -> tuple[str, str | None] | None:
    for n in (2, 1):
        tonic, mode = text[:n], text[n:]
        if tonic in TONICS and mode in _MODE_OF:
            return tonic, _MODE_OF[mode]
    return None


def _form(found: list[tuple[int, str]], end: int) -> Form | None:
    order = "".join(name[2:] for _, name in found if name.startswith("P="))
    marks: list[tuple[int, str]] = []
    for t, name in found:
        if name.startswith("P=") or name[:2] in ("K:", "M:", "B:", "T:"):
            continue
        at = end if name.startswith("$") else t
        name = name.lstrip("$")
        if not is_mark(name) or at > end:
            continue
        if name.startswith("[") and marks and marks[-1][0] == at and marks[-1][1].startswith("["):
            passes = sorted({*map(int, marks[-1][1][1:].split(",")), int(name[1:])})
            marks[-1] = (at, "[" + ",".join(map(str, passes)))
        else:
            marks.append((at, name))
    marks = list(canonical(marks))
    try:
        from tunelab.form import parse_order

        if order:
            parse_order(order)
    except ValueError:
        order = ""
    form = Form(tuple(marks), order or None)
    return form or None
