"""Round trips, grammar and masks for every encoding (MidiTok's test layout: fixtures x tokenizers)."""

import numpy as np
import pytest

import tunelab.tokenizers as tt
from tunelab import Score
from tunelab.io.kern import parse_kern
from tunelab.tokenizers.metric import round_trip_problem, to_metric

from ..conftest import shared
from ..fixtures import IRREGULAR, PICKUP_3_4, TRIPLETS_AND_TIES

EVENT = tuple(n for n in tt.NAMES if n != "grid")  # every registered event encoding


def random_score(rng: np.random.Generator) -> Score:
    """A random monophonic melody on the 16th grid: meter, pickup, rests, notes over barlines."""
    num, den = [(2, 4), (3, 4), (4, 4), (6, 8)][rng.integers(4)]
    bar = 16 * num // den
    pickup = int(rng.integers(0, bar)) if rng.random() < 0.6 else 0
    t, notes, rests = 0, [], []
    end = pickup + bar * int(rng.integers(2, 6))
    while t < end:
        d = int(rng.choice([1, 2, 3, 4, 6, 8, 12]))
        d = min(d, end - t)
        if rng.random() < 0.15:
            rests.append((t, d))
        else:
            notes.append((t, d, int(rng.integers(55, 80))))
        t += d
    tss = [(0, num, den)]
    if rng.random() < 0.3 and end > pickup + bar:  # a meter change at the second full bar
        tss.append((pickup + bar, 2, 4))
        end = pickup + bar + 8 * ((end - pickup - bar + 7) // 8)
        notes = [n for n in notes if n[0] < end]
    return Score.from_notes(
        notes,
        tpq=4,
        time_signatures=tss,
        pickup=pickup,
        end=max(end, t),
        rests=[r for r in rests if r[0] < end] or None,
    )


@pytest.mark.parametrize("name", EVENT)
@pytest.mark.parametrize(
    "text", [PICKUP_3_4, TRIPLETS_AND_TIES, IRREGULAR], ids=["pickup-3-4", "triplets-ties", "irregular"]
)
def test_event_encodings_round_trip_fixtures(name, text):
    tok = tt.get(name, steps_per_quarter=12)  # 12 steps: triplet eighths are exact
    score = parse_kern(text)
    ids = tok.encode(score)
    assert tok.syntax_errors(ids) == 0
    back = tok.decode(ids)
    assert back.meta["syntax_errors"] == 0
    assert round_trip_problem(score, back, 12) is None


@pytest.mark.parametrize("name", [*EVENT, "grid"])
def test_random_scores_round_trip(name):
    rng = np.random.default_rng(7)
    tok = tt.get(name)
    for i in range(120):
        s = random_score(rng)
        ids = tok.encode(s)
        assert tok.syntax_errors(ids) == 0, i
        problem = round_trip_problem(s, tok.decode(ids), 4, meter=name != "grid")
        assert problem is None, f"score {i}: {problem}"


def test_grid_keeps_notated_rests_and_ends_songs():
    tok = tt.get("grid")
    s = Score.from_notes([(0, 2, 60), (4, 2, 62)], tpq=4, end=8, rests=[(2, 1), (3, 1)])
    ids = tok.encode(s)
    assert tok.show(ids).split("\n") == ["60", "_", "r", "r", "62", "_", "r", "_", "/"]
    back = tok.decode(ids)
    assert back.rests.tolist() == [[2, 1], [3, 1], [6, 2]] and back.pitch.tolist() == [60, 62]


@pytest.mark.parametrize("name", [*EVENT, "grid"])
def test_random_ids_never_raise(name):
    tok = tt.get(name)
    rng = np.random.default_rng(1)
    sizes = tok.vocab_size
    for _ in range(40):
        if tok.is_compound:
            ids = np.stack([rng.integers(0, n, 60) for n in sizes], axis=1)
        else:
            ids = rng.integers(0, sizes, 200)
        score = tok.decode(ids)
        assert score.meta["syntax_errors"] == tok.syntax_errors(ids)
        if name != "grid":  # random event ids are almost never grammatical; random grid ids can be
            assert score.meta["syntax_errors"] > 0


def sample_under_grammar(tok, rng, steps=150):
    g = tok.grammar()
    out = []
    for _ in range(steps):
        if tok.is_compound:
            word = []
            for f in range(len(tok.fields)):
                choices = np.flatnonzero(g.allowed(f, tuple(word)))
                word.append(int(rng.choice(choices)))
            token = tuple(word)
        else:
            token = int(rng.choice(np.flatnonzero(g.allowed())))
        assert g.feed(token), token
        out.append(token)
    return np.array(out)


@pytest.mark.parametrize("name", [*EVENT, "grid"])
def test_sampling_under_the_grammar_gives_no_syntax_errors(name):
    tok = tt.get(name, max_bar_quarters=8) if name != "grid" else tt.get(name)
    rng = np.random.default_rng(3)
    for _ in range(4):
        ids = sample_under_grammar(tok, rng, steps=60 if name == "cp" else 150)
        assert tok.syntax_errors(ids) == 0
        tok.decode(ids)  # and it decodes


def cut_bar_score(rng: np.random.Generator) -> tuple[Score, int]:
    """A random melody whose meter changes inside a bar (as some ABC tunebooks write it), so that
    bar ends early; and that bar's index."""
    s = random_score(rng)
    starts = s.bar_starts().tolist()
    i = int(rng.integers(1 if s.pickup else 0, len(starts) - 1))  # a pickup bar is short already
    length = starts[i + 1] - starts[i]
    cut = starts[i] + int(rng.integers(1, length))  # inside bar i, never on its downbeat
    new = [m for m in [(3, 4), (2, 4), (5, 8), (4, 4)] if m != s.meter_at(cut)][int(rng.integers(3))]
    tss = [(t, n, d) for t, n, d in s.time_signatures if t < cut] + [(cut, *new)]
    end = cut + s.bar_length(*new) * int(rng.integers(1, 3))
    notes = [
        (int(o), int(min(d, end - o)), int(p)) for o, d, p in zip(s.onset, s.duration, s.pitch) if o < end
    ]
    notes += [(end - 2, 2, 72)] if not notes or notes[-1][0] < end - 2 else []
    return Score.from_notes(notes, tpq=4, time_signatures=tss, pickup=s.pickup, end=end), i


@pytest.mark.parametrize("name", EVENT)
def test_a_meter_change_inside_a_bar_keeps_the_bar_short(name):
    """O'Neill's 1850 writes M:3/4 in the middle of a 2/4 bar: the bar before the change is short,
    and decoding must not pad it to its meter's length (which shifts every later note)."""
    rng = np.random.default_rng(21)
    tok = tt.get(name)
    for k in range(80):
        s, i = cut_bar_score(rng)
        m = to_metric(s, 4)
        assert list(m.cuts) == [i], k  # the case is exercised: bar i, and only it, ends early
        ids = tok.encode(s)
        assert tok.syntax_errors(ids) == 0, k
        assert round_trip_problem(s, tok.decode(ids), 4) is None, k


def test_nb_saved_before_bar_ends_keeps_seven_states_and_refuses_a_cut_bar():
    old = tt.from_dict({k: v for k, v in tt.get("nb").to_dict().items() if k != "bar_ends"})
    assert old.vocab[0] == ["<pad>", "Start", "NewBar", "SameBar", "SamePos", "EmptyBar", "EOS"]
    assert tt.get("nb").vocab[0][-1] == "BarEnd"
    s, i = cut_bar_score(np.random.default_rng(2))
    with pytest.raises(ValueError, match=f"bar {i + 1} ends early .* predates BarEnd"):
        old.encode(s)
    plain = random_score(np.random.default_rng(2))  # no cut bar: the old vocabulary still round-trips
    assert round_trip_problem(plain, old.decode(old.encode(plain)), 4) is None


@pytest.mark.parametrize("cut", [False, True], ids=["pickup", "cut-bar"])
def test_nb_scalar_check_agrees_with_masks(cut):
    tok = tt.get("nb")
    rng = np.random.default_rng(5)
    words = tok.encode(cut_bar_score(rng)[0] if cut else parse_kern(PICKUP_3_4))
    assert (words[:, 0] == tok.vocab[0].index("BarEnd")).any() == cut
    g = tok.grammar()
    for w in words:
        for _ in range(30):
            cand = tuple(
                int(rng.integers(0, n)) if rng.random() < 0.4 else int(x) for x, n in zip(w, tok.vocab_size)
            )
            assert g.valid(cand) == all(g.allowed(f, cand[:f])[x] for f, x in enumerate(cand)), cand
        assert g.feed(tuple(w))


def test_nb_is_one_word_per_note_and_shorter_than_cp():
    score = parse_kern(PICKUP_3_4)
    nb, cp = tt.get("nb", controls=()).encode(score), tt.get("cp", controls=()).encode(score)
    assert len(nb) == len(score) + 2  # Start ... EOS
    assert [tt.get("nb").vocab[0][w[0]] for w in nb] == [
        "Start",
        "SameBar",
        "NewBar",
        "SameBar",
        "SameBar",
        "SameBar",
        "NewBar",
        "EOS",
    ]
    assert len(nb) < len(cp)


def test_accuracy_masks_leave_out_padding_ignore_and_conti():
    tok = tt.get("nb")
    ids = tok.encode(parse_kern(PICKUP_3_4))
    padded = np.concatenate([ids, np.zeros((2, 6), dtype=np.int64)])
    mask = tok.accuracy_mask(padded)
    assert not mask[-2:].any()
    assert mask[:, 0][:-2].all()  # the bar state always counts
    assert not mask[2, 1]  # a CONTI time signature does not count
    assert not mask[-3, 2:].any()  # EOS: its ignored fields do not count
    flat = tt.get("remi")
    assert flat.accuracy_mask(np.array([1, 5, 0, 0])).tolist() == [True, True, False, False]


@pytest.mark.parametrize("name", [*EVENT, "grid"])
def test_to_dict_restores_the_same_tokenizer(name):
    tok = tt.get(name, steps_per_quarter=8)
    back = tt.from_dict(tok.to_dict())
    assert back.vocab == tok.vocab and back.to_dict() == tok.to_dict()


def test_unknown_encoding_is_a_config_error():
    from tunelab.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown encoding 'octuple'"):
        tt.get("octuple")


@pytest.mark.shared_data
def test_the_studys_45_symbols_come_back_from_its_train_split():
    lines = shared("study-split/train.txt").read_text().splitlines()
    tok = tt.get("grid").fit(lines)
    assert len(tok.vocab) - 1 == 45  # without padding
    assert set(tok.vocab[1:4]) == {"/", "_", "r"} and len(tok.pitches) == 42


@pytest.mark.parametrize("name", EVENT)
def test_a_short_last_bar_keeps_its_end(name):
    """A tune in 3/4 with a one-beat pickup ends after two beats of its last bar: decoding must
    not pad that bar to three beats."""
    tok = tt.get(name)
    s = Score.from_notes([(0, 4, 67), (4, 12, 72), (16, 8, 71)], tpq=4, time_signatures=[(0, 3, 4)], pickup=4)
    assert s.end == 24  # the pickup (4) + a full bar (12) + two beats (8)
    back = tok.decode(tok.encode(s))
    assert back.end == 24 and back.pickup == 4
    rng = np.random.default_rng(11)
    ended_early = 0
    for i in range(120):
        r = random_score(rng)
        r = r.replace(rests=None, end=int(r.offset.max()))  # ends with its last note, often mid-bar
        starts = r.bar_starts()
        ended_early += (r.end - starts[-1]) < r.bar_length(*r.meter_at(int(starts[-1])))
        problem = round_trip_problem(r, tok.decode(tok.encode(r)), 4)
        assert problem is None, f"score {i}: {problem}"
    assert ended_early > 20  # the case was exercised (27 of 120 with this seed)


@pytest.mark.parametrize("name", EVENT)
def test_meters_in_32nds_and_64ths_where_the_grid_holds_them(name):
    s = Score.from_notes([(0, 2, 60), (2, 2, 62), (4, 2, 64), (6, 5, 65), (11, 5, 67)], tpq=16,
                         time_signatures=[(0, 3, 32), (6, 5, 64)])  # fmt: skip
    tok = tt.get(name, steps_per_quarter=16)
    assert round_trip_problem(s, tok.decode(tok.encode(s)), 16) is None
    with pytest.raises(
        ValueError, match="3/32 bar is not whole steps at 4 steps a quarter; use a multiple of 8"
    ):
        tt.get(name).encode(s)


@pytest.mark.parametrize("name", EVENT)
def test_a_tokenizer_saved_before_32nd_meters_keeps_its_vocabulary(name):
    old = {k: v for k, v in tt.get(name).to_dict().items() if k != "max_meter_denominator"}
    assert tt.from_dict(old).vocab_size == tt.get(name, max_meter_denominator=16).vocab_size
    assert tt.from_dict(old).vocab_size != tt.get(name).vocab_size
