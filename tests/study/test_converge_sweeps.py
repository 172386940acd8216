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
