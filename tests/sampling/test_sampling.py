"""The sampler: filters computed by hand, seeds, greedy decoding, carried state against
recomputation, grammar-constrained decoding for every encoding, prompts and stops."""

import numpy as np
import pytest
import torch
from torch import nn

import tunelab.tokenizers as T
from tunelab import Score
from tunelab.errors import ParseError
from tunelab.models import ModelConfig, SequenceModel, build, sequence_families
from tunelab.sampling import Filters, Settings, boundary, closed, probabilities, sample
from tunelab.sampling.prompts import from_seeds
from tunelab.sampling.steppers import stepper

FAMILIES = list(sequence_families())  # every sequence family (the study's window model: study-lstm below)


def tiny(family, vocab, **kw):
    torch.manual_seed(0)
    return build(family, vocab, preset="tiny", **kw).eval()


def empty(tok, n):
    shape = (0, len(tok.fields)) if tok.is_compound else (0,)
    return [np.zeros(shape, dtype=np.int64)] * n


# ---- filters -----------------------------------------------------------------------------------
P = torch.tensor([[0.5, 0.2, 0.15, 0.1, 0.05]])


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(), [0.5, 0.2, 0.15, 0.1, 0.05]),
        (Filters(top_k=2), [5 / 7, 2 / 7, 0, 0, 0]),
        (Filters(top_p=0.7), [5 / 7, 2 / 7, 0, 0, 0]),  # mass before the third is 0.7: not < 0.7
        (Filters(top_p=0.71), [0.5 / 0.85, 0.2 / 0.85, 0.15 / 0.85, 0, 0]),
        (Filters(min_p=0.3), [0.5 / 0.85, 0.2 / 0.85, 0.15 / 0.85, 0, 0]),  # >= 0.3 x 0.5
        (Filters(top_k=3, top_p=0.8), [5 / 7, 2 / 7, 0, 0, 0]),  # top-p on the top-k renormalised
        (Filters(temperature=0), [1.0, 0, 0, 0, 0]),
    ],
)
def test_filters_give_the_distribution_computed_by_hand(filters, expected):
    got = probabilities(P.log(), filters)
    torch.testing.assert_close(got, torch.tensor([expected]), atol=1e-6, rtol=0)


def test_temperature_sharpens_by_the_power_rule():
    got = probabilities(P.log(), Filters(temperature=0.5))
    expected = P**2 / (P**2).sum()
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)


def test_uniform_logits_keep_exact_counts():
    flat = torch.zeros(1, 10)
    assert int((probabilities(flat, Filters(top_k=3)) > 0).sum()) == 3
    assert int((probabilities(flat, Filters(top_p=0.5)) > 0).sum()) == 5  # ids whose mass before < 0.5
    assert int((probabilities(flat, Filters(min_p=0.9)) > 0).sum()) == 10


def test_bad_filter_values_are_refused_with_every_reason():
    with pytest.raises(ValueError, match=r"temperature.*top_p"):
        Filters(temperature=-1, top_p=0)


class MockModel(SequenceModel):
    """A flat model whose next-token logits are always ``logits``."""

    def __init__(self, logits):
        super().__init__()
        self.register_buffer("logits", torch.as_tensor(logits, dtype=torch.float))
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, ids, state=None):
        return self.logits.expand(*ids.shape, -1), None

    @staticmethod
    def select_state(state, index):
        return state


def test_the_sampler_draws_only_what_the_filters_keep_and_in_proportion():
    tok = T.get("grid", pitches=[60, 62, 64, 65, 67, 69], controls=())
    logits = torch.full((len(tok.vocab),), -1e9)
    logits[4:] = torch.log(torch.tensor([0.4, 0.3, 0.1, 0.1, 0.06, 0.04]))  # pitch ids 4..9
    s = Settings(filters=Filters(top_p=0.75), max_steps=400, stop_at_end=False, seed=5, grammar=False)
    ids = np.concatenate([x.ids for x in sample(MockModel(logits), tok, empty(tok, 20), s)])
    counts = np.bincount(ids, minlength=len(tok.vocab))
    assert set(np.flatnonzero(counts)) == {4, 5, 6}  # 0.4 + 0.3 < 0.75: three ids kept
    share = counts[4:7] / counts.sum()
    np.testing.assert_allclose(share, [0.5, 0.375, 0.125], atol=0.015)  # 8,000 draws


# ---- seeds and greedy decoding -----------------------------------------------------------------
def test_the_same_seed_gives_the_same_melodies_and_another_seed_others():
    tok = T.get("grid", pitches=range(55, 80))
    model = tiny("lstm", tok.vocab_size)

    def run(seed):
        return [x.ids.tolist() for x in sample(model, tok, empty(tok, 6), Settings(seed=seed, max_steps=30))]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_temperature_zero_is_greedy_and_ignores_the_seed():
    tok = T.get("grid", pitches=range(55, 80))
    model = tiny("transformer", tok.vocab_size)

    def s(seed):
        return Settings(filters=Filters(temperature=0), seed=seed, max_steps=12, stop_at_end=False)

    a = sample(model, tok, empty(tok, 2), s(1))[0].ids
    assert a.tolist() == sample(model, tok, empty(tok, 2), s(9))[0].ids.tolist()
    seq = [tok.end_id]  # the greedy rollout by hand, recomputing everything, under the grammar
    g = tok.grammar()
    with torch.no_grad():
        for _ in range(12):
            logits = model(torch.tensor([seq]))[0][0, -1]
            mask = torch.from_numpy(g.allowed().copy())
            mask[0] = False
            nxt = int(logits.masked_fill(~mask, float("-inf")).argmax())
            g.feed(nxt)
            seq.append(nxt)
    assert a.tolist() == seq[1:]


# ---- carried state == recomputation ------------------------------------------------------------
WIDE = {"head_dim": 16, "positional": "relative"}  # 4 heads x 16 > d_model 32: the input cache


@pytest.mark.parametrize("family", [*FAMILIES, "study-lstm", "transformer-wide", "hybrid-wide"])
def test_carried_state_gives_the_logits_of_recomputing_the_context(family):
    torch.manual_seed(0)
    if family.startswith("study"):
        model = build(family, 20)
    elif family.endswith("-wide"):
        model = tiny(family.removesuffix("-wide"), 20, **WIDE)
        assert model.blocks[0].absorb
    else:
        model = tiny(family, 20)
    model.eval()
    ids = torch.randint(1, 20, (5, 14))
    step = stepper(model)

    def full(t, rows):
        return (model.stream if family.startswith("study") else model)(ids[rows, :t])[0][:, -1]

    rows = torch.arange(5)
    with torch.no_grad():
        got = step.start(ids[:, :6])
        torch.testing.assert_close(got, full(6, rows), atol=1e-5, rtol=0)
        for t in range(7, 15):
            if t == 10:  # two rows finish and leave the batch
                rows = torch.tensor([0, 2, 4])
                step.keep(torch.tensor([0, 2, 4]))
            got = step.step(ids[rows, t - 1 : t], ids[rows, :t])
            torch.testing.assert_close(got, full(t, rows), atol=1e-5, rtol=0)


def test_study_lstm_carried_form_equals_its_window_form_on_one_window():
    torch.manual_seed(0)
    model = build("study-lstm", 20).eval()
    ids = torch.randint(1, 20, (3, 64))
    with torch.no_grad():
        torch.testing.assert_close(model.stream(ids)[0][:, -1:], model(ids)[0], atol=1e-5, rtol=0)


def test_a_sliding_cache_equals_recomputing_the_window_for_one_block():
    torch.manual_seed(0)
    config = ModelConfig(
        family="transformer", vocab_size=20, d_model=16, n_layers=1, n_heads=2, d_ff=32, positional="relative"
    )
    model = build(config).eval()
    ids = torch.randint(1, 20, (2, 30))
    step, width = stepper(model, lookback=8), 8
    with torch.no_grad():
        step.start(ids[:, :8])
        for t in range(9, 31):
            got = step.step(ids[:, t - 1 : t], ids[:, :t])
            window = model(ids[:, t - width : t])[0][:, -1]  # relative positions: a shift changes nothing
            torch.testing.assert_close(got, window, atol=1e-5, rtol=0)


# ---- grammar -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", T.NAMES)
def test_a_random_model_under_the_grammar_makes_no_syntax_errors(name):
    # notes only: an unfitted tokenizer's ~900 control items would drown a random model's notes
    tok = T.get(name, controls=()) if name != "grid" else T.get("grid", pitches=range(48, 85), controls=())
    model = tiny("lstm", tok.vocab_size)
    s = Settings(min_steps=25, max_steps=40, seed=3)
    out = sample(model, tok, empty(tok, 200), s)
    assert sum(tok.syntax_errors(x.ids) for x in out) == 0
    assert np.mean([x.steps for x in out]) >= 25
    assert all(len(tok.decode(x.ids)) > 0 for x in out[:20])  # real notes come out


def test_pitch_first_nb_under_the_grammar_makes_no_syntax_errors():
    tok = T.get("nb")
    model = tiny("gru", tok.vocab_size, first_field=3)
    out = sample(model, tok, empty(tok, 60), Settings(min_steps=20, max_steps=30, seed=4))
    assert sum(tok.syntax_errors(x.ids) for x in out) == 0


@pytest.mark.parametrize("name", ["remi", "nb"])
def test_without_the_grammar_errors_are_counted_as_the_tokenizer_counts_them(name):
    tok = T.get(name)
    model = tiny("lstm", tok.vocab_size)
    out = sample(model, tok, empty(tok, 20), Settings(grammar=False, max_steps=20, seed=1))
    assert [x.syntax_errors for x in out] == [tok.syntax_errors(x.ids) for x in out]
    assert sum(x.syntax_errors for x in out) > 0


# ---- prompts and stops -------------------------------------------------------------------------
def test_prompts_of_different_lengths_decode_as_if_each_were_alone():
    tok = T.get("grid", pitches=range(55, 80))
    model = tiny("hybrid", tok.vocab_size)
    prompts = [np.array([5, 2, 2, 7]), np.array([9]), np.array([4, 2, 3, 2, 2, 2, 8, 2])]
    s = Settings(filters=Filters(temperature=0), max_steps=15, stop_at_end=False)
    together = sample(model, tok, prompts, s)
    for p, got in zip(prompts, together):
        alone = sample(model, tok, [p], s)[0]
        assert got.ids[: len(p)].tolist() == p.tolist()
        assert got.ids.tolist() == alone.ids.tolist()
        assert got.prompt_length == len(p) and got.steps == 15


@pytest.mark.parametrize(
    ("family", "encoding"), [("transformer-wide", "grid"), ("lstm", "nb"), ("study-transformer", "grid")]
)
def test_a_prefix_every_row_shares_is_read_once_with_the_same_result(family, encoding):
    """The shared context and primer are read at batch size 1 and copied; the rows then read
    what differs together: each row must still decode as if it were alone."""
    tok = T.get(encoding, pitches=range(55, 80)) if encoding == "grid" else T.get(encoding)
    if family == "study-transformer":
        torch.manual_seed(0)
        model = build(family, tok.vocab_size).eval()
    else:
        name, kw = ("transformer", WIDE) if family == "transformer-wide" else (family, {})
        model = tiny(name, tok.vocab_size, **kw)
    notes = [(4 * i, 4, 60 + i % 5) for i in range(8)]
    song = tok.encode(Score.from_notes(notes, tpq=4, time_signatures=[(0, 4, 4)]))
    primer = song[:6]
    prompts = [primer, primer, np.concatenate([primer[:4], song[7:9]])]
    rows = torch.from_numpy(np.stack([np.concatenate([boundary(tok, 3), p]) for p in prompts]))
    with torch.no_grad():
        whole, shared = stepper(model), stepper(model)
        expected = whole.start(rows)
        shared.start(rows[:1, :7])  # the context and the first 4 tokens are the same in every row
        shared.keep(torch.zeros(3, dtype=torch.long))
        torch.testing.assert_close(shared.step(rows[:, 7:], rows), expected, atol=1e-5, rtol=0)
        nxt = rows[:, -1:]  # and the states carried on agree
        torch.testing.assert_close(shared.step(nxt, rows), whole.step(nxt, rows), atol=1e-5, rtol=0)
    s = Settings(filters=Filters(temperature=0), max_steps=10, stop_at_end=False)
    together = sample(model, tok, prompts, s, context=boundary(tok, 3))
    assert together[0].ids.tolist() == together[1].ids.tolist()
    for p, got in zip(prompts, together):
        alone = sample(model, tok, [p], s, context=boundary(tok, 3))[0]
        assert got.ids.tolist() == alone.ids.tolist()


def test_stops_at_the_end_token_after_bars_and_after_max_steps():
    tok = T.get("remi", max_bar_quarters=4)  # short bars, so that an untrained model fills two
    model = tiny("lstm", tok.vocab_size)
    out = sample(model, tok, empty(tok, 30), Settings(bars=2, max_steps=300, seed=2))
    for x in out:
        assert x.stop in ("end", "bars", "max_steps")
        assert int(tok.opens_bar(x.ids).sum()) <= 2
        if x.stop == "max_steps":
            assert x.steps == 300
        if x.stop == "end":
            assert x.ids[-1] == tok.end_id
    assert {x.stop for x in out} == {"bars", "end", "max_steps"}  # 4, 15 and 11 of 30 with this seed


def test_the_study_context_is_not_part_of_the_melody():
    tok = T.get("grid", pitches=range(55, 80))
    model = tiny("lstm", tok.vocab_size)
    prompt = np.array([5, 2, 2, 7])
    out = sample(model, tok, [prompt], Settings(max_steps=10, seed=0), context=boundary(tok, 64))[0]
    assert out.ids[:4].tolist() == prompt.tolist() and out.prompt_length == 4


def test_seed_files_drop_a_cut_pitch_and_name_bad_lines(tmp_path):
    tok = T.get("grid", pitches=[60, 62, 64, 67])
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("60 _ 64 _ 6\n_ 62 _ r\n\n67 _ 99\n")
    with pytest.raises(ParseError, match=r"seeds.txt.*line 4.*'99'"):
        from_seeds(seeds, tok)
    seeds.write_text("60 _ 64 _ 6\n_ 62 _ r\n")
    got = from_seeds(seeds, tok)
    assert [tok.vocab[i] for i in got[0]] == ["60", "_", "64", "_"]
    assert [tok.vocab[i] for i in got[1]] == ["62", "_", "r"]
    nb = from_seeds(seeds, T.get("nb"))  # other encodings read the line as a melody
    assert T.get("nb").decode(nb[0]).pitch.tolist() == [60, 64]


def test_an_empty_prompt_never_gives_an_empty_melody():
    tok = T.get("grid", pitches=[60, 62, 64])
    logits = torch.zeros(len(tok.vocab))
    logits[tok.end_id] = 20.0  # a model that wants to end at once, as one trained on 64 `/` gaps
    out = sample(MockModel(logits), tok, empty(tok, 10), Settings(max_steps=5, seed=0))
    assert all(x.steps == 2 and x.ids[-1] == tok.end_id and x.ids[0] != tok.end_id for x in out)


@pytest.mark.parametrize("name", T.NAMES)
def test_a_melody_stopped_by_the_step_cap_is_cut_back_to_where_it_could_end(name):
    tok = T.get(name, controls=()) if name != "grid" else T.get("grid", pitches=range(48, 85), controls=())
    model = tiny("lstm", tok.vocab_size)
    out = sample(model, tok, empty(tok, 40), Settings(min_steps=1000, max_steps=30, seed=2))  # never may end
    assert all(x.stop == "max_steps" for x in out)
    for x in out:
        ids = closed(tok, x.ids)
        assert len(ids) <= len(x.ids) + 1 and (ids[:-1] == x.ids[: len(ids) - 1]).all()  # a prefix, ended
        assert tok.syntax_errors(ids) == 0 and tok.ends(ids[-1])
