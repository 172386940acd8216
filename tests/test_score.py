import copy

import numpy as np
import pytest

from tunelab import Score


def melody(notes, tpq=4, **kw):
    return Score.from_notes(notes, tpq=tpq, **kw)


def test_notes_are_sorted_and_validated():
    s = melody([(4, 2, 62), (0, 4, 60)])
    assert s.onset.tolist() == [0, 4] and s.pitch.tolist() == [60, 62]
    assert s.end == 6
    with pytest.raises(ValueError, match="pitch must be <= 127"):
        melody([(0, 1, 128)])
    with pytest.raises(ValueError, match="duration must be >= 1"):
        melody([(0, 0, 60)])
    with pytest.raises(ValueError, match="power of two"):
        melody([(0, 1, 60)], time_signatures=[(0, 3, 3)])
    with pytest.raises(ValueError, match="first time signature must be at tick 0"):
        melody([(0, 1, 60)], time_signatures=[(4, 3, 4)])
    with pytest.raises(ValueError, match="end 2 is before"):
        melody([(0, 4, 60)], end=2)
    with pytest.raises(ValueError, match="one length"):
        Score(np.array([0, 1]), np.array([1]), np.array([60]))
    with pytest.raises(ValueError, match="onset must be >= 0, got -3"):  # not the first as given
        melody([(4, 1, 60), (-3, 1, 62)])
    with pytest.raises(ValueError, match="velocity must be <= 127"):
        Score(np.array([0]), np.array([1]), np.array([60]), velocity=np.array([128]))
    assert melody([(0, 1, 60)]).velocity.tolist() == [80]


def test_equality_is_resolution_free_and_diff_names_the_note():
    a = melody([(0, 4, 60), (4, 2, 62)], tpq=4)
    b = a.resample(480)
    assert a == b and b.tpq == 480
    c = melody([(0, 4, 60), (4, 2, 64)], tpq=4)
    assert a != c
    assert a.diff(c) == "note 1 (at 1 quarters) differs in pitch: 62 vs 64"
    with pytest.raises(ValueError, match="not whole"):
        melody([(1, 1, 60)], tpq=4).resample(2)


def test_transpose_moves_pitches_and_keys():
    s = melody([(0, 4, 67)], keys=[(0, "G", "major")]).transpose(-7)
    assert s.pitch.tolist() == [60] and s.keys == [(0, "C", "major")]
    assert melody([(0, 4, 62)], keys=[(0, "D", "minor")]).transpose(7).keys == [(0, "A", "minor")]
    with pytest.raises(ValueError, match="MIDI range"):
        melody([(0, 4, 120)]).transpose(12)


def test_monophony_and_events_with_notated_and_implicit_rests():
    s = melody([(0, 2, 60), (4, 2, 62)], end=10, rests=[(2, 1), (3, 1)])
    assert s.is_monophonic()
    # two notated rests stay two; the trailing gap up to `end` is a rest too
    assert s.events() == [(0, 2, 60), (2, 1, None), (3, 1, None), (4, 2, 62), (6, 4, None)]
    assert not melody([(0, 4, 60), (2, 2, 64)]).is_monophonic()


def test_bars_and_beats_respect_pickup_and_meter_changes():
    # 3/4 with a one-quarter pickup, then a change to 2/4 at tick 28 (1 + 2 bars of 3/4 = 1+6 quarters)
    s = melody(
        [(0, 4, 60), (4, 12, 62), (16, 12, 64), (28, 8, 65), (36, 8, 67)],
        time_signatures=[(0, 3, 4), (28, 2, 4)],
        pickup=4,
    )
    assert s.bar_starts().tolist() == [0, 4, 16, 28, 36]
    assert s.beat_starts().tolist() == [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40]
    # 6/8: two dotted-quarter beats a bar; a pickup of one eighth is a partial beat
    s68 = melody([(0, 2, 60), (2, 24, 62)], time_signatures=[(0, 6, 8)], pickup=2)
    assert s68.bar_starts().tolist() == [0, 2, 14]
    assert s68.beat_starts().tolist() == [0, 2, 8, 14, 20]


def test_copies_share_arrays_and_nothing_else_is_tied_to_the_original():
    s = Score.from_notes([(0, 480, 60), (480, 480, 62)], meta={"title": "a"})
    c = copy.copy(s)
    assert type(c) is Score and c is not s and c.onset is s.onset and c == s
    c.meta = {"title": "b"}
    assert s.meta == {"title": "a"}
    d = copy.deepcopy(s)
    assert d.onset is not s.onset and d == s and d.meta == s.meta and d.meta is not s.meta
    r = s.replace(meta={"title": "c"})
    assert r.pitch is s.pitch and s.meta["title"] == "a"


def test_change_lists_are_made_canonical():
    from tunelab.score import normalize_changes

    changes = [(0, 4, 4), (0, 3, 4), (8, 3, 4), (16, 2, 4), (16, 3, 4), (24, 2, 4)]
    # last at a tick wins; a change to what is already in force disappears
    assert normalize_changes(changes) == [(0, 3, 4), (24, 2, 4)]


def test_event_arrays_fill_leading_and_inner_gaps():
    s = melody([(2, 2, 60), (6, 2, 62), (8, 4, 64)], end=14, rests=[(8, 1)])
    on, du, pitch = s.event_arrays()
    assert on.tolist() == [0, 2, 4, 6, 8, 8, 12]
    assert du.tolist() == [2, 2, 2, 2, 1, 4, 2]
    assert pitch.tolist() == [-1, 60, -1, 62, -1, 64, -1]


def test_notes_are_a_list_one_can_index_and_count():
    s = Score.from_notes([(0, 2, 60), (2, 2, 64)], tpq=2)
    notes = s.notes()
    assert notes[1] == (2, 2, 64, 80) and len(notes) == 2 and notes == s.notes()


@pytest.mark.parametrize("n", [5, 3000])  # checked over lists (a tune) and over arrays (a long piece)
@pytest.mark.parametrize("as_lists", [False, True])  # a reader's lists, or arrays
def test_order_and_ranges_are_checked_at_every_size(n, as_lists):
    from tunelab.note_checks import SMALL

    assert (n > SMALL) == (n == 3000)
    rng = np.random.default_rng(0)
    onset = rng.permutation(np.repeat(np.arange(n // 2 + 1), 2)[:n]) * 10
    pitch = rng.integers(40, 90, n)
    given = (onset.tolist(), [5] * n, pitch.tolist()) if as_lists else (onset, np.full(n, 5), pitch)
    s = Score(*given, rests=np.array([[7, 1], [3, 1]]))
    assert s.onset.dtype == np.int64 and s.pitch.dtype == np.int64
    key = s.onset * 128 + s.pitch
    assert (np.diff(key) >= 0).all() and sorted(onset.tolist()) == s.onset.tolist()
    assert s.rests[:, 0].tolist() == [3, 7] and s.end == max(onset) + 5
    for bad, message in (
        (pitch + 100, "pitch must be <= 127, got"),
        (pitch - 100, "pitch must be >= 0, got"),
    ):
        with pytest.raises(ValueError, match=message):
            Score(onset, np.full(n, 5), bad)
    with pytest.raises(ValueError, match="duration must be >= 1, got -1"):
        Score(onset, np.r_[np.full(n - 1, 5), -1], pitch)
    rests = np.stack([rng.permutation(n) * 10 + 10**6, np.full(n, 3)], 1)  # as many rests, shuffled
    s = Score(*given, rests=rests)
    assert (np.diff(s.rests[:, 0]) > 0).all() and s.end == 10**6 + (n - 1) * 10 + 3
    for bad, message in (
        ((0, -4), "rest onset must be >= 0, got -4"),
        ((1, 0), "rest duration must be >= 1, got 0"),
    ):
        broken = rests.copy()
        broken[n // 2, bad[0]] = bad[1]
        with pytest.raises(ValueError, match=message):
            Score(*given, rests=broken)
