import pytest

from tunelab.errors import ParseError
from tunelab.io.abc import read_abc_tune
from tunelab.io.abc_native import NeedsMusic21, parse_abc_tune


def tune(body, header="X:1\nM:4/4\nL:1/8\nK:C\n"):
    return parse_abc_tune(header + body, source="t.abc", tune=1)


def test_key_signature_and_accidentals_that_last_to_the_barline():
    s = tune("F2 ^F2 F2 =F2 | F2 c2 C2 C,2 |]", header="X:1\nM:4/4\nL:1/8\nK:D\n")
    # K:D sharpens F and C; ^F lasts to the bar line, =F cancels it
    assert s.pitch.tolist() == [66, 66, 66, 65, 66, 73, 61, 49]
    assert s.keys == [(0, "D", None)]


def test_lengths_default_unit_and_rests():
    s = tune("C/2D/ E3/2 z2 G4 |]", header="X:1\nM:2/4\nK:Gm\n")  # 2/4 < 3/4: L defaults to 1/16
    assert s.duration.tolist() == [60, 60, 180, 480]
    assert s.rests.tolist() == [[300, 240]]
    assert s.keys == [(0, "G", "minor")]
    assert s.pitch.tolist()[1] == 62 and s.pitch.tolist()[-1] == 67


def test_ties_merge_or_keep_and_broken_rhythm():
    merged = tune("c4- | c4 d>e f<g |]", header="X:1\nM:2/4\nL:1/8\nK:C\n")
    assert merged.duration.tolist()[:1] == [1920]
    assert merged.duration.tolist()[1:] == [360, 120, 120, 360]
    kept = parse_abc_tune("X:1\nM:2/4\nL:1/8\nK:C\nc4- | c4 |]", source="t.abc", ties="keep")
    assert kept.duration.tolist() == [960, 960]


def test_pickup_and_free_meter():
    s = tune("G | c2 c2 c2 c2 | G6 |]", header="X:1\nM:4/4\nL:1/8\nK:C\n")
    assert s.pickup == 240 and s.time_signatures == [(0, 4, 4)]
    free = tune("c2 d2 e2 | f4 |]", header="X:1\nM:none\nL:1/8\nK:C\n")
    assert free.time_signatures == [(0, 3, 4), (1440, 2, 4)] and not free.meta["declared_meter"]


@pytest.mark.parametrize("body", ["[CEG]2 |]", "(3CDE F2 |]", '"Am"A2 |]', "{g}A2 |]", "!trill!A2 |]"])
def test_beyond_the_native_reader_goes_to_music21(body):
    with pytest.raises(NeedsMusic21):
        tune(body)
    text = "X:1\nT:x\nM:4/4\nL:1/8\nK:C\n" + body
    assert len(read_abc_tune(text, source="t.abc", tune=1)) >= 1  # music21 reads it


def test_errors_name_the_tune_and_line():
    with pytest.raises(ParseError) as err:
        parse_abc_tune("X:7\nL:0\nK:C\nC|", source="b.abc", tune=7)
    assert str(err.value) == "b.abc (tune 7), line 2: L: field '0' must be positive"


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


def test_a_line_ending_on_a_full_bar_ends_the_bar():
    # Essen ABC: one phrase a line, no barline at the line end.
    full = parse_abc_tune("X:1\nM:3/4\nL:1/4\nK:C\nC D E | F3\nG A B | c3 |]")
    assert full.time_signatures == [(0, 3, 4)] and full.bar_starts().tolist() == [0, 1440, 2880, 4320]
    # a phrase that overruns its bar keeps one long bar, as the kern edition writes it (6/2)
    long = parse_abc_tune("X:1\nM:4/2\nL:1/4\nK:C\nG2 | G2G2B2G2 | d4d4z2\nd2 | e2d2f2d2 | e8 |]")
    assert long.time_signatures == [(0, 4, 2), (4800, 6, 2), (10560, 4, 2)] and long.pickup == 960
