"""The training loop on a tiny grid corpus: run directories, exact resume after a kill and after
--max-minutes, the NaN guard, scoring (study protocol by brute force), compound encodings,
window mode, and DDP with two processes equal to one process on the same global batch."""

import csv
import json
import multiprocessing
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from tunelab.cli import main
from tunelab.errors import ConfigError, TunelabError
from tunelab.training import TrainConfig, train
from tunelab.training.checkpoint import load_run, load_weights
from tunelab.training.data import Examples, song_stream
from tunelab.training.evaluate import study_hits
from tunelab.training.evaluate import subsample as pick_windows
from tunelab.training.score import _study_targets, score

from ..helpers import song as _song
from ..helpers import split_folder


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(7)
    for name, n in (("train", 40), ("val", 6), ("test", 8)):
        (root / f"{name}.txt").write_text("\n".join(_song(rng) for _ in range(n)) + "\n")
    # two test songs repeat training songs, as in the study's split
    train_lines = (root / "train.txt").read_text().splitlines()
    test_lines = (root / "test.txt").read_text().splitlines()
    test_lines[2], test_lines[5] = train_lines[0], train_lines[3]
    (root / "test.txt").write_text("\n".join(test_lines) + "\n")
    return root


def config(corpus, out, **kw) -> TrainConfig:
    base = dict(
        corpus=str(corpus), out=str(out), model="lstm", size="tiny", seq_len=16, batch_size=8,
        epochs=3, gap=8, progress=False, seed=3, threads=1, model_options={"dropout": 0.1},
    )  # fmt: skip
    return TrainConfig(**{**base, **kw})


def log_rows(run, status="epoch"):
    with open(run / "train_log.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["status"] == status]
    return [(r["epoch"], r["step"], r["train_loss"], r["val_loss"], r["val_accuracy"]) for r in rows]


def test_a_run_directory_holds_a_usable_model(corpus, tmp_path):
    run = train(config(corpus, tmp_path / "run"))
    assert {"config.json", "model.safetensors", "train_log.csv", "resume.pt"} <= {
        p.name for p in run.iterdir()
    }
    meta = json.loads((run / "config.json").read_text())
    assert meta["status"]["state"] == "finished" and meta["status"]["epochs_done"] == 3
    rows = log_rows(run)
    assert [r[0] for r in rows] == ["1", "2", "3"]
    assert float(rows[-1][2]) < float(rows[0][2])  # it learns
    model, tokenizer, _ = load_run(run)
    again, _, _ = load_run(run)
    ids = torch.randint(1, tokenizer.vocab_size, (2, 12))
    assert torch.equal(model(ids)[0], again(ids)[0])
    with pytest.raises(ConfigError, match="already holds a run"):
        train(config(corpus, run))


def _train_and_die(cfg, step):
    def die(s, loss):
        if s == step:
            os.kill(os.getpid(), signal.SIGKILL)

    train(cfg, on_step=die)


def test_resume_after_a_kill_gives_the_same_losses(corpus, tmp_path):
    whole = train(config(corpus, tmp_path / "whole"))
    steps_per_epoch = int(log_rows(whole)[0][1])
    cfg = config(corpus, tmp_path / "killed")
    child = multiprocessing.get_context("spawn").Process(
        target=_train_and_die, args=(cfg, steps_per_epoch + 3)
    )
    child.start()
    child.join(120)
    assert child.exitcode == -signal.SIGKILL
    assert len(log_rows(tmp_path / "killed")) == 1  # epoch 1 was saved, epoch 2 was lost mid-way
    train(cfg, resume=True)
    assert log_rows(tmp_path / "killed") == log_rows(whole)


def test_max_minutes_stops_cleanly_and_resumes_exactly(corpus, tmp_path):
    whole = train(config(corpus, tmp_path / "whole", epochs=2))
    run = train(config(corpus, tmp_path / "boxed", epochs=2, max_minutes=1e-6))
    meta = json.loads((run / "config.json").read_text())
    assert meta["status"]["state"] == "stopped" and meta["status"]["steps"] == 1
    load_run(run)  # usable at once
    train(config(corpus, run), resume=True, max_minutes=None)
    assert log_rows(run) == log_rows(whole)
    assert len(log_rows(run, "stopped")) == 1


def test_the_nan_guard_stops_with_a_clear_message(corpus, tmp_path, monkeypatch):
    import tunelab.training.loop as loop

    real = loop.batch_stats

    def poisoned(*a, **kw):
        loss, *rest = real(*a, **kw)
        return (loss * float("nan"), *rest)

    monkeypatch.setattr(loop, "batch_stats", poisoned)
    with pytest.raises(TunelabError, match=r"diverged.*step 1"):
        train(config(corpus, tmp_path / "nan"))


def test_score_reports_json_and_the_study_protocol_by_brute_force(corpus, tmp_path, capsys):
    run = train(config(corpus, tmp_path / "run", epochs=1))
    assert main(["score", str(run), str(corpus), "--protocol", "study", "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["split"] == "test" and out["songs"] == 8
    assert 0 < out["masked_accuracy"] <= 1 and out["perplexity"] == pytest.approx(
        np.exp(out["nll_per_token"])
    )
    model, tokenizer, _ = load_run(run)
    songs = [
        tokenizer.encode(s)
        for s in __import__("tunelab").corpus.load(str(corpus), verbose=False).split("test")
    ]
    stream = song_stream(songs, tokenizer.separator_id, 64)
    hits = [
        int(model(torch.as_tensor(stream[i - 64 : i])[None])[0][0, -1].argmax()) == stream[i]
        for i in range(64, len(stream))
    ]
    assert out["study_accuracy"] == pytest.approx(np.mean(hits))
    third = score(run, str(corpus), protocol="study", device="cpu", subsample=3)  # a seeded third
    index = pick_windows(len(hits), 3)
    assert len(set(index)) == len(index) == -(-len(hits) // 3) and np.all(np.diff(index) > 0)
    assert third["study_accuracy"] == pytest.approx(np.mean(np.array(hits)[index]))
    assert third["study_windows"] == len(index)
    unseen = score(run, str(corpus), protocol="study", unseen=True, device="cpu")
    assert unseen["songs"] == 6 and unseen["left_out"]["also_in_train"] == 2


def test_the_unseen_study_targets_equal_a_stream_of_the_unseen_songs():
    torch.manual_seed(0)
    from tunelab.models import build

    model = build("lstm", 10, preset="tiny").eval()
    rng = np.random.default_rng(1)
    seqs = [np.append(rng.integers(2, 10, size=rng.integers(5, 120)), 1) for _ in range(7)]
    keep = [False, True, True, False, True, False, True]
    full = study_hits(model, song_stream(seqs, 1, 64))
    direct = study_hits(model, song_stream([s for s, k in zip(seqs, keep) if k], 1, 64))
    assert np.array_equal(full[_study_targets(seqs, keep, 1)], direct)


def test_examples_cover_the_stream_and_shard_batches():
    ex = Examples(np.arange(1, 103), seq_len=10)
    starts = ex.starts(epoch=0, seed=0, shuffle=False)
    assert list(starts[:3]) == [0, 10, 20] and len(ex) == 9
    x, y = ex.batch(starts[:2])
    assert np.array_equal(x[1], np.arange(11, 21)) and np.array_equal(y[1], np.arange(12, 22))
    a, b = ex.batches(1, 5, 4, rank=0, world=2), ex.batches(1, 5, 4, rank=1, world=2)
    whole = ex.batches(1, 5, 4)
    assert all(np.array_equal(np.concatenate([p, q]), w) for p, q, w in zip(a, b, whole))
    win = Examples(np.arange(1, 30), seq_len=8, mode="window")
    x, y = win.batch(np.array([3]))
    assert x.tolist() == [list(range(4, 12))] and y.tolist() == [[12]]


@pytest.mark.parametrize("encoding", ["nb", "cp"])
def test_compound_encodings_train_with_per_field_heads(corpus, tmp_path, encoding):
    run = train(
        config(corpus, tmp_path / encoding, encoding=encoding, gap=None, epochs=2, model="transformer")
    )
    rows = log_rows(run)
    assert float(rows[-1][2]) < float(rows[0][2])
    model, tokenizer, _ = load_run(run)
    assert [h.out_features for h in model.heads] == tokenizer.vocab_size


def test_study_presets_train_in_window_mode(corpus, tmp_path):
    with pytest.raises(ConfigError, match="--mode window"):
        train(config(corpus, tmp_path / "x", model="study-lstm", size=None))
    run = train(
        config(
            corpus, tmp_path / "w", model="study-lstm", size=None, mode="window", epochs=1, steps_per_epoch=2
        )
    )
    spec = json.loads((run / "config.json").read_text())["model"]["config"]
    assert spec["family"] == "study-lstm" and spec["vocab_size"] == 10  # a family like the others
    from tunelab.training.checkpoint import build_model

    old = build_model({"model": {"preset": "study-lstm", "vocab_size": 10}})  # a run saved before
    assert sum(p.numel() for p in old.parameters()) == sum(p.numel() for p in load_run(run)[0].parameters())


def test_cli_train_then_resume_for_more_epochs(corpus, tmp_path):
    out = tmp_path / "cli"
    args = ["train", "--corpus", str(corpus), "--out", str(out), "--size", "tiny", "--epochs", "1",
            "--seq-len", "16", "--batch-size", "8", "--no-progress", "--schedule", "cosine", "--warmup", "3"]  # fmt: skip
    assert main(args) == 0
    assert main(["train", "--out", str(out), "--resume", "--epochs", "2", "--no-progress"]) == 0
    assert [r[0] for r in log_rows(out)] == ["1", "2"]
    assert main(["train", "--out", str(tmp_path / "none"), "--resume"]) == 2


@pytest.mark.slow
def test_two_processes_under_torchrun_equal_one_process(corpus, tmp_path):
    common = ["--corpus", str(corpus), "--size", "tiny", "--epochs", "1", "--steps-per-epoch", "6",
              "--seq-len", "16", "--batch-size", "8", "--gap", "8", "--no-progress", "--threads", "1",
              "--dropout", "0", "--device", "cpu"]  # fmt: skip
    assert main(["train", "--out", str(tmp_path / "one"), *common]) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "tunelab", "train", "--out", str(tmp_path / "two"), *common]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    one, two = (
        load_weights(tmp_path / "one" / "model.safetensors"),
        load_weights(tmp_path / "two" / "model.safetensors"),
    )
    assert one.keys() == two.keys()
    for k in one:
        torch.testing.assert_close(one[k], two[k], atol=2e-6, rtol=1e-5)
    assert log_rows(tmp_path / "one")[0][2][:7] == log_rows(tmp_path / "two")[0][2][:7]


@torch.no_grad()
def _brute_windows(model, stream):
    """(hit, nll) of every 64-token window, one forward pass each: the study's protocol by hand."""
    hits, nll = [], []
    for i in range(64, len(stream)):
        logits = model(torch.as_tensor(stream[i - 64 : i])[None])[0][0, -1].double()
        hits.append(int(logits.argmax()) == stream[i])
        nll.append(float(-logits.log_softmax(-1)[stream[i]]))
    return np.array(hits), np.array(nll)


def test_score_reports_the_study_window_nll_and_scores_the_train_split(corpus, tmp_path):
    import tunelab.corpus

    run = train(config(corpus, tmp_path / "run", epochs=1))
    model, tokenizer, _ = load_run(run)
    for split in ("test", "train"):
        out = score(run, str(corpus), split=split, protocol="study", device="cpu")
        songs = [tokenizer.encode(s) for s in tunelab.corpus.load(str(corpus), verbose=False).split(split)]
        hits, nll = _brute_windows(model, song_stream(songs, tokenizer.separator_id, 64))
        assert out["split"] == split and out["study_windows"] == len(hits)
        assert out["study_accuracy"] == pytest.approx(hits.mean())
        assert out["study_nll"] == pytest.approx(nll.mean(), rel=1e-5)
    whole = score(run, str(corpus), protocol="study", device="cpu")
    unseen = score(run, str(corpus), protocol="study", unseen=True, device="cpu")
    assert unseen["study_nll_all"] == pytest.approx(whole["study_nll"])
    assert unseen["study_windows"] < unseen["study_windows_all"] == whole["study_windows"]


def test_selecting_on_the_window_metric_keeps_its_best_epoch_and_scores_it_exactly(corpus, tmp_path):
    run = train(config(corpus, tmp_path / "sel", epochs=4, select="study_nll", select_subsample=3, lr=3e-3))
    meta = json.loads((run / "config.json").read_text())
    with open(run / "train_log.csv") as f:
        rows = list(csv.DictReader(f))
    estimates = [float(r["val_study_nll"]) for r in rows]
    status = meta["status"]
    # the epochs chose on a third of the windows; at the end the last weights replace them if
    # every window says they are better
    assert status["best_val_study"]["study_nll"] <= status["last_val_study"]["study_nll"]
    kept_last = status["best_val_study"] == status["last_val_study"]
    assert status["best_epoch"] == (len(rows) if kept_last else 1 + int(np.argmin(estimates)))
    model, tokenizer, _ = load_run(run)
    import tunelab.corpus

    val = [tokenizer.encode(s) for s in tunelab.corpus.load(str(corpus), verbose=False).split("val")]
    hits, nll = _brute_windows(model, song_stream(val, tokenizer.separator_id, 64))
    exact = meta["status"]["best_val_study"]
    assert exact["study_windows"] == len(hits)
    assert exact["study_accuracy"] == pytest.approx(hits.mean())
    assert exact["study_nll"] == pytest.approx(nll.mean(), rel=1e-5)
    with pytest.raises(ConfigError, match="window metric"):
        train(config(corpus, tmp_path / "nb", encoding="nb", gap=None, select="study_nll"))


def test_a_token_budget_stops_on_time_and_the_cosine_ends_at_its_floor(corpus, tmp_path):
    per_step = 8 * 16
    run = train(
        config(corpus, tmp_path / "tok", epochs=100, max_tokens=25 * per_step, schedule="cosine",
               warmup=5, lr=2e-3, min_lr=1e-4)
    )  # fmt: skip
    meta = json.loads((run / "config.json").read_text())
    assert meta["status"]["steps"] == 25 and "--max-tokens 3,200 reached" in meta["status"]["stopped"]
    with open(run / "train_log.csv") as f:
        last = list(csv.DictReader(f))[-1]
    assert int(last["tokens_seen"]) == 25 * per_step
    # the rate set for step 25 (the last): warm-up done, done = 24 / 25 of the budget
    cos = 0.5 * (1 + np.cos(np.pi * 24 / 25))
    assert float(last["lr"]) == pytest.approx(1e-4 + (2e-3 - 1e-4) * cos)


def test_loss_from_counts_only_targets_with_that_much_context():
    from tunelab.training.evaluate import batch_stats

    torch.manual_seed(0)
    from tunelab.models import build

    model = build("lstm", 10, preset="tiny").requires_grad_(False)
    x, y = torch.randint(1, 10, (3, 12)), torch.randint(1, 10, (3, 12))
    mask = torch.ones_like(y, dtype=torch.bool)
    full = batch_stats(model, x, y, mask, compound=False)
    part = batch_stats(model, x, y, mask, compound=False, skip=5)
    assert int(full[1]) == 36 and int(part[1]) == 21 and int(part[3]) == 21
    logits = model(x)[0]
    by_hand = -logits.log_softmax(-1).gather(-1, y[..., None])[:, 5:].sum()
    assert float(part[0]) == pytest.approx(float(by_hand), rel=1e-5)
    with pytest.raises(ConfigError, match="loss-from"):
        TrainConfig(corpus="x", out="y", seq_len=16, loss_from=16)


def test_forget_bias_and_bf16_training(corpus, tmp_path):
    from tunelab.models import build

    model = build("lstm", 10, preset="tiny", forget_bias=1.0)
    for layer in model.layers:
        H = layer.hidden_size
        assert torch.all(layer.bias_ih_l0[H : 2 * H] == 1) and torch.all(layer.bias_hh_l0[H : 2 * H] == 0)
        assert torch.all(layer.bias_ih_l0[:H] != 1)
    hybrid = build("hybrid", 10, preset="tiny", forget_bias=1.0)
    H = hybrid.rnn.hidden_size
    assert torch.all(hybrid.rnn.bias_ih_l0[H : 2 * H] == 1)
    run = train(config(corpus, tmp_path / "bf16", precision="bf16", model="transformer", epochs=2))
    rows = log_rows(run)
    assert float(rows[-1][2]) < float(rows[0][2])  # it learns under bfloat16 autocast
    assert all(v.dtype == torch.float32 for v in load_weights(run / "model.safetensors").values())


def test_learning_curves_put_a_run_beside_the_study(corpus, tmp_path):
    from tunelab.study.curves import write

    run = train(config(corpus, tmp_path / "c", epochs=2, study_eval=True))
    table, figure = write({"tiny": run}, tmp_path / "curves")
    with open(table) as f:
        rows = list(csv.DictReader(f))
    mine = [r for r in rows if r["source"] == "tunelab"]
    assert [int(r["updates"]) for r in mine] == [int(r[1]) for r in log_rows(run)]
    assert int(mine[0]["targets"]) == int(mine[0]["updates"]) * 8 * 16
    study = [r for r in rows if r["model"] == "study lstm"]
    assert len(study) == 21 and int(study[15]["updates"]) == 16 * 15580
    assert float(study[15]["val_accuracy"]) == 0.8524
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a second run written later keeps the first's curve (its run directory may be gone) once
    write({"tiny again": run}, tmp_path / "curves")
    with open(table) as f:
        again = [r for r in csv.DictReader(f) if r["source"] == "tunelab"]
    assert [r for r in again if r["model"] == "tiny"] == mine and len(again) == 2 * len(mine)


def test_the_loop_trains_exactly_as_a_plain_loop_would(corpus, tmp_path):
    """The training loop's weights after two epochs equal, bit for bit, those of the plainest
    loop over the same data order (seed, build, Adam, clip, step), dropout included: whatever the
    loop does besides (validation, checkpoints, logging, schedules) does not touch training."""
    import tunelab.corpus
    import tunelab.tokenizers
    from tunelab.models import build
    from tunelab.training.data import encode_songs
    from tunelab.training.losses import token_nll

    cfg = config(corpus, tmp_path / "run", epochs=2, model_options={"dropout": 0.2})
    run = train(cfg)
    trained = torch.load(run / "resume.pt", weights_only=False)["model"]

    torch.manual_seed(cfg.seed)
    songs = tunelab.corpus.load(str(corpus), verbose=False).split("train")
    tok = tunelab.tokenizers.get("grid").fit(songs)
    stream = Examples(song_stream(encode_songs(songs, tok)[0], tok.separator_id, cfg.gap), cfg.seq_len)
    model = build("lstm", tok.vocab_size, preset="tiny", dropout=0.2)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=True)
    for epoch in range(cfg.epochs):
        model.train()
        for starts in stream.batches(epoch, cfg.seed, cfg.batch_size):
            x, y = (torch.as_tensor(a) for a in stream.batch(starts))
            keep = y != 0
            loss = (token_nll(model(x)[0], y) * keep).sum() / keep.sum().float().clamp(min=1.0)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            opt.step()
    plain = model.state_dict()
    assert trained.keys() == plain.keys()
    for k in plain:
        assert torch.equal(trained[k], plain[k]), k


def test_curves_every_n_updates_leave_training_untouched(corpus, tmp_path):
    from tunelab.training import build as B
    from tunelab.training.checkpoint import load_resume, load_weights
    from tunelab.training.distributed import setup
    from tunelab.training.evaluate import evaluate

    plain = train(config(corpus, tmp_path / "plain", epochs=2))
    cfg = config(corpus, tmp_path / "curved", epochs=2, eval_every=1)
    curved = train(cfg)
    assert log_rows(curved) == log_rows(plain)  # evaluating between updates changes nothing
    a, b = load_weights(plain / "model.safetensors"), load_weights(curved / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    with open(curved / "curve.csv") as f:
        rows = list(csv.DictReader(f))
    steps = int(log_rows(curved)[-1][1])
    assert [int(r["step"]) for r in rows] == list(range(1, steps + 1))
    assert all(int(r["tokens_seen"]) == int(r["step"]) * 8 * 16 for r in rows)
    # the last point: the final weights on the sample (the tiny split has fewer chunks than it
    # holds, so every validation chunk), computed again by hand
    model, tokenizer, _ = load_run(curved)
    model.load_state_dict(load_resume(curved)["model"])
    val = B.build_data(cfg, setup("cpu"), None).val
    got = evaluate(model, val, tokenizer, starts=val.starts(0, 0, shuffle=False))
    assert float(rows[-1]["val_loss"]) == pytest.approx(got["nll_per_token"], rel=1e-6)
    assert float(rows[-1]["val_accuracy"]) == pytest.approx(got["masked_accuracy"])


def test_a_budget_that_ends_inside_an_epoch_prints_that_epoch_and_evaluate_takes_the_run_as_train(
    corpus, tmp_path, capsys
):
    from tunelab.metrics.evaluation import evaluate

    per_step = 8 * 16
    run = train(config(corpus, tmp_path / "part", epochs=100, max_tokens=7 * per_step))
    err = capsys.readouterr().err
    best = int(json.loads((run / "config.json").read_text())["status"]["best_epoch"])
    assert f"epoch {best} (in part: the budget ended it)" in err  # the best epoch was printed
    assert f"best epoch {best} " in err
    # copying is measured against exactly the songs the run trained on (40), not the folder (54)
    sample = [s for s in __import__("tunelab.corpus", fromlist=["load"]).load(corpus).split("test")]
    report = evaluate({"gen": sample}, suites=("novelty",), train=str(run))
    assert report.values["gen"].shape[0] == len(sample)
    from tunelab.metrics.evaluation import run_training_songs

    songs, ids, name = run_training_songs(run)
    assert len(songs) == 40 and ids[0] == "train.txt#1" and name == "part-train"


def test_a_control_no_training_song_carries_is_refused_before_training(tmp_path, capsys):
    """The study split is grid text (no meters, keys or types): --controls bars used to train a
    model without bar counts, silently, under a run named for them."""
    (tmp_path / "corpus").mkdir()
    corpus = split_folder(tmp_path / "corpus", np.random.default_rng(1))
    common = ["--corpus", str(corpus), "--size", "tiny", "--epochs", "1", "--steps-per-epoch", "2", "--seq-len", "16",
              "--batch-size", "4", "--no-progress", "--threads", "1"]  # fmt: skip
    assert main(["train", "--controls", "bars", "--out", str(tmp_path / "bars"), *common]) == 2
    err = capsys.readouterr().err
    assert "--controls bars: no training song" in err and "needs a meter" in err
    assert not (tmp_path / "bars" / "model.safetensors").exists()
    # the default ("what the corpus holds") asks for nothing by name: it trains
    assert main(["train", "--out", str(tmp_path / "default"), *common]) == 0
