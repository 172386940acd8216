"""benchmarks/converge_gpu.py, the GPU run of the study-size attention models, run on CPU at a tiny
budget: both models train, are scored by the study's protocol and packed, and the pack loads."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ..helpers import split_folder

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def test_the_gpu_script_trains_scores_and_packs_both_models_on_cpu(tmp_path):
    (tmp_path / "corpus").mkdir()
    corpus = split_folder(
        tmp_path / "corpus", np.random.default_rng(5), (("train", 24), ("val", 4), ("test", 4))
    )
    sys.path.insert(0, str(BENCH))
    try:
        import converge_gpu
    finally:
        sys.path.remove(str(BENCH))
    out = tmp_path / "out"
    assert converge_gpu.main(["--tiny", "--corpus", str(corpus), "--out", str(out), "--device", "cpu"]) == 0
    result = json.loads((out / "converge_gpu.json").read_text())
    assert set(result) == {"transformer", "hybrid"}
    import tunelab

    for model, row in result.items():
        assert row["epochs"] == 2 and 0 <= row["study_accuracy"] <= 1 and row["bits_per_note"] > 0
        assert row["tokens"] == row["curve"][-1]["tokens_seen"] > 0
        packed = out / row["pack"]
        assert (packed / "config.json").exists() and packed.name == f"study-{model}"
        melodies = tunelab.load(packed, threads=1).generate(n=1, seed=0, max_steps=40)
        assert len(melodies) == 1
    assert converge_gpu.main(["--corpus", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
