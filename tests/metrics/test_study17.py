"""The study's 17 metrics: its worked example, hand-computed cases, and music21 agreement."""

import numpy as np
import pytest

from tunelab.metrics import STUDY17_NAMES, study17, study17_many
from tunelab.metrics.keys import measure_histograms, measure_keys
from tunelab.metrics.study17 import events_of, segments

from ..conftest import shared

WORKED = "60 _ _ _ 62 _ 64 _ 65 _ _ _ _ _ _ _ r _ _ _ 67 _ 67 _"
EXPECTED = {  # reference/study-metrics.md, computed by the study's own implementation
    "pitch_variance": 1.84375,
    "pitch_range": 2.5,
    "rhythmic_variance": 0.2152777777777778,
    "note_density": 1.0,
    "rest_ratio": 0.25,
    "interval_variability": 0.1111111111111111,
    "note_repetition": 1.5,
    "contour_stability": 0.0,
    "syncopation": 1.0,
    "harmonic_tension": 0.3833333333333333,
    "kl_divergence": 0.7520386930449569,
    "pitch_entropy": 2.2516291673878226,
    "rhythmic_entropy": 1.2516291673878228,
    "motif_diversity_index": 1.0,
    "harmonic_complexity": 0.1875,
    "contour_variability": 0.0,
    "tonal_drift": 1.0,
}


def test_worked_example_to_1e12():
    got = study17(WORKED)
    assert list(got) == list(STUDY17_NAMES) == list(EXPECTED)
    for name, value in EXPECTED.items():
        assert abs(got[name] - value) <= 1e-12, (name, got[name], value)


def test_a_score_gives_the_same_values_as_its_grid_line():
    from tunelab.io.gridtext import parse_line

    (score,) = parse_line(WORKED)
    assert study17(score) == study17(WORKED)
    assert np.array_equal(study17_many([WORKED, score]), np.array([list(study17(WORKED).values())] * 2))


def test_a_crossing_event_is_split_once_and_its_remainder_is_one_element():
    # a 1-quarter note, then a 6-quarter note from 1 to 7: 3 quarters close segment 1, the
    # remaining 3 open segment 2 as one element; the next note then fills segment 2 to 4
    pitch, steps = events_of("60 _ _ _ 62 " + "_ " * 23 + "64 _ _ _")
    segs = segments(pitch, steps)
    assert [s.tolist() for _, s in segs] == [[4, 12], [12, 4]]
    assert [p.tolist() for p, _ in segs] == [[60, 62], [62, 64]]
    long = segments(*events_of("60 " + "_ " * 39 + "62 _"))  # 10 quarters from the start
    assert [s.tolist() for _, s in long] == [[16], [24], [2]]  # the 6-quarter remainder stays whole


def test_counts_not_ratios_and_zero_for_undefined():
    up_down = study17("60 _ 64 _ 60 _ 64 _ 60 _ 64 _ 60 _ 64 _")  # one segment, 8 notes
    assert up_down["contour_stability"] == 6.0  # a count of reversals
    assert up_down["contour_variability"] == pytest.approx(100 * 6 / 7)
    assert up_down["syncopation"] == 4.0  # notes at 0.5, 1.5, 2.5, 3.5 quarters
    silent = study17("r _ _ _ r _ _ _")
    assert silent["pitch_variance"] == 0.0 and silent["rest_ratio"] == 1.0 and silent["tonal_drift"] == 0.0
    assert all(v == 0.0 for v in study17("").values())


def test_a_note_counts_whole_in_the_bar_where_it_starts():
    # as music21's makeMeasures (the study's measures): G from 3 to 5 quarters stays in bar 1
    hist = measure_histograms(np.array([60, 67, 64]), np.array([12, 8, 12]), 16)
    assert hist[0, 0] == 3.0 and hist[0, 7] == 2.0 and hist[1, 4] == 3.0 and hist[1, 7] == 0.0
    assert measure_keys(np.array([60, 64, 67, 72]), np.array([4, 4, 4, 4]))[0] == (0, "major")
    held = measure_histograms(np.array([60, 62]), np.array([40, 4]), 16)  # bar 2 only holds C
    assert held.sum(axis=1).tolist() == [10.0, 0.0, 1.0]


@pytest.mark.shared_data
def test_key_finder_agrees_with_music21_on_2000_random_measures():
    import music21

    lines = shared("study-split/test.txt").read_text().splitlines()
    rng = np.random.default_rng(17)
    checked = 0
    while checked < 2000:
        pitch, steps = events_of(lines[int(rng.integers(len(lines)))])
        hist = measure_histograms(pitch, steps, 16)
        bars = np.flatnonzero(hist.sum(axis=1) > 0)
        b = int(rng.choice(bars))
        ours = measure_keys(pitch, steps)[int(np.searchsorted(bars, b))]
        stream = music21.stream.Stream()
        onsets = np.cumsum(steps) - steps
        for p, on, d in zip(pitch.tolist(), onsets.tolist(), steps.tolist()):
            if p >= 0 and on // 16 == b:  # the notes that start in bar b, whole (makeMeasures)
                stream.append(music21.note.Note(p, quarterLength=d / 4))
        ref = stream.analyze("key")
        assert ours == (ref.tonic.pitchClass, ref.mode), (b, ours, ref)
        checked += 1


def test_many_melodies_on_several_processes_give_the_same_values():
    rng = np.random.default_rng(2)
    lines = [
        " ".join(
            str(int(p)) + " _" * int(d) for p, d in zip(rng.integers(55, 80, 30), rng.integers(0, 4, 30))
        )
        for _ in range(240)
    ]
    assert np.array_equal(study17_many(lines, jobs=2), study17_many(lines, jobs=1))


def test_metrics_evaluate_is_a_function_over_a_registry_of_suites(monkeypatch):
    import tunelab.metrics as M
    from tunelab.errors import ConfigError
    from tunelab.io.gridtext import parse_line
    from tunelab.metrics import suites

    songs = [parse_line("60 _ 62 _ 64 _ _ _ 65 _ 64 _ 62 _ 60 _")[0], parse_line("67 _ _ _ 65 _ 64 _")[0]]
    monkeypatch.setitem(suites.PER_MELODY, "notes", lambda s: {"n_notes": float(len(s))})
    report = M.evaluate({"a": songs}, suites=("study17", "notes"))
    assert report.names == [*M.STUDY17_NAMES, "n_notes"]
    assert report.values["a"][:, -1].tolist() == [7.0, 3.0]
    by_name = M.study17(songs[0])
    assert report.values["a"][0, : len(M.STUDY17_NAMES)].tolist() == [by_name[n] for n in M.STUDY17_NAMES]
    with pytest.raises(ConfigError, match="unknown nope"):
        M.evaluate({"a": songs}, suites=("nope",))
