"""The study's 17 metrics computed the way the study did: music21 streams, plain Python.

The slow reference for benchmarks/study17_bench.py, written from the definitions in
../shared/reference/study-metrics.md; never used by tunelab itself.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter

import music21 as m21

TENSION = {1: 0.8, 2: 0.6, 3: 0.4, 4: 0.2, 5: 0.3, 6: 0.5, 7: 0.1, 8: 0.2}


def to_stream(line: str) -> m21.stream.Stream:
    stream, last = m21.stream.Stream(), None
    for tok in line.split():
        if tok == "_":
            if last is not None:
                last.quarterLength += 0.25
        elif tok == "/":
            if last is not None:
                break
        else:
            last = (
                m21.note.Rest(quarterLength=0.25)
                if tok == "r"
                else m21.note.Note(int(tok), quarterLength=0.25)
            )
            stream.append(last)
    return stream


def segment(stream, size=4.0):
    """The study's segment_stream: an element that fits joins the segment; one that does not
    closes it with the part that fits (``remaining``, if positive) and opens the next with
    ``quarterLength - remaining``. After a remainder longer than a segment, the running length
    is above ``size``, so ``remaining`` is negative: no part is added, and the next element
    opens its segment with its length plus that excess (issue 19)."""
    segs, cur, current_length = [], [], 0.0
    for el in stream.notesAndRests:
        pitch = None if el.isRest else el.pitch.midi
        d = float(el.quarterLength)
        if current_length + d <= size:
            cur.append((pitch, d))
            current_length += d
            continue
        remaining = size - current_length
        if remaining > 0:
            cur.append((pitch, remaining))
        segs.append(cur)
        cur, current_length = [(pitch, d - remaining)], d - remaining
    if cur:
        segs.append(cur)
    return segs


def metrics(line: str, tonal: bool = True) -> list[float]:
    """The 17 values of one grid line; ``tonal=False`` leaves tonal drift (most of the time:
    a key analysis per bar) as NaN."""
    stream = to_stream(line)
    P = [n.pitch.midi for n in stream.notes]
    G = {p: c / len(P) for p, c in Counter(P).items()} if P else {}
    acc = {i: [] for i in range(11)}
    for seg in segment(stream):
        p = [x for x, _ in seg if x is not None]
        durs = [d for _, d in seg]
        total = sum(durs)
        offsets, t = [], 0.0
        for x, d in seg:
            if x is not None:
                offsets.append(t)
            t += d
        acc[3].append(len(p) / total if total else 0.0)
        acc[4].append(sum(d for x, d in seg if x is None) / total if total else 0.0)
        acc[8].append(sum(1 for o in offsets if o != int(o)))
        if durs:
            acc[2].append(statistics.pvariance(durs))
        if p:
            acc[0].append(statistics.pvariance(p))
            acc[1].append(max(p) - min(p))
            run = best = 1
            for a, b in itertools.pairwise(p):
                run = run + 1 if a == b else 1
                best = max(best, run)
            acc[6].append(best)
            L = {q: c / len(p) for q, c in Counter(p).items()}
            acc[10].append(
                sum(
                    L.get(q, 1e-10) * math.log(L.get(q, 1e-10) / G.get(q, 1e-10))
                    for q in sorted(set(G) | set(L))
                )
            )
        if len(p) >= 2:
            diffs = [b - a for a, b in itertools.pairwise(p)]
            acc[5].append(statistics.pvariance([abs(d) for d in diffs]))
            acc[7].append(sum(1 for a, b in itertools.pairwise(diffs) if a * b < 0))
            ks = [min(abs(d) % 12, 12 - abs(d) % 12) for d in diffs]
            acc[9].append(sum(TENSION.get(k, 0.1) for k in ks) / len(ks))
    out = [sum(acc[i]) / len(acc[i]) if acc[i] else 0.0 for i in range(11)]

    def entropy(values):
        if not values:
            return 0.0
        c = Counter(values)
        return -sum(v / len(values) * math.log2(v / len(values)) for v in c.values())

    n = len(P)
    out.append(entropy(P))
    out.append(entropy([float(x.quarterLength) for x in stream.notes]))
    out.append(len({tuple(P[i : i + 3]) for i in range(n - 2)}) / (n - 2) if n >= 3 else 0.0)
    if n >= 2:
        d = [abs(b - a) % 12 for a, b in itertools.pairwise(P)]
        second = statistics.pvariance([b - a for a, b in itertools.pairwise(d)]) / 10 if len(d) >= 2 else 0.0
        out.append((len(set(d)) / 12 + second) / 2)
        dp = [b - a for a, b in itertools.pairwise(P)]
        out.append(100 * sum(1 for a, b in itertools.pairwise(dp) if a * b < 0) / (n - 1))
    else:
        out += [0.0, 0.0]
    out.append(tonal_drift(stream) if tonal else math.nan)
    return out


def tonal_drift(stream) -> float:
    s = m21.stream.Stream()
    s.append(m21.meter.TimeSignature("4/4"))
    for el in stream.notesAndRests:
        s.append(
            el.__class__(el.pitch.midi, quarterLength=el.quarterLength)
            if el.isNote
            else m21.note.Rest(quarterLength=el.quarterLength)
        )
    keys = set()
    for measure in s.makeMeasures().getElementsByClass(m21.stream.Measure):
        if measure.notes:
            k = measure.analyze("key")
            keys.add((k.tonic.name, k.mode))
    return float(max(0, len(keys) - 1))
