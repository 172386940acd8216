"""benchmarks/converge.py's sweep bookkeeping: a run that another sweep has already made (the same
config and seed) is reused, never trained twice, and a variant that would only repeat the base is
not in the ablation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def converge(monkeypatch, tmp_path):
    sys.path.insert(0, str(BENCH))
    try:
        import converge
    finally:
        sys.path.remove(str(BENCH))
    monkeypatch.setattr(converge, "RESULTS", tmp_path)
    monkeypatch.setattr(converge, "SPLIT", tmp_path / "no-data")  # as in CI: nothing is read
    return converge


def test_a_run_made_by_another_sweep_is_reused(converge, tmp_path):
    row = {"sweep": "scale", "variant": "lstm", "seed": 0, "bits_per_note": 3.44}
    (tmp_path / "converge-scale.json").write_text(json.dumps([row]))
    # the encodings sweep's grid/lstm/ce is the scale sweep's lstm (loss "ce" is the default)
    reused = converge.same_run("encodings", "grid/lstm/ce", 0)
    assert reused["bits_per_note"] == 3.44 and reused["same_as"] == "scale: lstm"
    assert (reused["sweep"], reused["variant"]) == ("encodings", "grid/lstm/ce")
    assert converge.same_run("encodings", "grid/lstm/ce", 1) is None  # another seed: not made yet
    assert converge.same_run("encodings", "nb/lstm/ce", 0) is None  # another encoding
    assert converge.same_run("encodings-focal", "grid/lstm/focal", 0) is None  # another loss


def test_no_ablation_variant_repeats_the_base(converge):
    specs = converge.SWEEPS["ablation"]
    base = converge._config(specs["base"])
    assert all(converge._config(s) != base for name, s in list(specs.items())[1:])
    # the study halves its base's heads and LSTM units; this scale's base has 4 and 128
    assert specs["half the heads (2)"]["model_options"]["n_heads"] == 2
    assert specs["LSTM 64 units (half)"]["model_options"]["hidden_size"] == 64


def test_the_power_law_fit_and_the_efficiency_figure(converge, tmp_path):
    sys.path.insert(0, str(BENCH))
    try:
        import converge_figures as figures
    finally:
        sys.path.remove(str(BENCH))
    # bits = 4 x share^-0.1 exactly: the fit gives back a = 4, alpha = 0.1, no residual
    shares = [1 / 8, 1 / 4, 1 / 2, 1]
    a, alpha, worst = figures.power_law(shares, [4 * s**-0.1 for s in shares])
    assert abs(a - 4) < 1e-9 and abs(alpha - 0.1) < 1e-9 and worst < 1e-12
    assert figures.power_law([1 / 2, 1], [3.6, 3.5]) is None  # two points: no fit
    curve = [{"epoch": 1.0, "tokens_seen": 1e6, "elapsed_seconds": 20.0, "val_loss": 0.7, "val_study_accuracy": 0.8},
             {"epoch": 2.0, "tokens_seen": 2e6, "elapsed_seconds": 40.0, "val_loss": 0.6, "val_study_accuracy": 0.82}]  # fmt: skip
    scale = [
        {"variant": "lstm", "seed": s, "bits_per_note": b, "best_epoch": 2, "curve": curve}
        for s, b in ((0, 3.4), (1, 3.5))
    ]
    efficiency = [{"variant": "lstm 1/8", "seed": 0, "bits_per_note": 3.9}, {"variant": "lstm 1/2", "seed": 0, "bits_per_note": 3.6}]  # fmt: skip
    points = figures.data_points(scale, efficiency)
    assert points["lstm"] == [(1 / 8, 3.9, 1), (1 / 2, 3.6, 1), (1.0, 3.45, 2)] and points["hybrid"] == []
    figures.draw(scale, points, tmp_path / "e.png")
    figures.draw_ablation(
        [{**scale[0], "variant": "base"}, {**scale[0], "variant": "no dropout"}], tmp_path / "a.png"
    )
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "e.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = figures.table(points)
    assert "| lstm | 0.125 | 3.9000 | 1 |" in text and "| lstm | 1 | 3.4500 | 2 |" in text  # seeds averaged
    # three shares: a fit (by hand: the slope from 1/8 to all is (ln 3.45 - ln 3.9) / ln 8 = -0.059)
    assert (
        "| lstm | 3.453 x share^-0.0588 | 0.11% |" in text and "| hybrid | none yet: 0 share(s) run" in text
    )


def test_a_finished_efficiency_row_redraws_the_figure(converge, tmp_path, monkeypatch):
    sys.path.insert(0, str(BENCH))
    try:
        import converge_figures as figures
    finally:
        sys.path.remove(str(BENCH))
    monkeypatch.setattr(figures, "OUT", tmp_path / "fig")
    curve = [
        {
            "epoch": 1.0,
            "tokens_seen": 1e6,
            "elapsed_seconds": 20.0,
            "val_loss": 0.7,
            "val_study_accuracy": 0.8,
        }
    ]
    base = {"seed": 0, "parameters": 1, "best_epoch": 1, "epochs": 1, "tokens": 1, "train_minutes": 1.0,
            "masked_accuracy": 0.8, "pitch_bits_per_note": 2.0, "rhythm_bits_per_note": 1.5, "song_bits": [1.0],
            "song_ids": ["a"], "curve": curve}  # fmt: skip
    (tmp_path / "converge-scale.json").write_text(
        json.dumps([{**base, "variant": "lstm", "bits_per_note": 3.5}])
    )
    converge.append(
        "efficiency", {**base, "sweep": "efficiency", "variant": "lstm 1/4", "bits_per_note": 3.8}, False
    )
    text = (tmp_path / "fig" / "efficiency.md").read_text()
    assert "| lstm | 0.25 | 3.8000 | 1 |" in text and (tmp_path / "fig" / "efficiency.png").exists()
