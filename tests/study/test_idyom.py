"""IDyOM's protocol: folds that never see their own songs, a pretraining set without the
evaluated songs (by their notes), fine-tuning from a run's weights, a soprano line."""

import json

import numpy as np

import tunelab.study.idyom as I
from tunelab.io.abc_native import parse_abc_tune


def tune(body, key="G"):
    return parse_abc_tune(f"X:1\nM:2/4\nL:1/8\nK:{key}\n{body}|]\n")


def test_a_song_is_known_by_its_notes_in_any_key():
    a, b = tune("GABc dBAG|G4"), tune("DEFG AFED|D4", key="D")  # the same tune a fifth down
    assert I.signature(a) == I.signature(b) and I.signature(a) != I.signature(tune("GABc dBAG|A4"))


def test_folds_predict_only_songs_they_never_trained_on(tmp_path, monkeypatch):
    monkeypatch.setitem(I.FOLD_RECIPE, "epochs", 1)
    monkeypatch.setitem(I.FOLD_RECIPE, "size", "tiny")
    monkeypatch.setitem(I.FOLD_RECIPE, "seq_len", 8)
    rng = np.random.default_rng(0)
    songs = [
        tune(" ".join("".join(rng.choice(list("GABcde"), 4)) for _ in range(4)) + " | G4") for _ in range(24)
    ]
    result = I.cross_validate(tmp_path / "set", songs, folds=3, base=None, seed=0, steps=4, transpose_copies=0,
                              threads=1)  # fmt: skip
    c = result["columns"]["scratch"]
    assert len(c["fold_means"]) == 3 and c["songs_scored"] == 24 and 0 < c["bits_per_note"] < 12
    for k in range(3):  # every song is test in exactly one fold, and never train or val there
        lines = dict(line.split() for line in (tmp_path / "set" / f"fold{k}.txt").read_text().splitlines())
        cfg = json.loads((tmp_path / "set" / "scratch" / f"fold{k}" / "config.json").read_text())
        assert cfg["train"]["split_file"].endswith(f"fold{k}.txt") and cfg["data"]["train_songs"] == sum(
            v == "train" for v in lines.values()
        )
    tests = [
        dict(line.split() for line in (tmp_path / "set" / f"fold{k}.txt").read_text().splitlines())
        for k in range(3)
    ]
    assert all(sum(t[name] == "test" for t in tests) == 1 for name in tests[0])


def test_fine_tuning_starts_from_the_run(tmp_path, monkeypatch):
    from tunelab.training import TrainConfig, train
    from tunelab.training.checkpoint import load_run

    book = tmp_path / "book.abc"
    book.write_text("\n".join(f"X:{i}\nM:2/4\nL:1/8\nK:G\nGABc dBAG|G4 {'ABcd' if i % 2 else 'dcBA'}|]\n"
                              for i in range(1, 121)))  # fmt: skip
    base = train(TrainConfig(corpus=str(book), out=str(tmp_path / "base"), encoding="nb", size="tiny", epochs=2,
                             seq_len=16, batch_size=4, progress=False, threads=1))  # fmt: skip
    tuned = train(TrainConfig(corpus=str(book), out=str(tmp_path / "tuned"), encoding="nb", init_from=str(base),
                              epochs=1, lr=1e-9, seq_len=16, batch_size=4,
                              progress=False, threads=1))  # fmt: skip
    a, b = load_run(base)[0].state_dict(), load_run(tuned)[0].state_dict()
    assert all(
        torch_close(a[k], b[k]) for k in a
    )  # a learning rate of 1e-9 leaves the weights it started from


def torch_close(x, y) -> bool:
    import torch

    return bool(torch.allclose(x.float(), y.float(), atol=1e-5))


def test_the_top_line_is_the_highest_voice():
    from tunelab.corpus.transforms import top_line

    chorale = parse_abc_tune("X:1\nM:2/4\nL:1/4\nK:C\n[ec] [dB]/[dG]/|[c2E2]|\n")
    line = top_line(chorale)
    q = chorale.tpq
    assert [(o / q, d / q, p) for o, d, p, _ in line.notes()] == [(0, 1, 76), (1, 0.5, 74), (1.5, 0.5, 74),
                                                                   (2, 2, 72)]  # fmt: skip
    from tunelab import Score

    held = Score.from_notes(
        [(0, 2, 76), (0, 1, 72), (1, 1, 74)], tpq=1
    )  # a lower note moving under a held one
    assert top_line(held).notes() == [(0, 2, 76, 80)]
