"""Shipped checkpoints: 8-bit weights within half a step of the floats, a packed run that loads,
generates and scores like the run it came from, and clear errors for unknown names."""

import json

import numpy as np
import pytest
import torch

import tunelab.pretrained as pretrained
from tunelab.cli import main
from tunelab.errors import ConfigError
from tunelab.training import train
from tunelab.training.checkpoint import dequantize, load_run, quantize

from .test_training import config, corpus  # noqa: F401  (corpus is a fixture)


def test_int8_weights_are_within_half_a_step_and_a_quarter_of_the_bytes():
    torch.manual_seed(0)
    state = {"w": torch.randn(64, 128) * torch.linspace(0.01, 3, 64)[:, None], "b": torch.randn(64)}
    q = quantize(state)
    assert q["w"].dtype == torch.int8 and q["b"].dtype == torch.float32  # vectors stay as they are
    back = dequantize(q)
    step = state["w"].abs().amax(dim=1, keepdim=True) / 127
    assert torch.all((back["w"] - state["w"]).abs() <= step / 2 + 1e-7)
    assert torch.equal(back["b"], state["b"]) and set(back) == {"w", "b"}
    float_bytes = state["w"].numel() * 4
    assert q["w"].numel() + q["w.int8_scale"].numel() * 4 < 0.27 * float_bytes


def test_a_packed_run_loads_generates_and_scores_like_its_source(corpus, tmp_path, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setattr(pretrained, "HERE", tmp_path / "shipped")
    run = train(config(corpus, tmp_path / "run", epochs=1))
    assert main(["pretrained", "pack", str(run), "tiny-lstm"]) == 0
    out = tmp_path / "shipped" / "tiny-lstm"
    assert json.loads(capsys.readouterr().out)["packed"] == str(out)
    assert pretrained.names() == ["tiny-lstm"] and pretrained.resolve("tiny-lstm") == out
    (out.parent / "aliases.json").write_text('{"tiny-best": "tiny-lstm", "gone": "not-shipped"}')
    assert pretrained.names() == ["tiny-best", "tiny-lstm"] and pretrained.resolve("tiny-best") == out
    assert main(["pretrained", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == ["tiny-best -> tiny-lstm", "tiny-lstm"]
    assert not (out / "model.safetensors").exists() and (out / "model.int8.safetensors").exists()
    # a run trained before tunelab recorded its longest song gets it when packed
    meta = json.loads((run / "config.json").read_text())
    longest = meta["data"].pop("longest_song")
    (run / "config.json").write_text(json.dumps(meta))
    from tunelab.pretrained.pack import pack

    pack(run, "tiny-lstm")
    assert json.loads((out / "config.json").read_text())["data"]["longest_song"] == longest
    a, tok, _ = load_run(run)
    b, _, _ = load_run(out)
    ids = torch.as_tensor(np.arange(2, 30) % tok.vocab_size)[None]
    with torch.no_grad():
        pa, pb = a(ids)[0].softmax(-1), b(ids)[0].softmax(-1)
    assert (pa - pb).abs().max() < 0.02  # 8-bit weights move probabilities by little
    gen = tmp_path / "gen"
    assert main(["generate", "--model", "tiny-lstm", "--n", "3", "--formats", "grid", "--out", str(gen)]) == 0
    assert len((gen / "grid.txt").read_text().splitlines()) == 3
    assert main(["score", "tiny-lstm", str(corpus), "--device", "cpu"]) == 0
    capsys.readouterr()


def test_an_unknown_model_name_is_refused_with_the_shipped_names(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "HERE", tmp_path)
    (tmp_path / "deutschl-x").mkdir()
    (tmp_path / "deutschl-x" / "config.json").write_text("{}")
    with pytest.raises(
        ConfigError, match=r"nope: neither a run directory nor a shipped model \(shipped: deutschl-x\)"
    ):
        pretrained.resolve("nope")
    assert main(["generate", "--out", str(tmp_path / "g")]) == 2  # neither a run nor --model
