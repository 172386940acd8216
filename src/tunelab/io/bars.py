"""Meter from barlines: make a Score's implied bars equal the bars a file actually has."""

from __future__ import annotations


def notated_bars(score) -> list[int]:
    """Where a score's bars start when it is written out: the source's barlines where the reader
    kept them (a short bar before a repeat stays short), else the bars of its meter and pickup;
    every form mark is a barline too. Ends with ``score.end``."""
    kept = score.meta.get("barlines")
    if kept is not None and score.meta.get("barlines_tpq") == score.tpq:
        bars = {0, *[int(b) for b in kept if 0 < b < score.end]}
    else:
        bars = {int(b) for b in score.bar_starts()}
    if score.form:
        bars |= {t for t, _ in score.form.marks if 0 < t < score.end}
    return sorted(bars) + [score.end]


def meter_from_barlines(meters, bars, end: int, tpq: int, sections=()) -> tuple[list, int]:
    """Time signatures that make the Score's bars equal the file's barlines, and the pickup.

    Args:
        meters: declared meters ``[(tick, num, den)]``; ``num = None`` for an irregular or
            unreadable meter (kern ``*MX``, ABC ``M:none``).
        bars: barline ticks, in order.
        end: the end of the piece in ticks.
        tpq: ticks per quarter note.
        sections: ticks of repeat signs, double bars, endings and parts: a short bar that ends
            at one is a bar of the declared meter (played, it joins the upbeat after it).

    Returns:
        ``([(tick, num, den)], pickup_ticks)``.

    A bar whose length differs from the declared meter (or any bar under an irregular meter)
    gets a time signature of its own length; a short first bar under a declared meter is a
    pickup; a short last bar is just the end.
    """
    starts = sorted({0, *[b for b in bars if 0 < b < end]})
    bounds = list(zip(starts, starts[1:] + [end]))

    def declared(t):
        m = (None, None)
        for mt, num, den in meters:
            if mt <= t:
                m = (num, den)
        return m

    out: list[tuple] = []
    pickup = 0
    for i, (a, b) in enumerate(bounds):
        num, den = declared(a)
        length = b - a
        ts = None
        if num is not None:
            full = tpq * 4 * num // den
            first, last = i == 0 and len(bounds) > 1, i == len(bounds) - 1
            closes = b in sections or a in sections
            if length == full or ((last or first or closes) and length < full):
                if first and length < full:
                    pickup = length
                ts = (num, den)
            else:
                ts = _fit_meter(length, den, tpq) or (num, den)
        elif length > 0:
            ts = _fit_meter(length, 4, tpq) or (out[-1][1:] if out else None)
        if ts is not None and (not out or out[-1][1:] != ts):
            out.append((a, *ts))
    if not out:
        num, den = declared(0)
        out = [(0, num, den)] if num else []
    if out and out[0][0] != 0:
        out[0] = (0, *out[0][1:])
    return out, pickup


def _fit_meter(length: int, den: int, tpq: int) -> tuple[int, int] | None:
    """num/den spelling a bar of ``length`` ticks, preferring the given denominator; None when
    no power-of-two denominator can (a bar of triplets)."""
    for d in (den, 4, 8, 16, 32, 64):
        num, rem = divmod(length * d, 4 * tpq)
        if not rem and num > 0:
            return num, d
    return None


def declared_meter(meters, bars, end: int, tpq: int) -> tuple[list, int]:
    """The written meters as they are, and the pickup: a first bar shorter than its meter.

    Nothing is invented: a short bar before a repeat, at the end of a part or of the piece stays
    a bar of the written meter (played, it joins the upbeat after it into one full bar). Only
    where no meter is written at all (``M:none``) do the barlines say what the bars are
    (:func:`meter_from_barlines`).
    """
    if any(num is None for _, num, _ in meters):
        return meter_from_barlines(meters, bars, end, tpq)
    first_bar = min([b for b in bars if b > 0] + [end])
    num, den = meters[0][1:]
    full = tpq * 4 * num // den
    pickup = (
        first_bar
        if 0 < first_bar < full and first_bar < end and (not meters[1:] or meters[1][0] >= first_bar)
        else 0
    )
    out = [(t, n, d) for t, n, d in meters if t < end or t == 0]
    return [(0, *out[0][1:]), *out[1:]], pickup
