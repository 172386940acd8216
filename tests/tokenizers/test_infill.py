"""Filling in: a tune cut into prefix, middle and suffix at bar lines, rearranged for training,
read back; the middle under its plan whatever a model draws; excerpts and splices of Scores."""

import numpy as np
import pytest

import tunelab.tokenizers as T
from tunelab.corpus.segment import bar_span, bar_ticks, excerpt, silences, splice
from tunelab.io.abc_native import parse_abc_tune
from tunelab.tokenizers.controls import INFILL, bar_count
from tunelab.tokenizers.infill import arrange, fill_prompt, fills_in, rearranged

REEL = """X:1
T:a reel with an upbeat, a triplet and a key change
M:4/4
L:1/8
R:reel
K:D
FA|:dfaf gfef|(3ddd fd edcB|AFDF GBAG|FDEC D2FA|
K:G
dBGB dBGB|c2ec (3ABc BG|1 FAdf gedc:|2 d2f2 g2||
"""


def tune(form="played"):
    return parse_abc_tune(REEL, form=form)


def fitted(name, infill=True):
    kinds = "key,meter,form,bars,type" + (",infill" if infill else "")
    return T.get(name, steps_per_quarter=12, controls=kinds).fit([tune()])


@pytest.mark.parametrize("name", T.NAMES)
@pytest.mark.parametrize("bars", [(1, 1), (3, 5), (7, 10), (1, 12)])
def test_the_middle_of_a_rearranged_tune_reads_back_exactly(name, bars):
    score = tune()
    tok = fitted(name)
    start, end = bar_span(score, *bars)
    ids = arrange(tok, score, start, end)
    middle = tok.decode(ids)  # the grammar starts afresh at each sentinel: what it reads is the middle
    assert middle.meta["syntax_errors"] == 0
    want = excerpt(score, start, end).resample(12)
    assert middle.diff(want, rests=False) is None
    assert bar_count(middle) == bars[1] - bars[0] + 1 and middle.keys[0] == want.keys[0]
    assert sum(tok.sentinel(t) is not None for t in tok._iter(ids)) == 2


@pytest.mark.parametrize("name", T.NAMES)
def test_sentinels_are_items_only_when_asked_and_never_drawn(name):
    assert not fills_in(fitted(name, infill=False))
    tok = fitted(name)
    assert fills_in(tok) and all(n in tok.items for n in INFILL)
    g = tok.grammar()
    if tok.is_compound:
        assert not g.allowed(tok.pitch_field, (1,) * tok.pitch_field)[sorted(tok._sentinels)].any()
    else:
        assert not g.allowed()[sorted(tok._sentinels)].any()


@pytest.mark.parametrize("name", T.NAMES)
def test_a_fill_is_its_bars_of_its_meter_whatever_the_model_draws(name):
    """Random walks from the prompt of bars 3-4 end exactly on the middle's last bar line, in its
    meter, one voice: the plan holds after reading the prefix and the suffix."""
    score, tok = tune(), fitted(name)
    prompt, plan, (start, end) = fill_prompt(tok, score, 3, 4)
    assert plan.meter == (4, 4) and plan.bars == 2 and plan.pickup == 0
    rng, done = np.random.default_rng(5), 0
    for _ in range(8):
        g = tok.grammar(plan)
        for t in tok._iter(prompt):
            g.feed(t)
        seq = [np.asarray(t) for t in tok._iter(prompt)]
        while len(seq) < len(prompt) + 3000 and not tok.ends(seq[-1]):
            if tok.is_compound:
                word = []
                for f in range(len(tok.fields)):
                    allowed = g.allowed(f, tuple(word)).copy()
                    allowed[0] &= f > 0
                    word.append(int(rng.choice(np.flatnonzero(allowed))))
                token = tuple(word)
            else:
                allowed = g.allowed().copy()
                allowed[0] = False
                token = int(rng.choice(np.flatnonzero(allowed)))
            assert g.feed(token) and tok.sentinel(np.asarray(token)) is None
            seq.append(np.asarray(token))
        if tok.ends(seq[-1]):
            middle = tok.decode(np.array(seq))
            assert middle.meta["syntax_errors"] == 0 and middle.is_monophonic()
            assert middle.end == end * 12 // score.tpq - start * 12 // score.tpq
            assert middle.time_signatures == [(0, 4, 4)]
            done += 1
    assert done >= 4


def test_rearranging_keeps_the_other_songs_and_is_reproducible():
    scores = [tune()] * 20
    tok = fitted("remi")
    plain = [tok.encode(s) for s in scores]
    a, b = rearranged(tok, scores, plain, 0.5, 1), rearranged(tok, scores, plain, 0.5, 1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    moved = [not np.array_equal(x, p) for x, p in zip(a, plain)]
    assert 4 <= sum(moved) <= 16
    assert rearranged(tok, scores, plain, 0.0, 1) == plain


def test_excerpt_and_splice_give_the_tune_back():
    score = tune()
    ticks = bar_ticks(score)
    assert ticks[0] == 0 and ticks[1] == score.pickup and ticks[-1] == score.end
    start, end = bar_span(score, 4, 6)
    part = excerpt(score, start, end)
    assert part.end == end - start and part.pickup == 0 and part.time_signatures == [(0, 4, 4)]
    # no note crosses these bar lines: the tune comes back whole
    assert splice(score, start, end, part).diff(score, rests=False) is None
    # the key in force at an excerpt's start is its key: bar 5 is after K:G
    later = excerpt(score, *bar_span(score, 6, 7))
    assert later.keys[0][1:] == ("G", "major")
    with pytest.raises(ValueError, match=r"bars 3-99 are not in this tune \(it has bars 1-"):
        bar_span(score, 3, 99)


def test_a_note_held_into_the_span_is_cut_at_its_start():
    score = parse_abc_tune("X:1\nM:2/4\nL:1/8\nK:C\nC4-|C2 D2|E4|\n")
    start, end = bar_span(score, 2, 2)
    new = splice(
        score, start, end, excerpt(parse_abc_tune("X:1\nM:2/4\nL:1/8\nK:C\nG4|\n"), 0, score.tpq * 2)
    )
    q = score.tpq
    assert [(o // (q // 2), d // (q // 2), p) for o, d, p, _ in new.notes()] == [
        (0, 4, 60),
        (4, 4, 67),
        (8, 4, 64),
    ]


def test_silences_are_the_gaps_between_notes():
    score = parse_abc_tune("X:1\nM:2/4\nL:1/8\nK:C\nz C z2|D2 z2|\n")
    half = score.tpq // 2
    assert (silences(score) // half).tolist() == [[0, 1], [2, 2], [6, 2]]


@pytest.mark.parametrize("name", T.NAMES)
def test_a_stated_bar_count_replaces_the_counted_one(name):
    """A prompt for a melody longer than its primer says the melody's bars, not the primer's."""
    score, tok = tune(), fitted(name, infill=False)

    def counts(meta):
        s = score.replace(meta={**score.meta, **meta})
        return [tok.items[i] for _, i in tok.item_ids(s) if tok.items[i].startswith("B:")]

    assert (
        counts({}) == [f"B:{bar_count(score)}"]
        and counts({"bars": 6}) == ["B:6"]
        and counts({"bars": None}) == []
    )
    primer = excerpt(score, *bar_span(score, 1, 4))  # 4 bars of a melody of 6
    said = tok.decode(tok.prompt(primer.replace(meta={**primer.meta, "bars": 6})))
    assert said.meta["syntax_errors"] == 0 and len(said) == len(primer)
