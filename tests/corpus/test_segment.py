from tunelab import Score
from tunelab.corpus import segments


def test_bar_segments_hold_the_notes_that_start_in_them():
    # 2/4, pickup of one 8th (2 ticks at tpq=4); a half note tied over the barline at tick 8
    s = Score.from_notes(
        [(0, 2, 67), (2, 4, 72), (6, 4, 71), (10, 8, 69)], tpq=4, time_signatures=[(0, 2, 4)], pickup=2
    )
    bars = segments(s, "bar")
    assert [(b.start, b.end) for b in bars] == [(0, 2), (2, 10), (10, 18)]
    assert [b.notes.tolist() for b in bars] == [[0], [1, 2], [3]]
    assert bars[1].sounding.tolist() == [1, 2]


def test_beat_segments_and_held_notes():
    s = Score.from_notes([(0, 8, 60), (8, 4, 62)], tpq=4, time_signatures=[(0, 3, 4)])
    beats = segments(s, "beat")
    assert [(b.start, b.end) for b in beats] == [(0, 4), (4, 8), (8, 12)]
    assert beats[1].notes.tolist() == [] and beats[1].sounding.tolist() == [0]


def test_unknown_unit_is_a_value_error():
    import pytest

    with pytest.raises(ValueError, match="unit must be"):
        segments(Score.from_notes([(0, 1, 60)]), "phrase")
