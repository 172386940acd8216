import pytest

from tunelab import Score
from tunelab.corpus.transforms import (
    STUDY_DURATIONS,
    duration_problem,
    estimate_key,
    one_voice_problem,
    quantize,
    score_key,
    transpose_to_c_or_a,
)

C_MAJOR = Score.from_notes(
    [(i * 4, 4, p) for i, p in enumerate([60, 62, 64, 65, 67, 65, 64, 62, 60, 67, 60])], tpq=4
)
A_MINOR = Score.from_notes(
    [(i * 4, 4, p) for i, p in enumerate([69, 71, 72, 74, 76, 72, 68, 69, 64, 69])], tpq=4
)


def test_duration_filter_names_the_offending_note_or_rest():
    assert duration_problem(C_MAJOR, STUDY_DURATIONS) is None
    triplet = Score.from_notes([(0, 160, 60), (160, 160, 62)], tpq=480, end=480)
    assert duration_problem(triplet, STUDY_DURATIONS) == "note of 1/3 quarter notes at 0"
    long_rest = Score.from_notes([(0, 4, 60)], tpq=4, end=4 + 5)  # a 5/4-quarter trailing rest
    assert duration_problem(long_rest, STUDY_DURATIONS) == "rest of 5/4 quarter notes at 1"


def test_key_finder_on_plain_melodies():
    assert estimate_key(C_MAJOR) == ("C", "major")
    assert estimate_key(A_MINOR) == ("A", "minor")
    assert estimate_key(A_MINOR, tonic="A") == ("A", "minor")
    assert estimate_key(C_MAJOR, tonic="C") == ("C", "major")


def test_transposition_follows_music21s_interval_choice():
    g = C_MAJOR.transpose(7).replace(keys=[(0, "G", "major")])
    assert transpose_to_c_or_a(g).pitch[0] == 60  # G4 -> C4: down a fifth
    d_minor = A_MINOR.transpose(-7).replace(keys=[(0, "D", "minor")])
    assert transpose_to_c_or_a(d_minor).pitch[0] == 69  # D4 -> A4: up a fifth
    bb = C_MAJOR.transpose(10).replace(keys=[(0, "Bb", "major")])
    assert transpose_to_c_or_a(bb).pitch.tolist() == C_MAJOR.pitch.tolist()
    assert transpose_to_c_or_a(bb).keys == [(0, "C", "major")]


def test_study_key_rule_ignores_the_key_of_an_unmetered_file():
    s = A_MINOR.replace(keys=[(0, "C", "major")], meta={"declared_meter": False})
    assert score_key(s, "first") == ("C", "major")
    assert score_key(s, "study") == ("A", "minor")
    assert score_key(A_MINOR.replace(keys=[(0, "A", None)]), "first") == ("A", "minor")
    with pytest.raises(ValueError, match="key rule"):
        score_key(s, "guess")


def test_quantize_snaps_to_sixteenths_and_keeps_monophony():
    s = Score.from_notes([(5, 470, 60), (478, 240, 62)], tpq=480, time_signatures=[(0, 2, 4)], end=960)
    q = quantize(s, 4)
    assert q.tpq == 4 and q.onset.tolist() == [0, 4] and q.duration.tolist() == [4, 2]
    assert q.end == 8 and q.is_monophonic()


@pytest.mark.shared_data
def test_key_finder_agrees_with_music21(deutschl_kern):
    import warnings

    import music21

    from tunelab.io.kern import read_kern

    files = sorted(deutschl_kern.rglob("*.krn"))[::400]
    for f in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = music21.converter.parse(str(f)).analyze("key")
        tonic, mode = estimate_key(read_kern(f, ties="keep"))
        assert (tonic.replace("b", "-"), mode) == (ref.tonic.name, ref.mode), f


def test_quantize_refuses_a_meter_the_grid_cannot_hold():
    s = Score.from_notes([(0, 60, 60), (60, 60, 62), (120, 60, 64)], tpq=480, time_signatures=[(0, 15, 32)])
    with pytest.raises(
        ValueError, match="15/32 bar is not whole steps at 4 steps a quarter; use a multiple of 8"
    ):
        quantize(s, 4)
    assert quantize(s, 8).time_signatures == [(0, 15, 32)]


def test_a_melody_that_collides_only_on_the_grid_is_not_called_polyphonic():

    thirty_seconds = Score.from_notes([(0, 60, 60), (60, 60, 62), (120, 360, 64)], tpq=480)
    assert thirty_seconds.is_monophonic()
    assert "collide when quantized to 4 steps" in one_voice_problem(
        thirty_seconds, quantize(thirty_seconds, 4)
    )
    assert one_voice_problem(thirty_seconds, quantize(thirty_seconds, 8)) is None
    chord = Score.from_notes([(0, 480, 60), (0, 480, 64)], tpq=480)
    assert "overlapping notes" in one_voice_problem(chord, quantize(chord, 4))


def test_transposed_copies_move_the_key_with_the_notes():
    from tunelab.corpus.transforms import transposed_copies
    from tunelab.score import Score, tonic_pitch_class

    s = Score.from_notes([(0, 4, 62), (4, 4, 66)], tpq=4, keys=[(0, "D", "dorian")])
    out = transposed_copies([s], 3, seed=1)
    assert out[0] is s and len(out) == 4
    for c in out[1:]:
        moved = (c.pitch - s.pitch).tolist()  # from the notes, not from what the copy says of itself
        shift = moved[0]
        assert moved == [shift, shift]  # every note by the same interval
        assert 1 <= abs(shift) <= 6
        assert c.meta["transposed"] == shift
        assert c.keys[0][2] == "dorian" and c.keys[0][1] != "D"
        assert tonic_pitch_class(c.keys[0][1]) == (2 + shift) % 12  # the tonic moved by what the notes did
    assert len({c.meta["transposed"] for c in out[1:]}) == 3  # distinct intervals
    assert [c.meta["transposed"] for c in out[1:]] == [-1, -2, 4]  # the same draw for the same seed
    # asked for every copy there is: each interval of 1-6 semitones up and down once, no other
    every = transposed_copies([s], 20, seed=2)[1:]
    assert sorted(c.meta["transposed"] for c in every) == [-6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6]
    # a copy that would leave MIDI's range is left out: from pitch 124, only the shifts up to +3
    high = Score.from_notes([(0, 4, 124)], tpq=4, keys=[(0, "E", "major")])
    kept = sorted(c.meta["transposed"] for c in transposed_copies([high], 12, seed=0)[1:])
    assert kept == [-6, -5, -4, -3, -2, -1, 1, 2, 3]


def test_home_keys_are_found_only_where_the_songs_were_moved_to_one_key():
    from tunelab.corpus.transforms import home_keys
    from tunelab.io.abc_native import parse_abc_tune

    c = parse_abc_tune("X:1\nM:4/4\nL:1/4\nK:C\nCEGc|GEC2|\n")
    a = parse_abc_tune("X:1\nM:4/4\nL:1/4\nK:Am\nACEa|ECA2|\n")
    d = parse_abc_tune("X:1\nM:4/4\nL:1/4\nK:D\nDFAd|AFD2|\n")
    assert home_keys([c] * 10 + [a] * 9 + [d]) == [
        ("C", "major"),
        ("A", "minor"),
    ]  # 19 of 20 in one signature
    assert home_keys([c] * 5 + [d] * 5) is None
    assert home_keys([d, d.transpose(0)]) == [("D", "major"), ("B", "minor")]
