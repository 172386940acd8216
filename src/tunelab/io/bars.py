"""Meter from barlines: make a Score's implied bars equal the bars a file actually has."""

from __future__ import annotations

from fractions import Fraction


def meter_from_barlines(meters, bars, end, tpq: int) -> tuple[list, Fraction]:
    """Time signatures that make the Score's bars equal the file's barlines, and the pickup.

    Args:
        meters: declared meters ``[(time, num, den)]`` in quarter notes; ``num = None`` for an
            irregular or unreadable meter (kern ``*MX``, ABC ``M:none``).
        bars: barline times in quarter notes (Fractions), in order.
        end: the end of the piece in quarter notes.
        tpq: ticks per quarter for the result.

    Returns:
        ``([(tick, num, den)], pickup)`` with the pickup in quarter notes.

    A bar whose length differs from the declared meter (or any bar under ``*MX``) gets a time
    signature of its own length; a short first bar under a declared meter is a pickup.
    """
    starts = sorted({Fraction(0), *[b for b in bars if 0 < b < end]})
    bounds = list(zip(starts, starts[1:] + [end]))

    def declared(t):
        m = (None, None)
        for mt, num, den in meters:
            if mt <= t:
                m = (num, den)
        return m

    out: list[tuple] = []
    pickup = Fraction(0)
    for i, (a, b) in enumerate(bounds):
        num, den = declared(a)
        length = b - a
        if num is not None:
            full = Fraction(4 * num, den)
            last = i == len(bounds) - 1
            if length == full or (last and length < full) or (i == 0 and len(bounds) > 1 and length < full):
                if i == 0 and length < full and len(bounds) > 1:
                    pickup = length
                ts = (num, den)
            else:
                ts = _fit_meter(length, den) or (num, den)
        elif length > 0:
            ts = _fit_meter(length, 4) or (out[-1][1:] if out else None)
        if ts is None:
            continue
        if not out or out[-1][1:] != ts:
            out.append((a, *ts))
    if not out:
        num, den = declared(Fraction(0))
        out = [(Fraction(0), num, den)] if num else []
    if out and out[0][0] != 0:
        out[0] = (Fraction(0), *out[0][1:])
    return [(int(t * tpq), n, d) for t, n, d in out], pickup


def _fit_meter(length: Fraction, den: int) -> tuple[int, int] | None:
    """num/den spelling a bar of ``length`` quarter notes, preferring the given denominator;
    None when no power-of-two denominator can (a bar of triplets)."""
    for d in (den, 4, 8, 16, 32, 64):
        num = length * d / 4
        if num.denominator == 1 and num > 0:
            return int(num), d
    return None
