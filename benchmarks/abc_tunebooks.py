"""Folk tunebooks read right and fast: O'Neill's, Ryan's and the German Essen ABC (deutschl).

For every tune of each book, in one run:

- parse it with tunelab's native reader (the written form, and the played form expanded from
  it: both inside its time) and with music21 (the written notes; both timed, ties merged), tune
  by tune, one reader right after the other (each parse finds the caches the other left);
- then read the whole book start to end with each reader in its own pass, in one process, on
  the tunes both read natively and with music21: how long a tunebook takes, the user's question;
- count meters that are not in the source (a time signature no ``M:`` field writes);
- compare the two readings (notes, bars, meters, keys) and name each disagreement;
- write the native reading back as ABC and read it again, written form and played form (exact
  round trip, keys, modes and the form's marks included?);
- encode both forms with grid, nb, remi and cp on the coarsest grid that holds the tune, with
  keys, meters and form marks as control items, and decode (exact?), each under a 20-second
  alarm so that a hang is counted, not waited for;
- where Debian's abc2midi is installed, play the tune with it (grace notes and chord symbols
  off) and compare its notes with the native reading's played form.

Writes benchmarks/results/abc_tunebooks.md and .json.

    python benchmarks/abc_tunebooks.py [--books oneills ryans deutschl] [--every N] [--jobs 2]
"""

from __future__ import annotations

import argparse
import bisect
import gc
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENCODINGS = ("grid", "nb", "remi", "cp")
FORMS = ("written", "played")


class _Alarm(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Alarm


def invented(score, written: set) -> bool:
    """Whether the Score carries a meter the tune never writes (a free meter excepted)."""
    if score is None or None in written or "unknown" in written:
        return False
    return any((n, d) not in written for _, n, d in score.time_signatures)


def _notes(score) -> list[tuple[Fraction, Fraction, int]]:
    q = score.tpq
    return [
        (Fraction(o, q), Fraction(d, q), p)
        for o, d, p in zip(score.onset.tolist(), score.duration.tolist(), score.pitch.tolist())
    ]


def compare_music21(native, ref) -> str:
    """How music21's reading differs from the native one: the first aspect that differs."""
    a, b = _notes(native), _notes(ref)
    if len(a) != len(b):
        return "note count"
    if [x[2] for x in a] != [x[2] for x in b]:
        return "pitches"
    if a != b:
        return "onsets or durations"

    def bars(s):
        return [(Fraction(t, s.tpq), n, d) for t, n, d in s.time_signatures], Fraction(s.pickup, s.tpq)

    if bars(native)[0] != bars(ref)[0]:
        return "meters"
    if bars(native)[1] != bars(ref)[1]:
        return "pickup"
    keys = [[(Fraction(t, s.tpq), k, m) for t, k, m in s.keys] for s in (native, ref)]
    if keys[0] != keys[1]:
        return "keys"
    return "same"


def grid_for(score) -> int:
    """The coarsest steps a quarter that hold every onset, length, bar and the end."""
    ticks = [*score.onset.tolist(), *score.duration.tolist(), score.end, score.pickup]
    ticks += [t for t, _, _ in score.time_signatures]
    ticks += [score.bar_length(n, d) for _, n, d in score.time_signatures]
    g = score.tpq
    for t in ticks:
        g = math.gcd(g, int(t))
    return score.tpq // g


def tokenizer_round_trips(score) -> dict:
    import tunelab.tokenizers as tt
    from tunelab.tokenizers.metric import round_trip_problem

    spq = grid_for(score)
    longest = max([Fraction(int(d), score.tpq) for d in score.duration] + [Fraction(1)])
    bar = max(Fraction(4 * n, d) for _, n, d in score.time_signatures) if score.time_signatures else 4
    out = {}
    for name in ENCODINGS:
        signal.alarm(20)
        try:
            if name == "grid":
                tok = tt.get(name, steps_per_quarter=spq)
            else:
                tok = tt.get(name, steps_per_quarter=spq, max_bar_quarters=max(136, math.ceil(bar)),
                             max_duration_quarters=max(16, math.ceil(longest)))  # fmt: skip
            if name == "grid" and not score.is_monophonic():
                out[name] = "refused: more than one voice"
                continue
            back = tok.decode(tok.encode(score))
            problem = round_trip_problem(score, back, spq, velocity=name != "grid")
            out[name] = "exact" if problem is None else f"differs: {problem.split(':')[0]}"
        except _Alarm:
            out[name] = "hang (over 20 s)"
        except Exception as e:  # counted and named: the point is that there are none
            out[name] = f"exception: {type(e).__name__}: {str(e)[:80]}"
        finally:
            signal.alarm(0)
    return out


def abc2midi_notes(text: str, workdir: str, errors: list | None = None):
    """abc2midi's notes for one tune as ``[(onset, length, pitch)]`` in quarters, or None if it
    wrote no file; ``errors`` gets the errors it reported (each message once, in order)."""
    import symusic

    src, mid = os.path.join(workdir, "t.abc"), os.path.join(workdir, "t.mid")
    if os.path.exists(mid):
        os.remove(mid)
    # R: (rhythm) only changes abc2midi's playback: it swings R:hornpipe tunes, pairs of eighths
    # played long-short, where ABC 2.1 writes straight notes; so it does not see R:
    text = re.sub(r"^R:.*\n?", "", text, flags=re.MULTILINE)
    Path(src).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    # grace notes, chord symbols, dynamics and fermatas off (abc2midi holds a fermata twice as long)
    cmd = ["abc2midi", src, "-o", mid, "-NGRA", "-NGUI", "-NFNP", "-NFER", "-NCOM"]
    run = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=20, check=False)
    if errors is not None:  # "Error in line-char 9-5 : Could not find note to be tied"
        for line in (run.stdout + run.stderr).splitlines():
            message = line.partition(" : ")[2].strip() if line.startswith("Error") else ""
            if message and message not in errors:
                errors.append(message)
    if not os.path.exists(mid):
        return None
    midi = symusic.Score(mid)
    tpq = midi.ticks_per_quarter
    notes = [
        (Fraction(n.time, tpq), Fraction(n.duration, tpq), n.pitch) for tr in midi.tracks for n in tr.notes
    ]
    return sorted(notes)


# the disagreement classes, each a playback convention of abc2midi or a reading ABC 2.1 leaves open
STACCATO = "lengths: abc2midi plays staccato notes short"
OCTAVES = "pitches: abc2midi carries an accidental to every octave of the bar"
BROKEN = "onsets: abc2midi drops a broken rhythm next to a slur, decoration or tie"
TUPLETS = "onsets: abc2midi counts 3/4 as compound for (5 (7 (9"
ORNAMENTS = "note count: abc2midi plays ornaments (~, T) as notes"
CHORD_LENGTHS = (
    "lengths: a chord's notes written with different lengths, which abc2midi sounds for the first's"
    " (ABC 2.1 4.17 gives the chord the first note's time; tunelab keeps each note's own length)"
)
STAGGER, TICK = Fraction(1, 16), Fraction(2, 480)
UNNAMED = ("note count", "lengths", "onsets", "pitches")
REWRITTEN = "abc2midi agrees on the same music as tunelab writes it"
# abc2midi's error on the source -> the ABC 2.1 reading it misses (and tunelab keeps)
CLOSING = "a :| closing the last ending, which abc2midi takes for one more pass (ABC 2.1 4.9: the endings number the passes)"
ABC2MIDI_ERRORS = {
    "found [1 or like before |:": "an ending with no |: before it (ABC 2.1 4.9: the first repeat start may be left out)",
    "Malformed note": "a decoration letter (u, v, or a redefinable h-w, H-W: ABC 2.1 4.14, 4.16) read as a note",
    "Chord already finished": "[|], an invisible bar line (ABC 2.1 4.8), read as the start of a chord",
    "Too many notes in chord": "[|], an invisible bar line (ABC 2.1 4.8), read as the start of a chord",
    "Cannot apply broken rhythm": "a broken rhythm across notes of different lengths or a decoration (ABC 2.1 4.4, 4.20)",
    "Could not find note to be tied": "a tie abc2midi cannot place (across pitches, a broken rhythm or a decoration: ABC 2.1 4.11)",
    "Cannot find note before tie": "a tie abc2midi cannot place (across pitches, a broken rhythm or a decoration: ABC 2.1 4.11)",
}


def _aligned(played, ours):
    if played and ours and 0 < played[0][0] - ours[0][0] < Fraction(1, 8):
        lead = played[0][0] - ours[0][0]  # abc2midi starts its first note a tick late
        played = [(o - lead, d, p) for o, d, p in played]
    # abc2midi staggers the notes of a chord by 10 ticks each: onsets within a 16th of a quarter agree
    onsets = sorted({o for o, _, _ in ours})

    def snap(o):
        i = bisect.bisect_left(onsets, o)
        near = min(onsets[max(i - 1, 0) : i + 1], key=lambda x: abs(x - o), default=o)
        return near if abs(near - o) <= STAGGER else o

    return sorted(((snap(o), d, p) for o, d, p in played), key=_by_onset_and_pitch)


def _by_onset_and_pitch(note):
    return note[0], note[2]


def compare_abc2midi(text: str, expanded, workdir: str, octave_free=None, written=None) -> str:
    """How abc2midi's notes differ from ``expanded`` (the native reading with repeats expanded);
    ``octave_free``: the same reading with accidentals carried to every octave; ``written``: the
    native reading as written, which abc2midi plays again as tunelab writes it out when no named
    class explains a disagreement."""
    errors: list[str] = []
    played = abc2midi_notes(text, workdir, errors)
    if played is None:
        return "abc2midi wrote nothing"
    verdict = _verdict(text, played, expanded, octave_free)
    if verdict in UNNAMED and written is not None:
        from tunelab.io.abc_write import abc_text

        again = abc2midi_notes(abc_text(written, explicit_repeats=True), workdir)
        if again is not None and _verdict("", again, expanded) == "same":
            return f"{verdict}: {REWRITTEN} ({_why(errors, written, text)})"
    return verdict


def _why(errors: list[str], written, text: str) -> str:
    """What in the source abc2midi reads otherwise: the ABC 2.1 rule behind its first error, or
    the form marks that tunelab writes out explicitly."""
    for message in errors:
        for start, rule in ABC2MIDI_ERRORS.items():
            if message.startswith(start):
                return rule
    if errors:
        return f"abc2midi: {errors[0]}"
    if "||:" in text:
        return "||:, a section bar and a repeat start, which abc2midi repeats past"
    from tunelab.form import REPEAT_END, with_repeat_starts

    if written.form and written.form != (full := with_repeat_starts(written.form)):
        if sum(m == REPEAT_END for _, m in full.marks) < sum(m == REPEAT_END for _, m in written.form.marks):
            return CLOSING
        return "a :| whose |: is implied (abc2midi guesses where it starts)"
    return "abc2midi reports no error"


def _verdict(text: str, played, expanded, octave_free=None) -> str:
    ours = sorted(_notes(expanded), key=_by_onset_and_pitch)
    played = _aligned(sorted(played, key=_by_onset_and_pitch), ours)
    if [(o, p) for o, _, p in played] == [(o, p) for o, _, p in ours]:
        # abc2midi releases each note a tick early (a gap between notes) and a chord's notes a
        # few ticks apart: lengths within 2 ticks agree, within a 16th of a quarter in a chord
        chord = Counter(o for o, _, _ in ours)
        off = [b for a, b in zip(played, ours) if abs(a[1] - b[1]) > (STAGGER if chord[b[0]] > 1 else TICK)]
        if not off:
            return "same"
        if re.search(r"\.[A-Ga-g^_=(\[]", re.sub(r'"[^"\n]*"', "", text)):
            return STACCATO
        return CHORD_LENGTHS if all(chord[b[0]] > 1 for b in off) else "lengths"
    if len(played) > len(ours) and re.search(
        r"~|!(trill|roll|mordent|turn|[lu]mordent)[^!]*!|T(?=[A-Ga-g=^_.(H~])", text.split("\nK:", 1)[-1]
    ):
        return ORNAMENTS
    if len(played) != len(ours):
        return "note count"
    if [o for o, _, _ in played] == [o for o, _, _ in ours]:
        if octave_free is not None:  # the first pitch that differs is the one carried to every octave
            free = sorted(_notes(octave_free), key=_by_onset_and_pitch)
            i = next(i for i, (a, b) in enumerate(zip(played, ours)) if a[2] != b[2])
            if len(free) == len(ours) and free[i][2] == played[i][2]:
                return OCTAVES
        return "pitches"
    if re.search(r"[<>]+\s*[).(~!\"{uv]|[)(]\s*[<>]|[<>]\s*-|-\s*[<>]", text):
        return BROKEN
    if re.search(r"\([579]", text):
        return TUPLETS
    return "onsets"


def one_tune(task):
    from tunelab.form import played
    from tunelab.io.abc import read_abc_tune, written_meters
    from tunelab.io.abc_native import NeedsMusic21, parse_abc_tune
    from tunelab.io.abc_write import abc_text

    book, source, number, text, dialect = task
    row = {"book": book, "id": f"{Path(source).stem}#{number}"}
    written = written_meters(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # each reader is timed with the garbage of neither: music21's object graphs otherwise
        # get collected during whichever parse comes next
        gc.collect()
        t0 = time.perf_counter()
        try:
            native = read_abc_tune(text, source=source, tune=number, **dialect)
            heard = played(native)  # the played form: part of the native path's time
            row["reader"] = native.meta["reader"]
            row["form"] = "marks" if native.form else "none"
        except Exception as e:
            native, row["reader"] = None, f"failed: {type(e).__name__}"
        t1 = time.perf_counter()
        gc.collect()
        t1, t_gc = time.perf_counter(), t1
        try:
            ref = read_abc_tune(text, source=source, tune=number, native=False)
        except Exception:
            ref = None
        t2 = time.perf_counter()
    row["native_ms"], row["music21_ms"] = 1000 * (t_gc - t0), 1000 * (t2 - t1)
    row["native_invented"], row["music21_invented"] = invented(native, written), invented(ref, written)
    if native is None or ref is None:
        row["vs_music21"] = "music21 failed" if ref is None else "native failed"
    else:
        try:
            row["vs_music21"] = compare_music21(native, ref)
        except Exception as e:  # counted and named, never a stop
            row["vs_music21"] = f"comparison error: {type(e).__name__}"
    if native is not None and row["reader"] == "native":
        for form, score in (("written", native), ("played", heard)):
            try:
                back = parse_abc_tune(abc_text(score), source="round-trip", tune=number, **dialect)
                problem = score.diff(back)
                row[f"abc_round_trip_{form}"] = "exact" if problem is None else f"differs: {problem[:60]}"
            except Exception as e:
                row[f"abc_round_trip_{form}"] = f"error: {type(e).__name__}: {str(e)[:80]}"
            row[f"tokenizers_{form}"] = tokenizer_round_trips(score)
        if shutil.which("abc2midi"):
            try:
                free = played(
                    parse_abc_tune(text, source=source, tune=number, **{**dialect, "propagate": "pitch"})
                )
                with tempfile.TemporaryDirectory() as work:
                    row["vs_abc2midi"] = compare_abc2midi(text, heard, work, free, native)
            except NeedsMusic21:
                pass
            except Exception as e:
                row["vs_abc2midi"] = f"error: {type(e).__name__}"
    return row


def _warm_up() -> None:
    """A worker's first parse pays for imports (music21's are seconds): done before any timing."""
    from tunelab.io.abc import read_abc_tune

    signal.signal(signal.SIGALRM, _on_alarm)
    tune = 'X:1\nT:warm\nM:2/4\nL:1/8\nK:G\n"G"GA (3Bcd|[GB]4|]\n'
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for native in (True, False):
            read_abc_tune(tune, source="warm-up", tune=1, native=native)


def tasks_of(book: str) -> list:
    from tunelab.corpus.sources import resolve

    source = resolve(book)
    out = []
    for _, src, _, payload in source.make_tasks():
        number, text, dialect = payload
        out.append((book, src, number, text, dialect))
    return out


def book_pass(tasks: list, rows: list[dict]) -> dict:
    """Each reader over the whole book in its own pass (the tunes read natively that music21
    reads too), in this one process after the pool is done: ms a tune."""
    from tunelab.io.abc import read_abc_tune

    ids = {r["id"] for r in rows if r["reader"] == "native" and r["vs_music21"] != "music21 failed"}
    same = [t for t in tasks if f"{Path(t[1]).stem}#{t[2]}" in ids]
    _warm_up()
    out = {"book_tunes": len(same)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for key, native in (("native_book_ms", True), ("music21_book_ms", False)):
            gc.collect()
            t0 = time.perf_counter()
            for _, source, number, text, dialect in same:  # as one_tune calls each reader
                options = {**dialect, "form": "played"} if native else {}
                read_abc_tune(text, source=source, tune=number, native=native, **options)
            out[key] = 1000 * (time.perf_counter() - t0) / max(1, len(same))
    out["book_speedup"] = out["music21_book_ms"] / out["native_book_ms"]
    return out


def summarise(rows: list[dict]) -> dict:
    n = len(rows)
    ok = [r for r in rows if not r["reader"].startswith("failed")]
    native = [r for r in rows if r["reader"] == "native"]
    both = [r for r in rows if r["vs_music21"] not in ("music21 failed", "native failed")]
    native_ms = sum(r["native_ms"] for r in rows) / n
    m21_ms = sum(r["music21_ms"] for r in rows) / n
    own = [r for r in native if r["vs_music21"] != "music21 failed"]  # read natively, music21 too
    tok = {
        form: Counter(
            (name, r[f"tokenizers_{form}"][name].split(":")[0]) for r in native for name in ENCODINGS
        )
        for form in FORMS
    }
    return {
        "tunes": n,
        "parsed": len(ok),
        "parse_rate": len(ok) / n,
        "native": len(native),
        "to_music21": len(ok) - len(native),
        "native_ms_per_tune": native_ms,
        "music21_ms_per_tune": m21_ms,
        "speedup": m21_ms / native_ms,
        "native_only_ms": sum(r["native_ms"] for r in own) / max(1, len(own)),
        "native_only_music21_ms": sum(r["music21_ms"] for r in own) / max(1, len(own)),
        "invented_meters_native": sum(r["native_invented"] for r in rows),
        "invented_meters_music21": sum(r["music21_invented"] for r in rows),
        "vs_music21": dict(Counter(r["vs_music21"] for r in both).most_common()),
        "vs_music21_examples": {
            k: [r["id"] for r in both if r["vs_music21"] == k][:4]
            for k in {r["vs_music21"] for r in both} - {"same"}
        },
        "with_form_marks": sum(r.get("form") == "marks" for r in native),
        **{
            f"abc_round_trip_exact_{f}": sum(r.get(f"abc_round_trip_{f}") == "exact" for r in native)
            for f in FORMS
        },
        "abc_round_trip_problems": {
            f: [
                (r["id"], r[f"abc_round_trip_{f}"]) for r in native if r.get(f"abc_round_trip_{f}") != "exact"
            ][:4]
            for f in FORMS
        },
        **{
            f"tokenizer_round_trips_{f}": {f"{a} {b}": c for (a, b), c in sorted(tok[f].items())}
            for f in FORMS
        },
        "tokenizer_problems": {
            f"{f} {e}": [
                (r["id"], r[f"tokenizers_{f}"][e]) for r in native if r[f"tokenizers_{f}"][e] != "exact"
            ][:3]
            for f in FORMS
            for e in ENCODINGS
        },
        "vs_abc2midi": dict(Counter(r["vs_abc2midi"] for r in native if "vs_abc2midi" in r).most_common()),
        "vs_abc2midi_examples": {
            k: [r["id"] for r in native if r.get("vs_abc2midi") == k][:4]
            for k in {r.get("vs_abc2midi") for r in native} - {"same", None}
        },
        "fallback_reasons": dict(
            Counter(r.get("because", "") for r in rows if r["reader"] == "music21").most_common(8)
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--books", nargs="+", default=["oneills", "ryans", "deutschl"])
    ap.add_argument("--every", type=int, default=1, help="every Nth tune only")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--out", type=Path, default=HERE / "results" / "abc_tunebooks")
    ap.add_argument("--rows", type=Path, help="also write every tune's row here (JSON)")
    ap.add_argument("--note", default="nothing else running", help="what else ran on the machine")
    args = ap.parse_args()
    signal.signal(signal.SIGALRM, _on_alarm)
    import multiprocessing as mp

    results = {}
    for book in args.books:
        tasks = tasks_of(book)[:: args.every]
        rows, t0 = [], time.perf_counter()
        with mp.get_context("fork").Pool(args.jobs, initializer=_warm_up) as pool:
            for i, row in enumerate(pool.imap_unordered(one_tune, tasks, chunksize=8), 1):
                rows.append(row)
                if i % 250 == 0 or i == len(tasks):
                    print(
                        f"{book}: {i}/{len(tasks)} tunes ({time.perf_counter() - t0:.0f} s)",
                        file=sys.stderr,
                        flush=True,
                    )
        results[book] = summarise(rows)
        results[book].update(book_pass(tasks, rows))
        print(f"{book}: book pass {results[book]['book_speedup']:.0f}x", file=sys.stderr, flush=True)
        results[book]["rows"] = rows
    args.out.parent.mkdir(parents=True, exist_ok=True)
    slim = {b: {k: v for k, v in r.items() if k != "rows"} for b, r in results.items()}
    if args.rows:
        args.rows.write_text(json.dumps({b: r["rows"] for b, r in results.items()}))
    args.out.with_suffix(".json").write_text(json.dumps(slim, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(report(slim, args))
    print(report(slim, args))


CLASSES = """
## The disagreements, explained

Against **music21** (both read the tune as written):

- *pitches*: music21 resets an accidental at the next note of the same letter; ABC 2.1 (4.2)
  says it lasts to the end of the bar, as the native reader reads it (O'Neill's 120: `=f2 d c>AF`).
  On Essen the kern edition of the same songs confirms the native reading
  (benchmarks/results/abc_native_vs_music21.md: 5,075 tunes note-equal against 4,344).
- *note count*: music21 drops a note that carries a single-letter decoration such as `H`
  (fermata: O'Neill's 53, `HA2`) or reads a chord or tuplet otherwise; ABC 2.1 (4.14) makes `H`
  a decoration of the note, which still sounds.
- *onsets or durations*: music21 drops a broken rhythm when a decoration, slur or tie stands
  next to it (`(f>.e)`, `G-<E`); ABC 2.1 (4.4, 4.20) puts decorations with the note that
  follows, so the `>` still joins the two notes, as the native reader has it.
- *keys*: a mid-tune `K:D` is D with no mode written: the native reader keeps the mode unknown
  (the Score's mode None), music21 makes it D major; or music21 drops a mid-tune key change
  (Ryan's MollInTheWadJig: `K:Bb` in the second part).
- *meters*: a written meter change inside a bar (the bars before it do not add up in the
  source): both keep the written meters, at different places.

Against **abc2midi** (repeats expanded; grace notes, chord symbols, dynamics and fermatas off):

- *lengths: staccato played short*, *note count: ornaments played as notes*: playback
  conventions of abc2midi (a staccato note sounds half its length, `~` and `T` become groups
  of notes); the written notes agree.
- *pitches: an accidental carried to every octave of the bar*: abc2midi's default
  (`%%propagate-accidentals pitch`); the native reader follows the octave (settable:
  `propagate="pitch"`, which the Essen ABC needs and `deutschl` uses).
- *onsets: broken rhythm next to a slur, decoration or tie dropped*: as music21 above.
- *onsets: 3/4 counted compound for (5 (7 (9*: ABC 2.1 (4.13) makes n = 3 only in compound
  meters (6/8, 9/8, 12/8), 2 otherwise.
- *lengths: a chord's notes written with different lengths*: ABC 2.1 (4.17) gives a chord the
  first note's time and says no more; abc2midi sounds every note for that long, tunelab keeps
  each note's written length (onsets agree). Onsets and lengths within a 16th of a quarter agree
  inside a chord: abc2midi staggers a chord's notes by 10 ticks each.
- *abc2midi agrees on the same music as tunelab writes it (why)*: abc2midi plays tunelab's own
  ABC of the tune (every repeat start written, `abc_text(..., explicit_repeats=True)`) exactly
  as tunelab plays the source, so the two readers differ only in reading the source's notation;
  *why* names the notation: the ABC 2.1 rule behind abc2midi's first error on the source
  (an ending with no `|:` before it, 4.9; a decoration letter read as a note, 4.14/4.16; `[|]`,
  an invisible bar line, read as a chord, 4.8; a broken rhythm across different lengths or a
  decoration, 4.4/4.20; a tie abc2midi cannot place, 4.11), or, where abc2midi reports no error,
  the form mark it reads otherwise (a `:|` whose `|:` is only implied; a `:|` that closes the
  last ending, where abc2midi plays one more pass that has no ending (4.9: the endings number
  the passes); `||:`).
- the rest (*note count*, *pitches*, *onsets* without a named class) are counted and listed
  above: source slips where no reading is right (a `|:` that no `:|` closes, `|:` twice, an
  ending written `||1`).
"""


TIMING = """
Two clocks, both in this one run. *ms a tune*: each tune parsed by one reader right after the
other, a garbage collection outside the timing between them; each parse starts in the caches
the other left, and neither pays for its garbage. *Whole book*: each reader reads every tune
both read, start to end, in its own pass in one process, garbage collection included: what
reading a tunebook costs (folk-rnn's 23,000 tunes: about 10 s natively against 17-19 minutes).
"""


def report(res: dict, args) -> str:
    books = list(res)
    head = "| | " + " | ".join(books) + " |\n|---|" + "---:|" * len(books) + "\n"

    def line(label, fn):
        return f"| {label} | " + " | ".join(fn(res[b]) for b in books) + " |\n"

    table = head
    table += line("tunes", lambda r: f"{r['tunes']:,}")
    table += line("parsed (rate)", lambda r: f"{r['parsed']:,} ({r['parse_rate']:.2%})")
    table += line("read natively / sent to music21", lambda r: f"{r['native']:,} / {r['to_music21']}")
    table += line(
        "ms a tune: native path / music21",
        lambda r: f"{r['native_ms_per_tune']:.2f} / {r['music21_ms_per_tune']:.1f}",
    )
    table += line("speed-up on the same tunes", lambda r: f"{r['speedup']:.0f}x")
    table += line(
        "tunes read natively: ms native / music21 (speed-up)",
        lambda r: (
            f"{r['native_only_ms']:.2f} / {r['native_only_music21_ms']:.1f} "
            f"({r['native_only_music21_ms'] / r['native_only_ms']:.0f}x)"
        ),
    )
    table += line(
        "whole book, one pass each: ms a tune native / music21 (speed-up)",
        lambda r: f"{r['native_book_ms']:.2f} / {r['music21_book_ms']:.1f} ({r['book_speedup']:.0f}x)",
    )
    table += line(
        "tunes with invented meters: native / music21",
        lambda r: f"{r['invented_meters_native']} / {r['invented_meters_music21']}",
    )
    table += line("tunes with repeat marks, endings or parts", lambda r: f"{r['with_form_marks']:,}")
    for form in FORMS:
        table += line(
            f"ABC round trip exact, {form} form (of native)",
            lambda r, f=form: f"{r[f'abc_round_trip_exact_{f}']:,} / {r['native']:,}",
        )
        for enc in ENCODINGS:
            table += line(
                f"{enc} round trip exact, {form} form (of native)",
                lambda r, e=enc, f=form: (
                    f"{r[f'tokenizer_round_trips_{f}'].get(e + ' exact', 0):,} / {r['native']:,}"
                ),
            )
    out = "# Folk tunebooks: tunelab's native ABC reader vs music21 and abc2midi\n\n"
    out += (
        f"Produced by `python benchmarks/abc_tunebooks.py` (every {args.every} tune(s), {args.jobs} processes, "
        f"{args.note}).\n\n" + table + TIMING
    )
    for b in books:
        r = res[b]
        out += (
            f"\n## {b}\n\nAgainst music21 (tunes both read): "
            + ", ".join(f"{k} {v}" for k, v in r["vs_music21"].items())
            + "\n\n"
        )
        for k, ex in r["vs_music21_examples"].items():
            out += f"- {k}: {', '.join(ex)}\n"
        for form in FORMS:
            out += (
                f"\nTokenizer round trips, {form} form: "
                + ", ".join(f"{k} {v}" for k, v in r[f"tokenizer_round_trips_{form}"].items())
                + "\n"
            )
        problems = [f"{k}: {v}" for k, v in r["tokenizer_problems"].items() if v]
        problems += [f"ABC {k}: {v}" for k, v in r["abc_round_trip_problems"].items() if v]
        out += "".join(f"- {p}\n" for p in problems) + "\n"
        if r["vs_abc2midi"]:
            out += (
                "Against abc2midi (the played form): "
                + ", ".join(f"{k} {v}" for k, v in r["vs_abc2midi"].items())
                + "\n\n"
            )
            for k, ex in r["vs_abc2midi_examples"].items():
                out += f"- {k}: {', '.join(ex)}\n"
    return out + CLASSES


if __name__ == "__main__":
    main()
