"""Information content: windows that count each target once, agreement with the study's protocol
and with one forward pass per target, the chain-rule split of pitch from the rest."""

import math

import numpy as np
import pytest
import torch

from tunelab.io.kern import parse_kern
from tunelab.models import build
from tunelab.tokenizers import get
from tunelab.training.evaluate import batch_stats, study_windows
from tunelab.training.surprise import LN2, Surprise, bits_per_note, stream_of, surprise, target_bits, windows

from ..fixtures import PICKUP_3_4, TRIPLETS_AND_TIES


def test_windows_count_every_target_once_with_enough_context():
    for n in range(2, 50):
        for length in range(1, 12):
            for keep in range(1, length + 1):
                plan, seen = windows(n, length, keep), []
                L = min(length, n - 1)
                for k, (s, lo) in enumerate(plan):
                    assert s >= 0 and s + L <= n - 1
                    counted = list(range(lo, s + L + 1))
                    seen += counted
                    if k:
                        assert all(t - s - 1 >= L - keep for t in counted), (n, length, keep)
                assert seen == list(range(1, n)), (n, length, keep)


def test_songs_are_scored_with_their_end_and_the_first_token_is_never_lost():
    songs = [np.array([5, 2, 1]), np.array([6, 1, 1]), np.array([7])]
    stream, spans = stream_of(songs, sep=1, gap=3)
    assert stream.tolist() == [1, 1, 1, 5, 2, 1, 1, 1, 6, 1, 1, 1, 7, 1, 1, 1]
    assert [stream[a:b].tolist() for a, b in spans] == [[5, 2, 1], [6, 1], [7, 1]]
    words = [np.array([[2, 3], [4, 5]]), np.array([[2, 6]])]  # no separator: songs carry their ends
    stream, spans = stream_of(words, sep=None, gap=0)
    assert stream.shape == (3, 2) and spans == [(1, 2), (2, 3)]


def _grid_songs(rng, k=6):
    tok = get("grid", pitches=range(60, 72))
    seqs = []
    for _ in range(k):
        ids = []
        for _ in range(int(rng.integers(3, 30))):
            ids += [int(rng.integers(3, 16))] + [2] * int(rng.integers(0, 5))  # rest or pitch, holds
        seqs.append(np.array([*ids, 1]))
    return tok, seqs


def test_window_mode_is_the_study_protocol_exactly():
    torch.manual_seed(0)
    tok, seqs = _grid_songs(np.random.default_rng(0))
    model = build("lstm", len(tok.vocab), preset="tiny").eval()
    stream, _ = stream_of(seqs, 1, 64)
    bits, _ = target_bits(model, stream, tok, seq_len=64, window_mode=True, batch_size=37)
    _, nll = study_windows(model, stream)  # nll[j]: stream[j + 64] from the 64 tokens before it
    assert np.allclose(bits[64:] * LN2, nll, atol=1e-5)


def test_each_target_agrees_with_its_own_forward_pass():
    torch.manual_seed(1)
    tok, seqs = _grid_songs(np.random.default_rng(1), k=3)
    model = build("transformer", len(tok.vocab), preset="tiny").eval().requires_grad_(False)
    stream, _ = stream_of(seqs, 1, 4)
    length = 16
    bits, _ = target_bits(model, stream, tok, seq_len=length, batch_size=5)
    assert np.isnan(bits[0]) and not np.isnan(bits[1:]).any()
    for s, lo in windows(len(stream), length, length // 2):
        for t in range(lo, s + length + 1):  # target t read from its window's start to t
            x = torch.as_tensor(stream[s:t])[None]
            want = -model(x)[0][0, -1].log_softmax(-1)[stream[t]].item() / LN2
            assert bits[t] == pytest.approx(want, abs=1e-4), t


def test_pitch_is_the_chain_rule_part_after_a_note_starts():
    torch.manual_seed(2)
    tok, seqs = _grid_songs(np.random.default_rng(2), k=2)
    model = build("lstm", len(tok.vocab), preset="tiny").eval().requires_grad_(False)
    stream, _ = stream_of(seqs, 1, 2)
    bits, pitch = target_bits(model, stream, tok, seq_len=len(stream))  # one window: one pass
    p = model(torch.as_tensor(stream[:-1])[None])[0][0].softmax(-1).detach().numpy()
    pitches = tok.pitch_ids()
    for t in range(1, len(stream)):
        y, probs = stream[t], p[t - 1]
        assert bits[t] == pytest.approx(-math.log2(probs[y]), abs=1e-4)
        want = -math.log2(probs[y] / probs[pitches].sum()) if y in pitches else 0.0
        assert pitch[t] == pytest.approx(want, abs=1e-4)
    assert (pitch[1:] <= bits[1:] + 1e-6).all() and (pitch[np.isin(stream, pitches, invert=True)] == 0).all()


@pytest.mark.parametrize("encoding", ["cp", "nb"])
def test_compound_words_sum_their_fields_as_the_training_loss_does(encoding):
    torch.manual_seed(3)
    tok = get(encoding, steps_per_quarter=12)  # the triplets' grid
    pieces = [parse_kern(PICKUP_3_4), parse_kern(TRIPLETS_AND_TIES)]
    seqs = [tok.encode(p) for p in pieces]
    model = build("lstm", tok.vocab_size, preset="tiny").eval().requires_grad_(False)
    got = surprise(model, tok, seqs, [len(p) for p in pieces], gap=0, seq_len=1000)
    stream, _ = stream_of(seqs, None, 0)
    x, y = torch.as_tensor(stream[None, :-1]), torch.as_tensor(stream[None, 1:])
    loss = batch_stats(
        model, x, y, torch.ones_like(y, dtype=torch.bool), compound=True, first_field=model.first_field
    )[0]
    assert sum(s.total for s in got) * LN2 == pytest.approx(float(loss), rel=1e-5)
    field = tok.pitch_field
    fields, _ = model(x, first=y[..., model.first_field])
    by_hand = -(
        fields[field].log_softmax(-1).gather(-1, y[..., field, None]).squeeze(-1) * (y[..., field] != 0)
    ).sum()
    assert sum(float(s.pitch_bits.sum()) for s in got) * LN2 == pytest.approx(float(by_hand), rel=1e-5)


def test_bits_per_note_is_total_bits_over_notes():
    a = Surprise(np.arange(3), np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 0.5]), notes=2)
    b = Surprise(np.arange(2), np.array([4.0, 0.0]), np.array([2.0, 0.0]), notes=2)
    got = bits_per_note([a, b])
    assert got == {"bits_per_note": 2.5, "pitch_bits_per_note": 0.875, "rhythm_bits_per_note": 1.625}
