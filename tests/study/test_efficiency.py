"""``study efficiency`` on tiny models: activation memory grows with the input, a carried step
is cheaper than recomputing a long context, and part (c) trains on the share it is given."""

import csv

from tunelab.study import efficiency

from .test_pipeline import corpus  # noqa: F401  (a fixture)


def test_efficiency_measures_every_part_and_writes_its_files(corpus, tmp_path):  # noqa: F811
    page = efficiency.run(
        tmp_path, data=str(corpus), minutes=0.02, lengths=(32, 128), contexts=(32, 256), fractions=(0.5, 1.0),
        batch=4, threads=1, preset="tiny", train_options={"batch_size": 8, "seq_len": 16, "gap": 8},
    )  # fmt: skip
    with open(tmp_path / "efficiency.csv") as f:
        rows = list(csv.DictReader(f))
    value = {(r["part"], r["model"], float(r["x"]), r["metric"]): float(r["value"]) for r in rows}
    for label in efficiency.FAMILIES:
        assert value[("a", label, 128.0, "activation_mb")] > value[("a", label, 32.0, "activation_mb")]
        assert value[("a", label, 32.0, "tokens_per_s")] > 0
        assert value[("c", label, 0.5, "val_loss")] > 0
    # a Transformer's cached step does not re-read 256 tokens; recomputing does
    assert (
        value[("b", "Transformer", 256.0, "step_ms")]
        < value[("b", "Transformer", 256.0, "recompute_step_ms")]
    )
    songs = {
        f: int(
            __import__("json").loads((tmp_path / "runs" / f"lstm-{f}" / "config.json").read_text())["data"][
                "train_songs"
            ]
        )
        for f in (50, 100)
    }
    assert songs == {50: 15, 100: 30}
    assert "(c) best validation loss" in page.read_text()
    assert all((tmp_path / f"efficiency_{p}.png").exists() for p in "abc")
