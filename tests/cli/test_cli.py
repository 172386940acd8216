import json
import subprocess
import sys

import pytest

from tunelab.cli import main

from ..fixtures import PICKUP_3_4


def test_help_lists_every_command_with_a_line(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("corpus", "convert", "tokenize", "detokenize", "evaluate", "demo"):
        assert f"    {cmd}" in out


def test_convert_kern_to_midi_and_grid(tmp_path, capsys):
    src = tmp_path / "pickup.krn"
    src.write_text(PICKUP_3_4)
    assert main(["convert", str(src), str(tmp_path / "p.mid")]) == 0
    assert main(["convert", str(tmp_path / "p.mid"), str(tmp_path / "p.musicxml")]) == 0
    assert "wrote" in capsys.readouterr().out
    # off the 16th grid? no: this tune is on it, so grid text works straight away
    assert main(["convert", str(src), str(tmp_path / "p.txt")]) == 0
    assert (
        tmp_path / "p.txt"
    ).read_text() == "62 _ _ _ 67 _ _ _ 69 _ 71 _ 72 _ _ _ 71 _ _ _ _ _ _ _ _ _ _ _\n"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.krn", b"", "empty file"),
        ("random.mid", bytes(range(256)), "not a readable MIDI file"),
        ("unknown.krn", b"**kern\n*M2/4\n4c\n4c+\n*-\n", "line 4: unknown kern token '4c+'"),
        ("song.xyz", b"abc", "unknown file type '.xyz'"),
    ],
)
def test_single_file_commands_exit_2_with_one_line(tmp_path, name, data, reason):
    f = tmp_path / name
    f.write_bytes(data)
    run = subprocess.run(
        [sys.executable, "-m", "tunelab.cli", "convert", str(f), str(tmp_path / "o.mid")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tunelab: error: {f}") and reason in lines[0]


def test_corpus_commands_on_a_folder_go_on_past_bad_files(tmp_path, capsys):
    d = tmp_path / "songs"
    d.mkdir()
    (d / "good.krn").write_text(PICKUP_3_4)
    (d / "book.abc").write_text("X:1\nT:fine\nM:2/4\nL:1/8\nK:C\nCDEF|G4|]\n\nX:2\nT:broken\nM:2/4\nCDEF|\n")
    assert main(["corpus", "prepare", str(d), "--prep", "study"]) == 0
    captured = capsys.readouterr()
    assert "unreadable: book.abc#2:" in captured.err and "tune has no K: (key) field" in captured.err
    assert "3 pieces read, 2 kept, 1 unreadable" in captured.out
    out = tmp_path / "all.txt"
    assert main(["corpus", "export", str(d), "--prep", "study", "--format", "grid", "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 2
    assert main(["corpus", "export", str(d), "--format", "midi", "--out", str(tmp_path / "mid")]) == 0
    assert sorted(p.name for p in (tmp_path / "mid").iterdir()) == ["book_1.mid", "good.mid"]


def test_a_missing_corpus_is_exit_2(capsys):
    assert main(["corpus", "info", "does/not/exist"]) == 2
    assert "no such corpus, file or folder" in capsys.readouterr().err


def test_corpus_command_on_one_bad_file_is_exit_2_naming_it(tmp_path, capsys):
    f = tmp_path / "bad.krn"
    f.write_text("**kern\n*M2/4\n4c\n4c+\n*-\n")
    assert main(["corpus", "info", str(f)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"tunelab: error: {f}, line 4: unknown kern token '4c+' (characters '+')"


def test_tokenize_then_detokenize_gives_the_notes_back(tmp_path, capsys):
    from tunelab.io import read

    src = tmp_path / "pickup.krn"
    src.write_text(PICKUP_3_4)
    tokens = tmp_path / "tokens.json"
    assert main(["tokenize", str(src), "--encoding", "nb", "--out", str(tokens), "--show"]) == 0
    out = capsys.readouterr().out
    assert "10 words" in out and "Start TS_3/4 Pos_8" in out  # 12-step bar, 4-step pickup
    assert "Pos_8 B:" in out and "K:" in out  # bars and key: items at the start, a word each
    assert main(["detokenize", str(tokens), "--out", str(tmp_path / "back.mid")]) == 0
    assert "6 notes, 0 syntax errors skipped" in capsys.readouterr().out
    back, original = read(tmp_path / "back.mid"), read(src)
    assert back.pitch.tolist() == original.pitch.tolist() and back.pickup * 480 // back.tpq == original.pickup
    (tmp_path / "junk.json").write_text("[1, 2]")
    assert main(["detokenize", str(tmp_path / "junk.json")]) == 2


def test_evaluate_writes_every_report_file_and_skips_bad_input(tmp_path, capsys):
    import csv
    import json

    a, b, ref = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "ref.txt"
    a.write_text("60 _ 62 _ 64 _ 65 _ 67 _ _ _ 65 _ 64 _ 62 _ 60 _ _ _\n60 x 62\n")
    b.write_text("67 _ _ _ 64 _ _ _ 60 _ _ _ r _ _ _\n72 _ 71 _ 69 _ 67 _ 65 _ 64 _ 62 _ 60 _\n")
    ref.write_text("60 _ 64 _ 67 _ 72 _ 67 _ 64 _ 60 _ _ _\n62 _ 65 _ 69 _ 65 _ 62 _ _ _ r _ _ _\n")
    out = tmp_path / "report"
    assert main(["evaluate", str(a), str(b), "--reference", str(ref), "--out", str(out)]) == 0
    assert "line 2: grid token 'x'" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == [
        "metrics.csv",
        "metrics.json",
        "per_item.csv",
        "report.html",
    ]
    data = json.loads((out / "metrics.json").read_text())
    assert data["sets"]["a"]["pitch_range"]["count"] == 1 and data["reference"] == "reference-ref"
    assert set(data["distribution"]["b"]) >= {"pitch_class_histogram", "metric:tonal_drift"}
    assert 0 <= data["distribution"]["b"]["metric:pitch_range"]["oa"] <= 1
    rows = list(csv.DictReader((out / "per_item.csv").read_text().splitlines()))
    assert [r["set"] for r in rows] == ["a", "b", "b", "reference-ref", "reference-ref"]
    assert float(rows[0]["pitch_range"]) == 4.5  # segment 1: 60..67, range 7; segment 2: 62, 60, range 2
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 2 and "http" not in page.split("<body>")[1]


def test_evaluate_novelty_measures_copying_of_the_training_set(tmp_path, capsys):
    import csv

    train, gen = tmp_path / "train.txt", tmp_path / "gen.txt"
    song = "60 _ _ _ 62 _ 64 _ 65 _ _ _ 67 _ _ _ 69 _ 71 _ 72 _ _ _ 71 _ _ _ 69 _ _ _ 67 _ _ _ 65 _ _ _"
    train.write_text(song + "\n55 _ 57 _ 59 _ _ _ 60 _ _ _\n")
    copy_up_a_tone = " ".join(str(int(t) + 2) if t.isdigit() else t for t in song.split())
    fresh_line, short_copy = "72 _ _ _ 60 _ _ _ 79 _ _ _ 55 _ _ _", "67 _ _ _ 69 _ _ _ 71 _ _ _"
    gen.write_text("\n".join([copy_up_a_tone, fresh_line, short_copy]) + "\n")
    out = tmp_path / "novelty"
    assert main(["evaluate", str(gen), "--suite", "novelty", "--train", str(train), "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "per_item.csv").read_text().splitlines()))
    copied, fresh, short = rows
    assert float(copied["longest_shared_run"]) == 12 and float(copied["similarity_to_nearest"]) == 1.0
    assert float(copied["longest_shared_quarters"]) == 9.0  # onsets 0 .. 9 quarters: past 2 bars
    assert (copied["shares_2_bars"], copied["near_copy"], copied["covered_by_shared_bars"]) == (
        "1.0",
        "1.0",
        "1.0",
    )
    assert float(fresh["longest_shared_run"]) == 1 and fresh["near_copy"] == "0.0"
    # three notes found whole in a training song (its 65 67 69 in quarters, up a tone) are no near
    # copy: a run under 2 bars is found in some song of any training set
    assert float(short["similarity_to_nearest"]) == 1.0 and short["near_copy"] == "0.0"
    assert (copied["nearest_training_song"], fresh["nearest_training_song"]) == ("train.txt#1", "")
    # the report draws the copy beside its training song; the fresh melody shares no bar, so not it
    page = (out / "report.html").read_text().split("Worst copies of the training set")[1]
    assert "gen.txt#1 shares 12 notes (9 quarters, 100% of it) with train.txt#1" in page
    assert "gen.txt#2" not in page and "gen.txt#3" not in page and page.count("data:image/png;base64,") == 1
    assert main(["evaluate", str(gen), "--suite", "novelty", "--out", str(out)]) == 2
    assert "--suite novelty compares with training songs: give --train CORPUS" in capsys.readouterr().err


def test_a_generation_dir_is_read_once_from_its_grid_text(tmp_path):
    from tunelab.io import save
    from tunelab.io.gridtext import parse_line
    from tunelab.metrics.evaluation import load_set

    gen = tmp_path / "gen"
    (gen / "mid").mkdir(parents=True)
    (gen / "melodies.jsonl").write_text('{"seed": 0}\n{"seed": 1}\n')
    lines = ["60 _ 62 _ 64 _ _ _", "67 _ _ _ 65 _ 64 _"]
    (gen / "grid.txt").write_text("\n".join(lines) + "\n")
    for i, line in enumerate(lines):
        save(parse_line(line)[0], gen / "mid" / f"{i:04d}.mid")
    name, scores, ids, errors = load_set(gen)
    assert (name, len(scores), ids, errors) == ("gen", 2, ["grid.txt#1", "grid.txt#2"], [])


def test_train_flags_come_from_the_config_dataclasses_with_their_defaults_once(capsys):
    from dataclasses import fields

    from tunelab.cli import build_parser
    from tunelab.cli.flags import given
    from tunelab.cli.train import config_from_args
    from tunelab.models import ModelConfig
    from tunelab.training import TrainConfig

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # help wraps lines
    assert "(default: None)" not in text
    for cls in (TrainConfig, ModelConfig):
        for f in fields(cls):
            if f.metadata.get("cli"):
                flag = "--" + (f.metadata.get("flag") or f.name.replace("_", "-"))
                assert flag in text, flag  # every setting has its flag
    assert "(default: 0.001)" in text and "(default: 64)" in text  # TrainConfig's lr and seq_len
    args = build_parser().parse_args(["train", "--corpus", "c", "--out", "o", "--lr", "3e-3", "--max-tokens", "36e6",
                                      "--d-model", "48", "--no-residual"])  # fmt: skip
    config = config_from_args(args)
    assert config.lr == 3e-3 and config.max_tokens == 36_000_000 and config.epochs == 1000
    assert config.model_options == {"d_model": 48, "residual": False}
    assert (
        config.seq_len == TrainConfig.__dataclass_fields__["seq_len"].default
    )  # left out: the field's default
    assert given(build_parser().parse_args(["train"]), TrainConfig) == {}


def test_old_spellings_of_preset_still_work_with_a_deprecation_note(tmp_path, capsys):
    from tunelab.cli import build_parser
    from tunelab.cli.train import config_from_args

    old = config_from_args(build_parser().parse_args(["train", "--corpus", "c", "--out", "o", "--preset", "tiny",
                                                      "--corpus-preset", "study"]))  # fmt: skip
    err = capsys.readouterr().err
    assert old.size == "tiny" and old.corpus_preset == "study"
    assert "use --size tiny" in err and "--corpus-preset is deprecated" in err and "use --prep" in err
    study = config_from_args(
        build_parser().parse_args(["train", "--corpus", "c", "--out", "o", "--preset", "study-lstm"])
    )
    assert (study.model, study.size, study.mode) == ("study-lstm", None, "window")
    assert "use --model study-lstm" in capsys.readouterr().err
    d = tmp_path / "songs"
    d.mkdir()
    (d / "a.txt").write_text("60 _ _ _ 62 _ _ _\n")
    assert main(["corpus", "prepare", str(d), "--preset", "study", "--no-cache"]) == 0
    assert "use --prep" in capsys.readouterr().err


def test_detokenize_refuses_a_token_file_without_tokens(tmp_path, capsys):
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"tokenizer": {"name": "nb"}, "pieces": []}))
    assert main(["detokenize", str(empty), "--out", str(tmp_path / "x.mid")]) == 2
    assert "holds no tokens" in capsys.readouterr().err


def test_convert_writes_the_form_a_format_can_hold(tmp_path, capsys):
    from tunelab.io import read

    tune = tmp_path / "barry.abc"
    tune.write_text("X:1\nT:two endings\nM:4/4\nL:1/4\nK:G\n|:GABc|1 dcBA:|2 d4|]\n")
    assert main(["convert", str(tune), str(tmp_path / "t.mid")]) == 0  # sounds: played
    assert "played form" in capsys.readouterr().out
    assert len(read(tmp_path / "t.mid")) == 4 + 4 + 4 + 1
    assert main(["convert", str(tune), str(tmp_path / "t.abc")]) == 0  # notates: written, with its marks
    assert ":|2" in (tmp_path / "t.abc").read_text() and len(read(tmp_path / "t.abc")) == 9
    assert main(["convert", str(tune), str(tmp_path / "w.mid"), "--form", "written"]) == 0
    assert len(read(tmp_path / "w.mid")) == 9


def test_tokenize_chooses_a_grid_that_holds_triplets(tmp_path, capsys):
    tune = tmp_path / "trip.abc"
    tune.write_text("X:1\nM:2/4\nL:1/8\nK:D\n(3ABc d2|A4|]\n")
    assert main(["tokenize", str(tune), "--encoding", "remi", "--show"]) == 0
    out = capsys.readouterr().out
    assert "grid: 12 steps a quarter" in out and "K:D" in out
    assert main(["tokenize", str(tune), "--encoding", "remi", "--steps-per-quarter", "4"]) == 2
    assert "not on a grid of 4 steps" in capsys.readouterr().err
