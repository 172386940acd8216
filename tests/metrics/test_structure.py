import numpy as np

from tunelab import Score
from tunelab.metrics.structure import (
    beat_alignment,
    coherence,
    metrical_weights,
    ssm,
    ssm_summary,
    structure,
    syncopation,
)


def melody(notes, num=4, den=4, pickup=0, end=None):
    return Score.from_notes(notes, tpq=4, time_signatures=[(0, num, den)], pickup=pickup, end=end)


def test_metrical_weights_follow_the_meter():
    assert metrical_weights(4, 4).tolist() == [0, -4, -3, -4, -2, -4, -3, -4, -1, -4, -3, -4, -2, -4, -3, -4]
    assert metrical_weights(3, 4).tolist() == [0, -3, -2, -3, -1, -3, -2, -3, -1, -3, -2, -3]
    assert metrical_weights(6, 8).tolist() == [0, -3, -2, -3, -2, -3, -1, -3, -2, -3, -2, -3]


def test_lhl_syncopation_by_hand():
    # 4/4: an eighth, a quarter from the 2nd eighth over beat 2, an eighth, then a half note
    s = melody([(0, 2, 60), (2, 4, 62), (6, 2, 64), (8, 8, 65)])
    # the quarter at position 2 (weight -3) is held over position 4 (weight -2): +1
    assert syncopation(s) == {"syncopation_lhl": 1.0, "syncopation_lhl_per_bar": 1.0}
    straight = melody([(0, 4, 60), (4, 4, 62), (8, 8, 64)])
    assert syncopation(straight)["syncopation_lhl"] == 0.0
    # a note on the last 16th of bar 1 held over the next downbeat: 0 - (-4) = 4; the note after
    # it starts on the half bar (-1) and is held over only weaker positions
    assert syncopation(melody([(0, 15, 60), (15, 9, 62), (24, 8, 64)]))["syncopation_lhl"] == 4.0


def test_ssm_sees_a_repeated_bar():
    bar = [(0, 4, 60), (4, 4, 64), (8, 8, 67)]
    other = [(16, 2, 62), (18, 2, 65), (20, 12, 69)]
    again = [(o + 32, d, p) for o, d, p in bar]
    S = ssm(melody(bar + other + again))
    assert S.shape == (3, 3) and np.allclose(np.diag(S), 1.0)
    assert S[0, 2] == 1.0 > S[0, 1]
    summary = ssm_summary(S)
    assert summary["repetition_lag"] == 1.0  # with 3 bars only lag 1 has more than one cell
    four = ssm(melody(bar + other + again + [(o + 32, d, p) for o, d, p in other]))
    assert ssm_summary(four)["repetition"] == 1.0 and ssm_summary(four)["repetition_lag"] == 2.0


def test_coherence_and_beat_alignment_by_hand():
    s = melody([(0, 4, 60), (4, 4, 64), (8, 2, 62), (10, 6, 60)])
    assert coherence(s) == {"pitch_deviation": 1.5, "mean_interval": 8 / 3}  # mean pitch 61.5
    assert beat_alignment(s) == 0.75  # onsets 0, 4, 8 on beats; 10 not
    assert set(structure(s)) >= {"ssm_mean_offdiag", "syncopation_lhl", "beat_alignment", "pitch_deviation"}


def test_meters_in_32nds_on_the_16th_grid_are_measured_not_divided_by_zero():
    """Event tokenizers now allow 4/32 (two 16ths a bar); a generated melody may use it."""
    assert metrical_weights(4, 32).tolist() == [0, -1]
    s = Score.from_notes([(i, 1, 60 + i % 5) for i in range(16)], tpq=4, time_signatures=[(0, 4, 32)])
    assert s.beat_length(4, 32) == 2  # a 32nd beat is half a tick here: the bar is the beat
    got = structure(s)
    assert got["beat_alignment"] == 0.5 and got["syncopation_lhl"] == 0.0  # every 16th on a bar line or beat
