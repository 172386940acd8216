import time

import pytest

from tunelab.errors import ParseError
from tunelab.io.abc import read_abc_tune
from tunelab.io.abc_native import NeedsMusic21, parse_abc_tune

HEAD = "X:1\nM:4/4\nL:1/8\nK:C\n"  # L:1/8: one unit is 240 ticks at tpq 480


def tune(body, header=HEAD, **options):
    return parse_abc_tune(header + body, source="t.abc", tune=1, **options)


def notes(s):
    return list(zip(s.onset.tolist(), s.duration.tolist(), s.pitch.tolist()))


def test_key_signature_and_accidentals_that_last_to_the_barline():
    s = tune("F2 ^F2 F2 =F2 | F2 c2 C2 C,2 |]", header="X:1\nM:4/4\nL:1/8\nK:D\n")
    # K:D sharpens F and C; ^F lasts to the bar line, =F cancels it
    assert s.pitch.tolist() == [66, 66, 66, 65, 66, 73, 61, 49]
    assert s.keys == [(0, "D", "major")]  # ABC 2.1, 3.1.14: a tonic alone is the major key


@pytest.mark.parametrize(
    "field, key, c_pitch",
    [("Hm", ("B", "minor"), 61), ("Esdor", ("Eb", "dorian"), 60), ("H", ("B", "major"), 61), ("Ador", ("A", "dorian"), 60),
     ("D =c", ("D", "major"), 60), ("HP", None, 60), ("Hp", None, 61), ("none ^c", None, 61), ("Bbmix", ("Bb", "mixolydian"), 60)],
)  # fmt: skip
def test_key_fields(field, key, c_pitch):
    # German names (Essen), modes, explicit accidentals; highland pipes: HP without signature, Hp
    # with F and C sharp (ABC 2.1, 3.1.14)
    s = tune("C8 |]", header=f"X:1\nM:4/4\nL:1/8\nK:{field}\n")
    assert s.keys == ([(0, *key)] if key else []) and s.pitch.tolist() == [c_pitch]


def test_a_bare_tonic_is_major_unless_the_dialect_says_the_mode_is_unknown():
    # the Essen ABC writes K:G for G minor too: its corpus reads a bare tonic as "mode unknown"
    assert tune("C8 |]", header="X:1\nM:4/4\nL:1/8\nK:G\n", bare_key=None).keys == [(0, "G", None)]
    assert tune("C8 |]", header="X:1\nM:4/4\nL:1/8\nK:G\n").keys == [(0, "G", "major")]
    assert tune("C8 |]", header="X:1\nM:4/4\nL:1/8\nK:Gm\n", bare_key=None).keys == [(0, "G", "minor")]


def test_lengths_default_unit_and_rests():
    s = tune("C/2D/ E3/2 z2 G4 |]", header="X:1\nM:2/4\nK:Gm\n")  # 2/4 < 3/4: L defaults to 1/16
    assert s.duration.tolist() == [60, 60, 180, 480]
    assert s.rests.tolist() == [[300, 240]]
    assert s.keys == [(0, "G", "minor")]
    assert s.pitch.tolist()[1] == 62 and s.pitch.tolist()[-1] == 67


def test_spacers_and_multi_bar_rests():
    s = tune("C2 x2 D2 z2 |]")  # x is invisible: time passes, no notated rest
    assert notes(s) == [(0, 480, 60), (960, 480, 62)] and s.rests.tolist() == [[1440, 480]]
    s = tune("Z2 | C8 |]")  # two bars of 4/4
    assert notes(s) == [(3840, 1920, 60)] and s.rests.tolist() == [[0, 3840]]


def test_ties_merge_or_keep_and_broken_rhythm():
    merged = tune("c4- | c4 d>e f<g |]", header="X:1\nM:2/4\nL:1/8\nK:C\n")
    assert merged.duration.tolist()[:1] == [1920]
    assert merged.duration.tolist()[1:] == [360, 120, 120, 360]
    kept = parse_abc_tune("X:1\nM:2/4\nL:1/8\nK:C\nc4- | c4 |]", source="t.abc", ties="keep")
    assert kept.duration.tolist() == [960, 960]
    # doubled: 7/4 and 1/4 of the pair's time
    assert notes(tune("a>>b a<b |]")) == [(0, 420, 81), (420, 60, 83), (480, 120, 81), (600, 360, 83)]
    # a broken rhythm after a tie lengthens the whole tied note by what its last part gains
    assert notes(tune("c2-c>d |]")) == [(0, 840, 72), (840, 120, 74)]
    # a single note's tie, worked out only when the tie comes: its written sharp goes over the
    # barline with it (the next c of that bar is natural), a tie after a rest ties nothing, a
    # doubled tie is one tie
    assert notes(tune("^c2- | c2 c2 |]")) == [(0, 960, 73), (960, 480, 72)]
    assert notes(tune("z2- c2 c-c |]")) == [(480, 480, 72), (960, 480, 72)]
    assert notes(tune("c2-- c2 |]")) == [(0, 960, 72)]


def test_chords_take_the_first_notes_length():
    assert notes(tune("[CEG]2 |]")) == [(0, 480, 60), (0, 480, 64), (0, 480, 67)]
    # ABC 2.1: each note keeps its own length, the chord moves on by its first note's
    assert notes(tune("[C2E4] D2 |]")) == [(0, 480, 60), (0, 960, 64), (480, 480, 62)]
    assert notes(tune("[CE]3/2 [DF]/ |]")) == [(0, 360, 60), (0, 360, 64), (360, 120, 62), (360, 120, 65)]
    # a tie inside the chord ties the chord
    assert notes(tune("[c2-e2-] [ce]2 |]")) == [(0, 960, 72), (0, 960, 76)]


def test_tuplets_and_the_resolution_they_need():
    s = tune("(3CDE F2 |]")  # three in the time of two
    assert notes(s) == [(0, 160, 60), (160, 160, 62), (320, 160, 64), (480, 480, 65)]
    six_eight = tune("(3CDE F |]", header="X:1\nM:6/8\nL:1/8\nK:C\n")  # (3 is always 3:2
    assert six_eight.duration.tolist() == [160, 160, 160, 240]
    # (7 in simple meter: seven 16ths in the time of two: 1/14 of a quarter each, finer than 480
    s = tune("(7CDEFGAB C2 |]", header="X:1\nM:4/4\nL:1/16\nK:C\n")
    assert s.tpq == 3360 and s.duration.tolist() == [240] * 7 + [1680]
    # (p:q:r: 3 in the time of 2 for the next 2 notes only
    assert tune("(3:2:2C2D2 E2 |]").duration.tolist() == [320, 320, 480]


def test_chord_symbols_grace_notes_and_decorations():
    s = tune('"Am"A2 "G"B2 "^text"c2 |]')  # an annotation (^_<>@) is not a chord symbol
    assert s.meta["chords"] == [[0, "Am"], [480, "G"]]
    assert notes(tune("{g}A2 |]")) == [(0, 480, 69)]
    assert notes(tune("{gf}A2 |]", grace="keep")) == [(0, 60, 79), (60, 60, 77), (120, 360, 69)]
    plain = notes(tune("A2 B2 c2 d2 e2 f2 |]"))
    assert notes(tune("!trill!A2 ~B2 .c2 Hd2 +fermata+e2 (f2) |]")) == plain


def test_repeats_as_written_or_as_played():
    assert tune("|: C D :| E F |]").pitch.tolist() == [60, 62, 64, 65]
    played = tune("|: C D :| E F |]", form="played")
    assert notes(played) == [(i * 240, 240, p) for i, p in enumerate([60, 62, 60, 62, 64, 65])]
    endings = tune("|: C D |1 E F :|2 G A |]", form="played")
    assert endings.pitch.tolist() == [60, 62, 64, 65, 60, 62, 67, 69]
    assert tune("C2 |: D2 E2 F2 G2 | A4 B2 :|").meta["barlines"] == [480, 2400, 3840]
    # a :| with no |: goes back to the last double bar (as abc2midi plays it), else to the start
    assert tune("C D :| E F || G A :|", form="played").pitch.tolist() == [
        60,
        62,
        60,
        62,
        64,
        65,
        67,
        69,
        67,
        69,
    ]
    assert tune("C D E F | G A :|", form="played").pitch.tolist() == [60, 62, 64, 65, 67, 69] * 2


def test_fields_inside_the_music():
    s = tune("C D [K:G] F F | [M:3/4] F6 |]")
    assert s.pitch.tolist() == [60, 62, 66, 66, 66] and s.keys == [(0, "C", "major"), (480, "G", "major")]
    assert s.time_signatures == [(0, 4, 4), (960, 3, 4)]
    s = tune("C8 |\nM:3/4\nL:1/4\nF3 |]")
    assert notes(s) == [(0, 1920, 60), (1920, 1440, 65)] and s.time_signatures == [(0, 4, 4), (1920, 3, 4)]
    assert tune("C2 [L:1/4] C2 |]").duration.tolist() == [480, 960]


def test_voices_sound_together():
    s = tune("V:1\nC8 |\nV:2\nE4 G4 |\nV:1\nD8 |]")
    assert sorted(notes(s)) == [(0, 960, 64), (0, 1920, 60), (960, 960, 67), (1920, 1920, 62)]
    assert s.meta["voices"] == 2


def test_pickup_and_free_meter():
    s = tune("G | c2 c2 c2 c2 | G6 |]", header="X:1\nM:4/4\nL:1/8\nK:C\n")
    assert s.pickup == 240 and s.time_signatures == [(0, 4, 4)]
    free = tune("c2 d2 e2 | f4 |]", header="X:1\nM:none\nL:1/8\nK:C\n")
    assert free.time_signatures == [(0, 3, 4), (1440, 2, 4)] and not free.meta["declared_meter"]


def test_meters_are_only_what_is_written():
    # Essen ABC: one phrase a line, no barline at the line end
    full = parse_abc_tune("X:1\nM:3/4\nL:1/4\nK:C\nC D E | F3\nG A B | c3 |]")
    assert full.time_signatures == [(0, 3, 4)] and full.bar_starts().tolist() == [0, 1440, 2880, 4320]
    # a bar that overruns its meter stays as written, nothing invented; the barlines keep it
    long = parse_abc_tune("X:1\nM:4/2\nL:1/4\nK:C\nG2 | G2G2B2G2 | d4d4z2\nd2 | e2d2f2d2 | e8 |]")
    assert long.time_signatures == [(0, 4, 2)] and long.pickup == 960
    assert long.meta["barlines"] == [960, 4800, 10560, 14400, 18240]
    # short bars before a repeat and at the end stay bars of 6/8
    jig = tune("A | B2c d2e :| f3 e2 |]", header="X:1\nM:6/8\nL:1/8\nK:D\n")
    assert jig.time_signatures == [(0, 6, 8)] and jig.pickup == 240


@pytest.mark.parametrize(
    "body, reason",
    [("C D E & F |]", "voice overlay"), ("C D E \u00a3 |]", "unexpected"), ("[CEG |]", "chord"), ("[zz]2 C|]", "chord")],
)  # fmt: skip
def test_beyond_the_native_reader_goes_to_music21(body, reason):
    with pytest.raises(NeedsMusic21, match=reason):
        tune(body)
    if reason == "voice overlay":  # music21 reads it, and the Score says why it was needed
        s = read_abc_tune("X:1\nT:x\nM:4/4\nL:1/8\nK:C\n" + body, source="t.abc", tune=1)
        assert s.meta["reader"] == "music21" and "voice overlay" in s.meta["music21_because"]
        assert 60 in s.pitch.tolist()


def test_macros_go_to_music21():
    with pytest.raises(NeedsMusic21, match="m: field"):
        tune("C8|", header="X:1\nm:~n2=xx\nL:1/8\nK:C\n")


def test_errors_name_the_tune_and_line():
    with pytest.raises(ParseError) as err:
        parse_abc_tune("X:7\nL:0\nK:C\nC|", source="b.abc", tune=7)
    assert str(err.value) == "b.abc (tune 7), line 2: L: field '0' must be positive"
    with pytest.raises(ParseError, match=r"b.abc \(tune 3\), line 3: grace notes that are never closed"):
        parse_abc_tune("X:3\nK:C\n{CEG|]", source="b.abc", tune=3)
    with pytest.raises(ParseError, match=r"line 5: pitch C,,,,,,,,\.\.\. is outside MIDI 0-127"):
        tune("C" + "," * 1000 + "|]")


def test_accidental_reach_and_ties_over_the_barline():
    body = "X:1\nM:4/4\nL:1/4\nK:D\n=C c c2- | c2 c2 |]"
    # ABC 2.1: =C naturalizes C4 only; c (C5) keeps the key's C#. A tie carries C#5 over the bar.
    assert parse_abc_tune(body).pitch.tolist() == [60, 73, 73, 73]
    assert parse_abc_tune(body).duration.tolist() == [480, 480, 1920, 960]
    # Essen style: the natural reaches every octave of C until the bar line
    assert parse_abc_tune(body, propagate="pitch").pitch.tolist() == [60, 72, 72, 73]
    directive = body.replace("K:D\n", "K:D\n%%propagate-accidentals pitch\n")
    assert parse_abc_tune(directive).pitch.tolist() == [60, 72, 72, 73]
    assert parse_abc_tune("X:1\nL:1/4\nK:D\n^G g =G G |]", propagate="not").pitch.tolist() == [68, 79, 67, 67]


ADVERSARIAL = {
    "a length typo": HEAD + "C999999999 |]",
    "a multi-bar rest typo": HEAD + "Z999999999 |]",
    "a huge tuplet": HEAD + "(9:9999999:9CDEFGABcd |]",
    "endless slashes": HEAD + "C" + "/" * 10_000 + " |]",
    "endless broken rhythm": HEAD + "C" + ">" * 10_000 + "D |]",
    "a tiny unit": "X:1\nM:4/4\nL:1/99999999\nK:C\nC |]",
    "100,000 slurs": HEAD + "(" * 100_000 + "C |]",
    "many short repeats": HEAD + "|: C :|" * 2_000,
    "nested repeat signs": HEAD + "|:" * 2_000 + "C" + ":|" * 2_000,
    "3,000 voices": HEAD + "".join(f"[V:{i}]C|" for i in range(3_000)),
    "barlines only": HEAD + "|" * 100_000,
    "a meter of 0": "X:1\nM:0/4\nL:1/8\nK:C\nC |]",
}


@pytest.mark.parametrize("name", ADVERSARIAL)
@pytest.mark.parametrize("form", ["written", "played"])
def test_hostile_tunes_end_fast_with_a_clear_outcome(name, form):
    start = time.perf_counter()
    try:
        s = parse_abc_tune(ADVERSARIAL[name], source="t.abc", tune=1, form=form)
        s.bar_starts(), s.beat_starts()  # what every later stage walks
    except (ParseError, NeedsMusic21) as err:
        assert str(err)
    assert time.perf_counter() - start < 2.0


ONE_32ND_TOO_LONG = "X:1\nT:long bar\nM:2/4\nL:1/16\nK:G\nGABc dBcA B/|G8|B4 A4|G8|]\n"


def test_a_bar_one_32nd_too_long_is_read_tokenized_and_evaluated_without_hanging(tmp_path):
    """It once became a 1/32 meter change, a bar of length 0 on the 16th grid, and bar_starts
    looped for ever; tokenize and evaluate spun at 100% CPU. A subprocess with a deadline."""
    import subprocess
    import sys

    (tmp_path / "long.abc").write_text(ONE_32ND_TOO_LONG)
    code = (
        "import tunelab.tokenizers as tt\n"
        "from tunelab.io import read\n"
        "from tunelab.metrics.suites import study17_of\n"
        f"s = read({str(tmp_path / 'long.abc')!r})\n"
        "assert s.time_signatures == [(0, 2, 4)], s.time_signatures\n"
        "for name in ('nb', 'remi', 'cp'):\n"
        "    tok = tt.get(name, steps_per_quarter=8)\n"
        "    assert len(tok.decode(tok.encode(s))) == len(s)\n"
        "    try:\n"
        "        tt.get(name).encode(s)\n"  # a 32nd on a 16th grid: refused, never moved in silence
        "        raise SystemExit('encoded off the grid')\n"
        "    except ValueError as e:\n"
        "        assert 'not on a grid of 4 steps' in str(e), e\n"
        "try:\n"
        "    study17_of(s)\n"
        "except ValueError as e:\n"
        "    assert 'collide when quantized' in str(e), e\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_a_meter_a_score_cannot_hold_is_refused_not_looped_over():
    from tunelab.score import Score

    with pytest.raises(ValueError, match="1/32: a bar is not whole ticks at tpq=4"):
        Score.from_notes([(0, 4, 60)], tpq=4, time_signatures=[(0, 1, 32)])
