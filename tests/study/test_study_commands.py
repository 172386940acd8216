"""study ablation and study encodings: the variants change one thing each, and the encodings
table's numbers follow from the runs (NLL per note by hand, NB shorter than CP)."""

import json

import numpy as np
import pytest

from tunelab.models import ModelConfig
from tunelab.study import ablation
from tunelab.study.encodings import encodings

from .test_pipeline import corpus  # noqa: F401  (a fixture)


@pytest.mark.parametrize("size", ["study", "small"])
def test_each_ablation_variant_changes_one_thing_from_the_base(size):
    specs = ablation.variants(size, vocab_size=46)
    assert len(specs) == 14
    base = specs["base"]
    assert base["model_options"]["dropout"] == 0.1 and base["l2"] == {ablation.L2_KERNEL: 0.01}
    preset = ModelConfig.small("hybrid", 46).to_dict() if size == "small" else {}
    for name, spec in specs.items():
        ModelConfig(family="hybrid", vocab_size=46, **spec["model_options"])  # every variant is a valid model
        # compared as built (the preset's values filled in), so that a variant asking for what the
        # base already has counts as changing nothing
        built, built_base = {**preset, **spec["model_options"]}, {**preset, **base["model_options"]}
        changed = {k for k in built if built[k] != built_base.get(k)}
        changed |= {"l2"} if spec["l2"] != base["l2"] else set()
        expected = {
            "base": set(),
            "no embedding (one-hot)": {"embedding", "d_model", "head_dim"}
            - ({"head_dim"} if size == "study" else set()),
        }.get(name)
        assert changed == expected if expected is not None else len(changed) == 1, (name, changed)
    assert specs["L2 0.0001"]["l2"] == {ablation.L2_KERNEL: 1e-4}


def test_encodings_report_nll_per_note_and_nb_is_shorter_than_cp(corpus, tmp_path):  # noqa: F811
    page = encodings(
        tmp_path, data=str(corpus), minutes=0.05, n=4, encodings=("grid", "cp", "nb"), families=("lstm",),
        losses=("ce",), threads=1, size="tiny", params=120_000,
        train_options={"seq_len": 16, "batch_size": 8, "epochs": 2, "progress": False},
    )  # fmt: skip
    results = json.loads((tmp_path / "results.json").read_text())["models"]
    counts = [r["parameters"] for r in results.values()]
    assert all(abs(c - 120_000) < 0.05 * 120_000 for c in counts), counts  # matched across encodings
    for r in results.values():
        t = r["test"]
        assert np.isclose(t["nll_per_note"], t["nll_per_token"] * t["targets"] / t["notes"])
        assert 0 < t["masked_accuracy"] <= 1 and r["generation"]["melodies"] == 4
    assert results["nb/lstm/ce"]["tokens_per_song"] < results["cp/lstm/ce"]["tokens_per_song"]
    notes = results["grid/lstm/ce"]["test"]["notes"]
    assert notes == results["nb/lstm/ce"]["test"]["notes"] > 0  # the same songs, however encoded
    rows = [line for line in page.read_text().splitlines() if line.startswith("| ") and "/" not in line[:3]]
    assert len(rows) == 1 + 3  # header and one row per run
    for name, r in results.items():  # one box of minutes for every encoding, whatever its recipe's rate
        train = json.loads((tmp_path / "runs" / name / "config.json").read_text())["train"]
        assert train["max_minutes"] == 0.05 and train["max_tokens"] is None
        t = r["test"]
        assert t["bits_per_note_all"] == pytest.approx(
            t["pitch_bits_per_note_all"] + t["rhythm_bits_per_note_all"]
        )
    assert "bits / note (pitch + rest)" in rows[0] and "copied 4 bars / near" in rows[0]
    assert all(row.rstrip(" |").endswith("%") for row in rows[1:])  # the copying column is filled


def test_encodings_only_runs_named_runs_and_refuses_unknown_names(tmp_path):
    from tunelab.errors import ConfigError

    with pytest.raises(ConfigError, match="no run nb/gpt/ce"):
        encodings(tmp_path, data="deutschl", only=["nb/gpt/ce"], params=None)
