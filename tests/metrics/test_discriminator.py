"""The classifier two-sample test: intervals by hand, features by hand, sets that differ told
apart, sets that do not at 0.5, and the evaluate suite that carries it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tunelab.metrics.discriminator import feature_names, features, real_against_real, two_sample, wilson
from tunelab.score import Score


def tune(rng, leaps: bool = False) -> Score:
    """Eighths and quarters in 4/4 on a C-major scale, stepwise (or with wide leaps), ending on C."""
    scale = np.array([60, 62, 64, 65, 67, 69, 71, 72])
    pitches, lengths, i = [], [], 3
    for _ in range(int(rng.integers(14, 24))):
        i = int(np.clip(i + rng.choice([-1, 1]) * (rng.integers(3, 7) if leaps else 1), 0, 7))
        pitches.append(scale[i])
        lengths.append(int(rng.choice([240, 480])))
    pitches.append(60)
    lengths.append(960)
    onset = np.cumsum([0, *lengths[:-1]])
    return Score(onset, np.array(lengths), np.array(pitches), time_signatures=[(0, 4, 4)])


def test_wilson_interval_by_hand():
    low, high = wilson(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    low, high = wilson(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12) and high == pytest.approx(0.2775, abs=1e-4)


def test_features_of_a_scale_by_hand():
    s = Score(np.array([0, 480, 960, 1440]), np.array([480, 480, 480, 960]), np.array([60, 62, 64, 65]),
              time_signatures=[(0, 4, 4)])  # fmt: skip
    f = dict(zip(feature_names(), features(s)))
    assert f["pitch class 0"] == f["pitch class 2"] == f["pitch class 4"] == f["pitch class 5"] == 0.25
    assert f["interval +2"] == pytest.approx(2 / 3) and f["interval +1"] == pytest.approx(1 / 3)
    assert f["duration 1"] == 0.75 and f["duration 2"] == 0.25 and f["last note pitch class 5"] == 1
    assert f["pitch range"] == pytest.approx(5 / 24) and f["notes a quarter"] == pytest.approx(4 / 5)
    assert f["rest share"] == pytest.approx(0) and f["on downbeats"] == pytest.approx(
        0.25
    )  # tick 0 of 0, 1920
    assert f["steps"] == 1 and f["leaps"] == 0 and f["last note length"] == pytest.approx(0.5)


def test_sets_that_differ_are_told_apart_and_the_same_are_not():
    rng = np.random.default_rng(0)
    real = [tune(rng) for _ in range(60)]
    leapy = [tune(rng, leaps=True) for _ in range(60)]
    verdicts = two_sample(leapy, real)
    for v in verdicts:
        assert v.accuracy > 0.85 and v.low > 0.5, v
        assert v.melodies == 60 and len(v.fold_accuracies) == 5
    feats = verdicts[0]
    assert any("leaps" in t or "steps" in t or "interval" in t for t in feats.tells[:3])
    for v in real_against_real(real + [tune(rng) for _ in range(60)]):
        assert v.low <= 0.5 <= v.high, v


def test_evaluate_runs_the_discriminator_suite(tmp_path):
    from tunelab.cli import main
    from tunelab.io.midi import write_midi

    rng = np.random.default_rng(1)
    for name, leaps in (("real", False), ("gen", True)):
        (tmp_path / name).mkdir()
        for i in range(30):
            write_midi(tune(rng, leaps), tmp_path / name / f"{i}.mid")
    out = tmp_path / "eval"
    args = [
        "evaluate",
        str(tmp_path / "gen"),
        "--reference",
        str(tmp_path / "real"),
        "--suite",
        "discriminator",
    ]
    assert main([*args, "--out", str(out)]) == 0
    found = json.loads((out / "metrics.json").read_text())["discriminator"]
    assert set(found) == {"gen", "reference-real (half against half)"}
    assert [v["classifier"] for v in found["gen"]] == ["features", "sequence", "both"]
    assert found["gen"][0]["accuracy"] > 0.8
    assert "Told apart" in (out / "report.html").read_text()
    assert (
        main(["evaluate", str(tmp_path / "gen"), "--suite", "discriminator", "--out", str(tmp_path / "x")])
        == 2
    )


def test_a_melodys_verdict_does_not_depend_on_the_melodies_padded_beside_it():
    import torch

    from tunelab.metrics.discriminator_models import NoteGRU, _batch, note_rows

    torch.manual_seed(0)
    model = NoteGRU().eval()
    rng = np.random.default_rng(2)
    short, long = note_rows(tune(rng)), np.concatenate([note_rows(tune(rng))] * 3)
    with torch.inference_mode():
        alone = model(*_batch([short]))
        beside = model(*_batch([short, long]))
        # the backward GRU reads the melody from its own last note: reversing the order changes it
        flipped = model(*_batch([short[::-1].copy()]))
    assert len(long) > len(short)
    assert beside[0].item() == pytest.approx(alone[0].item(), abs=1e-5)
    assert flipped[0].item() != pytest.approx(alone[0].item(), abs=1e-4)


def test_both_averages_the_two_held_out_probabilities_by_hand():
    from tunelab.metrics.discriminator_models import both_test

    # melodies 0-4 from set a, 5-9 from set b; each row: (features' logit, sequence's logit)
    logits = np.array(
        [(3, -1), (-1, 3), (-3, 1), (0.5, 0.5), (2, 2), (-2, -2), (1, -3), (-0.2, 0.1), (0.4, -2), (3, -1)]
    )
    fold = np.arange(10) % 5
    v = both_test(logits[:, 0], logits[:, 1], fold, 5)
    # averaged probabilities: 0.61 0.61 0.39 0.62 0.88 | 0.12 0.26 0.49 0.36 0.61 -> a, a, b, a, a | b, b, b, b, a
    assert v.accuracy == pytest.approx(8 / 10) and v.melodies == 5
    assert v.fold_accuracies == [1.0, 1.0, 0.5, 1.0, 0.5]
    assert v.tells == ["the two classifiers agree on 30% of melodies"]  # rows 3, 4, 5
