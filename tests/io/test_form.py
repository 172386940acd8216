"""The written form (repeat marks, endings, parts) and the played form, checked against what
abc2midi plays where it is installed (make test installs it) and by hand everywhere."""

import shutil
import subprocess

import pytest

from tunelab.form import Form, parse_order, play_ranges, played
from tunelab.io.abc_native import parse_abc_tune
from tunelab.io.abc_write import abc_text
from tunelab.score import Score

HEAD = "X:1\nM:4/4\nL:1/4\nK:C\n"
NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def letters(score: Score) -> str:
    return " ".join(NAMES[p % 12] for p in score.pitch.tolist())


# (body, the notes as played): every case here is also played by abc2midi in the test below
CASES = {
    "|: ... || ... :| repeats from the |:": ("|:CDEF|GABc||FEDC|C4:|", "C D E F G A B C F E D C C " * 2),
    "no |: : from the start": ("CDEF|GABc||FEDC|C4:|", "C D E F G A B C F E D C C " * 2),
    "after a repeat, from the section bar": (
        "|:CDEF:|GABc||FEDC|C4:|", "C D E F C D E F G A B C F E D C C F E D C C"),
    "after a repeat, from its end": ("CDEF:|GABc|FEDC|C4:|", "C D E F " * 2 + "G A B C F E D C C " * 2),
    "first and second endings": ("|:C D|1 E F:|2 G A|B c|]", "C D E F C D G A B C"),
    "ranged and listed endings": ("|:C D|[1,3 E F:|[2 G A:|[4 B B|]", "C D E F C D G A C D E F C D B B"),
    "::": ("|:C D::E F:|", "C D C D E F E F"),
}  # fmt: skip


@pytest.mark.parametrize("name", CASES)
def test_repeats_and_endings_play_as_written(name):
    body, want = CASES[name]
    assert letters(parse_abc_tune(HEAD + body + "\n", form="played")) == want.strip()


@pytest.mark.parametrize(
    "order, want",
    [
        ("AABA", "A A B A"),
        ("(AB)2", "A B A B"),
        ("A2B", "A A B"),
        ("B.A", "B A"),
        ("(A2B)2C", "A A B A A B C"),
    ],
)
def test_a_header_play_order_with_counts_and_brackets(order, want):
    parts = {"A": "C D E F C D E F", "B": "G A B C", "C": "B"}  # part A repeats itself
    text = f"X:1\nM:4/4\nL:1/4\nP:{order}\nK:C\nP:A\n|:CDEF:|\nP:B\nGABc|]\nP:C\nB4|]\n"
    assert letters(parse_abc_tune(text, form="played")) == " ".join(parts[p] for p in want.split())


@pytest.mark.skipif(not shutil.which("abc2midi"), reason="abc2midi not installed (make test installs it)")
@pytest.mark.parametrize("name", CASES)
def test_abc2midi_plays_the_same(name, tmp_path):
    import symusic

    body, _ = CASES[name]
    (tmp_path / "t.abc").write_text(HEAD + body + "\n")
    subprocess.run(
        ["abc2midi", str(tmp_path / "t.abc"), "-o", str(tmp_path / "t.mid")], capture_output=True, check=True
    )
    midi = symusic.Score(str(tmp_path / "t.mid"))
    heard = [p for _, p in sorted((n.time, n.pitch) for t in midi.tracks for n in t.notes)]
    assert heard == parse_abc_tune(HEAD + body + "\n", form="played").pitch.tolist()


# (body, the notes as played, abc2midi's notes): where abc2midi reads the source otherwise
# (O'Neill's Banish Misfortune, Daniel O'Rourke, Kitty Nowlan...; Ryan's Calisthenic Hornpipe)
AFTER_ENDINGS = {
    "a part after the last ending repeats from its section bar": (
        "C::D|[1E:|[2F||G:|", "C C D E D F G G", "C C D E D F G D G"),
    "a :| closing the last ending plays no third pass": ("|:C|[1D:|[2E:|", "C D C E", "C D C E C"),
    "an unmarked second ending after a :| is played": ("|:C|[1D:|E F|]", "C D C E F", None),
}  # fmt: skip


def _abc2midi(text: str, tmp_path) -> str:
    import symusic

    (tmp_path / "t.abc").write_text(text)
    run = ["abc2midi", str(tmp_path / "t.abc"), "-o", str(tmp_path / "t.mid")]
    subprocess.run(run, capture_output=True, check=True)
    midi = symusic.Score(str(tmp_path / "t.mid"))
    return " ".join(NAMES[p % 12] for _, p in sorted((n.time, n.pitch) for t in midi.tracks for n in t.notes))


@pytest.mark.skipif(not shutil.which("abc2midi"), reason="abc2midi not installed (make test installs it)")
@pytest.mark.parametrize("name", AFTER_ENDINGS)
def test_after_the_last_ending_and_abc2midi_agrees_once_written_out(name, tmp_path):
    body, want, theirs = AFTER_ENDINGS[name]
    s = parse_abc_tune(HEAD + body + "\n")
    assert letters(played(s)) == want
    if theirs is not None:  # abc2midi's own reading of the source: the disagreement is real
        assert _abc2midi(HEAD + body + "\n", tmp_path) == theirs
    # written out with every repeat start and a closing :| as a section bar, abc2midi plays ours
    full = abc_text(s, explicit_repeats=True)
    assert _abc2midi(full, tmp_path) == want
    assert letters(played(parse_abc_tune(full))) == want


def test_meter_and_key_changes_survive_the_repeats():
    s = parse_abc_tune("X:1\nM:4/4\nL:1/4\nK:C\nCDEF|\nM:3/4\nK:G\nGAF:|\n", form="played")
    q = 480
    assert s.time_signatures == [(0, 4, 4), (4 * q, 3, 4), (7 * q, 4, 4), (11 * q, 3, 4)]
    assert s.keys == [(0, "C", "major"), (4 * q, "G", "major"), (7 * q, "C", "major"), (11 * q, "G", "major")]
    assert letters(s) == "C D E F G A F# " * 1 + "C D E F G A F#"


def test_an_m_field_between_k_and_the_first_note_replaces_the_meter():
    # was "time signatures must be sorted" (17 tunes of a 1,037-tune collection)
    s = parse_abc_tune("X:1\nM:4/4\nL:1/8\nK:A\nM:6/8\nf|ecc c2f|]\n")
    assert s.time_signatures == [(0, 6, 8)] and s.pickup == 240


def test_the_written_form_is_kept_and_written_back():
    text = "X:1\nM:6/8\nL:1/8\nP:AB\nK:Ddor\nP:A\nA|:dfa afd|1 efg fed:|2 gfe d2||\nP:B\n|:B2c d2e|f3 f3:|\n"
    s = parse_abc_tune(text)
    assert s.form.order == "AB" and s.keys == [(0, "D", "dorian")]
    assert [m for _, m in s.form.marks] == ["P:A", "|:", "[1", ":|", "[2", "P:B", "|:", ":|"]
    out = abc_text(s)
    assert "P:AB" in out and "|1" in out and ":|2" in out and "\nP:B\n" in out and "K:Ddor" in out
    back = parse_abc_tune(out)
    assert back.diff(s) is None  # form, key and notes
    heard = played(s)
    assert heard.form is None and heard.diff(parse_abc_tune(abc_text(heard))) is None
    # A: the upbeat, then 6 + 6 (ending 1) and 6 + 4 (ending 2); B: 6 notes twice
    assert len(heard) == 1 + 12 + 10 + 2 * 6


def test_parts_and_ranges_by_hand():
    form = Form(((0, "|:"), (4, "[1"), (6, ":|"), (6, "[2")))  # |: A |1 B :|2 C |]
    assert play_ranges(form, 8) == [(0, 6), (0, 4), (6, 8)]
    assert parse_order("(AB)2 C") == ["A", "B", "A", "B", "C"]
    with pytest.raises(ValueError, match="not a part label"):
        parse_order("A+B")
    with pytest.raises(ValueError, match="not a form mark"):
        Form(((0, "|::|"),))


def test_a_note_that_sounds_past_a_jump_is_cut_where_the_music_jumps():
    # C, then a D that would sound 480 ticks past the :| at 1920: cut where the first pass jumps
    # back, whole in the second, which goes on past the repeat sign
    s = Score.from_notes([(0, 960, 60), (960, 1440, 62)], end=2400, form=Form(((1920, ":|"),)))
    p = played(s)
    assert p.onset.tolist() == [0, 960, 1920, 2880] and p.pitch.tolist() == [60, 62, 60, 62]
    assert p.duration.tolist() == [960, 960, 960, 1440] and p.end == 4320
    # nothing past the jump: the lengths are the written ones, the second pass moved by 1920
    s = Score.from_notes([(0, 960, 60), (960, 960, 62)], end=2400, form=Form(((1920, ":|"),)))
    assert played(s).duration.tolist() == [960] * 4 and played(s).onset.tolist() == [0, 960, 1920, 2880]


def test_a_p_field_of_text_is_no_order_and_no_part():
    # Ryan's ChorusJig: "P:Modern Version." was an unreadable tune
    s = parse_abc_tune("X:1\nM:6/8\nL:1/8\nP:Modern Version.\nK:G\nP:Modern\n|:GAB c2d:|\n", form="played")
    assert len(s) == 10 and s.meta["sections"]


def test_generated_abc_writes_every_repeat_start_and_plays_the_same():
    from tunelab.form import with_repeat_starts

    form = Form(((240, ":|"), (360, "||"), (480, ":|")))
    full = with_repeat_starts(form)
    assert full.marks == ((0, "|:"), (240, ":|"), (360, "|:"), (480, ":|"))
    assert play_ranges(full, 600) == play_ranges(form, 600)
    s = parse_abc_tune(HEAD + "CDEF:|GABc||FEDC|C4:|\n")
    assert abc_text(s, explicit_repeats=True).count("|:") == 2 and "|:" not in abc_text(s)


@pytest.mark.parametrize("last", ["|:|", "[|]:", "|[2"])
def test_a_repeat_or_ending_opened_at_the_very_end_opens_nothing_and_writes_back(last):
    """O'Neill's "G3-G2 |:|" and Ryan's "AGF "D.C."[|]:|": a start of repeat (or an ending) at the
    last barline has nothing after it. Read as abc2midi plays it (no repeat) and written back as
    the barline it is, so the written form round-trips (11 O'Neill's and 12 Ryan's tunes did not)."""
    s = parse_abc_tune(f"X:1\nM:2/4\nL:1/8\nK:C\nAB cd {last}\n", source="t", tune=1)
    assert s.form is None and len(played(s)) == 4
    again = parse_abc_tune(abc_text(s), source="t", tune=1)
    assert again.form is None and again.pitch.tolist() == s.pitch.tolist()
