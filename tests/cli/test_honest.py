"""What a new user met (issue 29), each a test: flags that must not mislabel, a primer that comes
back continued in its own key, meter and upbeat, errors said in one line before any work."""

import json

import pytest

import tunelab.io
from tunelab.cli import main
from tunelab.corpus.segment import bar_ticks

JIG = "X:1\nT:my jig\nM:6/8\nL:1/8\nK:G\nD|:GBd gdB|cAF GFE|DEF GAB|c3 B2 D:|\n"


def test_a_primer_is_continued_in_its_key_meter_and_upbeat(tmp_path):
    primer = tmp_path / "myjig.abc"
    primer.write_text(JIG)
    out = tmp_path / "gen"
    assert main(["generate", "--model", "study-lstm", "--primer", str(primer), "--n", "3", "--out", str(out),
                 "--formats", "abc", "--threads", "1"]) == 0  # fmt: skip
    tune = tunelab.io.read(primer, form="played")
    for path in sorted((out / "abc").glob("*.abc")):
        s = tunelab.io.read(path)
        assert s.time_signatures == [(0, 6, 8)] and s.pickup * tune.tpq == tune.pickup * s.tpq
        assert s.keys[0][1:] == ("G", "major")
        q = s.tpq
        head = [(o * tune.tpq // q, p) for o, _, p, _ in s.notes() if o * tune.tpq // q < tune.end]
        assert head == [(o, p) for o, _, p, _ in tune.notes()]  # the primer as written, in G
        assert len(bar_ticks(s)) - 2 >= 2 * (len(bar_ticks(tune)) - 2)  # not ended at once


def test_the_study_model_reads_a_primer_in_its_own_key(tmp_path):
    """The model learned songs in C major / A minor: the primer is moved there and back."""
    from tunelab.pretrained import resolve
    from tunelab.sampling.rewrite import continuation, in_model_key
    from tunelab.training.checkpoint import load_run

    _, tok, meta = load_run(resolve("study-lstm"))
    tune = tunelab.io.read(tmp_path.joinpath("j.abc").write_text(JIG) and tmp_path / "j.abc", form="played")
    moved, shift = in_model_key(tune, meta)
    assert shift == -7 and moved.keys[0][1:] == ("C", "major")  # G down a fifth, as the study moved them
    c = continuation(tok, tune, meta=meta)
    assert c.shift == -7 and c.bars == 16 and c.new_bars == 8


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--n", "0"], "--n must be at least 1"),
        (["--bars", "0"], "--bars must be at least 1"),
        (["--meter", "6/8"], "--meter 6/8: this model knows none"),
        (["--out", "AFILE/sub"], "--out AFILE/sub: cannot write a folder there"),
        (["--primer", "TMP"], "TMP: is a folder; give one file"),
    ],
)
def test_errors_are_one_line_before_any_work(tmp_path, capsys, argv, says):
    (tmp_path / "afile").write_text("x")
    fill = {"AFILE": str(tmp_path / "afile"), "TMP": str(tmp_path)}
    argv = [fill.get(a, a.replace("AFILE", str(tmp_path / "afile"))) for a in argv]
    out = argv[argv.index("--out") + 1] if "--out" in argv else str(tmp_path / "gen")
    rest = [] if "--out" in argv else ["--out", out]
    assert main(["generate", "--model", "study-lstm", *argv, *rest, "--threads", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    says = says.replace("AFILE", str(tmp_path / "afile")).replace("TMP", str(tmp_path))
    assert err == [f"tunelab: error: {says}"] or (len(err) == 1 and says in err[0])  # no thread line first
    assert not (tmp_path / "gen").exists()


def test_evaluate_refuses_what_is_not_there_and_a_set_against_itself(tmp_path, capsys):
    songs = tmp_path / "songs"
    songs.mkdir()
    (songs / "a.abc").write_text(JIG)
    assert main(["evaluate", str(songs), "--reference", "nosuch", "--out", str(tmp_path / "ev")]) == 2
    assert "--reference nosuch: no such file or folder" in capsys.readouterr().err
    assert main(["evaluate", str(songs), "--reference", str(songs), "--train", str(songs),
                 "--out", str(tmp_path / "ev")]) == 2  # fmt: skip
    assert "every melody would be a copy of itself" in capsys.readouterr().err
    assert main(["evaluate", str(songs), "--reference", "deutschl@tset", "--out", str(tmp_path / "ev")]) == 2
    assert "the split after @ is train, val or test" in capsys.readouterr().err
    assert not (tmp_path / "ev").exists()


def test_score_takes_one_run_and_its_data(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["score", "runs/a", "corpus", "extra"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "RUN [DATA]" in err and "unrecognized argument extra" in err
    assert main(["score", "--model", "study-lstm", "a", "b"]) == 2
    assert "takes one path, got a and b" in capsys.readouterr().err
    assert main(["score", str(tmp_path)]) == 2
    assert "give the data to score" in capsys.readouterr().err


def test_a_published_recipe_trains_by_name(tmp_path, capsys):
    book = tmp_path / "book.abc"
    book.write_text(
        "\n".join(JIG.replace("X:1", f"X:{i}").replace("my jig", f"jig {i}") for i in range(1, 31))
    )
    assert main(["train", "--recipe", "box-lstm", "--corpus", str(book), "--out", str(tmp_path / "run"),
                 "--epochs", "1", "--max-tokens", "500", "--no-progress", "--threads", "1", "--seq-len", "16",
                 "--loss-from", "0", "--batch-size", "2"]) == 0  # fmt: skip
    config = json.loads((tmp_path / "run" / "config.json").read_text())["train"]
    assert config["model_options"]["hidden_size"] == 256 and config["schedule"] == "cosine"  # the recipe's
    assert config["seq_len"] == 16  # a flag given overrides it
    assert main(["train", "--recipe", "folk-lstn", "--out", str(tmp_path / "x")]) == 2
    assert "--recipe folk-lstn: unknown (did you mean folk-lstm?)" in capsys.readouterr().err


def test_a_budget_shows_what_is_left():
    from types import SimpleNamespace

    from tunelab.training.loop import _budget_left

    config = SimpleNamespace(max_minutes=None, max_tokens=1000)
    run = SimpleNamespace(config=config, p=SimpleNamespace(tokens=250, seconds=10.0, seen=250), deadline=None,
                          ctx=SimpleNamespace(world=1))  # fmt: skip
    assert _budget_left(run) == {"budget": "25%", "left": "0.5 min"}  # 750 tokens at 25 a second
