"""Copy detection: a suffix automaton over the training songs against brute force."""

import numpy as np

from tunelab import Score
from tunelab.metrics.novelty import BAR_QUARTERS, TrainingIndex, find_run, symbols


def melody(notes, tpq=4) -> Score:
    """``[(pitch, steps)]``, one after the other; pitch None is a rest."""
    t, rows = 0, []
    for p, d in notes:
        if p is not None:
            rows.append((t, d, p))
        t += d
    return Score.from_notes(rows, tpq=tpq, end=t)


def test_a_transposed_training_song_is_one_run_and_similarity_one():
    song = melody([(60, 4), (62, 2), (64, 2), (65, 4), (67, 4)])
    other = melody([(60, 4), (60, 4), (60, 4)])
    index = TrainingIndex([other, song])
    up_a_fifth = melody([(67, 4), (69, 2), (71, 2), (72, 4), (74, 4)])
    got = index.match(up_a_fifth)
    assert (got.longest_run, got.nearest, got.similarity) == (5, 1, 1.0)
    assert got.longest_run_quarters == 3.0  # onsets 0 .. 3 quarters
    assert got.covered == 0.0  # 3 quarters: shorter than a bar
    # the same notes in eighths share only 69-71-72, the song's two eighths and the note after
    eighths = index.match(melody([(67, 2), (69, 2), (71, 2), (72, 2), (74, 2)]))
    assert (eighths.longest_run, eighths.similarity) == (3, 0.6)
    # in whole notes, nothing longer than one note
    assert index.match(melody([(67, 16), (69, 16), (71, 16), (72, 16), (74, 16)])).longest_run == 1


def test_rests_count_in_the_rhythm_and_chords_keep_their_top_note():
    with_rest = melody([(60, 2), (None, 2), (62, 4)])
    seq, quarters = symbols(with_rest)
    assert seq == [(2, 1)] and quarters == [0, 1]
    chord = Score.from_notes([(0, 4, 60), (0, 4, 64), (4, 4, 65)], tpq=4)
    assert symbols(chord)[0] == [(1, 1)]


def _brute(melody_seq, melody_q, songs_seq):
    """Longest shared run (in symbols), the songs holding it, and the covered notes."""
    n, best, holders = len(melody_seq), 0, set()
    covered = np.zeros(n + 1, dtype=bool)
    for a in range(n):
        for b in range(a + 1, n + 1):
            run = tuple(melody_seq[a:b])
            found = [
                j for j, s in enumerate(songs_seq)
                if any(tuple(s[k : k + len(run)]) == run for k in range(len(s) - len(run) + 1))
            ]  # fmt: skip
            if not found:
                break
            if b - a > best:
                best, holders = b - a, set(found)
            elif b - a == best:
                holders |= set(found)
            if melody_q[b] - melody_q[a] >= BAR_QUARTERS:
                covered[a : b + 1] = True
    return best, holders, covered.mean() if n else 0.0


def random_song(rng, n):
    p, out = int(rng.integers(55, 75)), []
    for _ in range(n):
        p = int(np.clip(p + rng.choice([-4, -2, -1, 0, 1, 2, 3, 5]), 40, 90))
        out.append((p if rng.random() > 0.1 else None, int(rng.choice([1, 2, 2, 4, 4, 6]))))
    return out


def test_agrees_with_brute_force_and_finds_planted_copies():
    rng = np.random.default_rng(23)
    train = [random_song(rng, int(rng.integers(20, 45))) for _ in range(40)]
    scores = [melody(s) for s in train]
    index = TrainingIndex(scores)
    songs_seq = [symbols(s)[0] for s in scores]
    planted_found = 0
    for k in range(40):
        notes = random_song(rng, int(rng.integers(10, 40)))
        if k % 2 == 0:  # plant a transposed span of a training song
            j = int(rng.integers(len(train)))
            a = int(rng.integers(0, len(train[j]) - 12))
            shift = int(rng.integers(-5, 6))
            span = [(None if p is None else p + shift, d) for p, d in train[j][a : a + 12]]
            at = int(rng.integers(0, len(notes)))
            notes = notes[:at] + span + notes[at:]
        m = melody(notes)
        seq, quarters = symbols(m)
        got = index.match(m)
        best, holders, covered = _brute(seq, quarters, songs_seq)
        assert got.longest_run == best + 1, k
        assert (got.nearest in holders) if best else got.nearest is None, k
        assert abs(got.covered - covered) < 1e-12, k
        if best:  # the run drawn in the report: where it starts in the melody and in its song
            run = seq[got.start : got.start + best]
            at_song = find_run(m, got, scores[got.nearest])
            assert songs_seq[got.nearest][at_song : at_song + best] == run, k
        if k % 2 == 0:
            planted = len(symbols(melody(span))[0])  # a rest at the span's edge is not a note
            planted_found += got.longest_run >= planted + 1 and j in holders
    assert planted_found == 20
