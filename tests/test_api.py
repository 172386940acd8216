"""The front door: tunelab.load(...).generate(...) and tunelab generate on request, with a tiny
model trained on a tiny tunebook of jigs and reels in notated keys."""

import numpy as np
import pytest

import tunelab
from tunelab.cli import main
from tunelab.errors import ConfigError
from tunelab.tokenizers.controls import bar_count

JIGS_AND_REELS = "\n".join(
    f"X:{i + 1}\nT:tune {i + 1}\nM:{meter}\nL:1/8\nR:{kind}\nK:{key}\n{body}\n"
    for i, (meter, kind, key, body) in enumerate(
        [
            ("6/8", "jig", "D", "A|:dfa afd|efg fed|gfe dcB|A3 A2 A:|"),
            ("6/8", "jig", "G", "D|:GBd gdB|cAF GFE|DEF GAB|c3 B2 D:|"),
            ("4/4", "reel", "D", "|:dfaf gfef|dfaf b2ag|fafd gfed|cdef g4:|"),
            ("4/4", "reel", "Ador", "|:ABcd e2ag|egdg egdB|ABcd efge|dBGB A4:|"),
            ("6/8", "jig", "Em", "B|:EFG AGF|GAB BAG|FGA GFE|E3 E2 B:|"),
            ("4/4", "reel", "G", "|:GABc dBGB|cBAG FGAB|GABc dBgd|BcAF G4:|"),
        ]
        * 5
    )
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("folk")
    (root / "book.abc").write_text(JIGS_AND_REELS)
    out = root / "run"
    code = main(["train", "--corpus", str(root / "book.abc"), "--out", str(out), "--encoding", "remi", "--model",
                 "lstm", "--size", "tiny", "--epochs", "2", "--seq-len", "32", "--batch-size", "4",
                 "--no-progress", "--threads", "1"])  # fmt: skip
    assert code == 0
    return out


def test_a_model_lists_what_it_can_be_asked(run):
    model = tunelab.load(run)
    c = model.controls
    assert set(c["meter"]) == {(6, 8), (4, 4)} and set(c["type"]) == {"jig", "reel"}
    assert ("A", "dorian") in c["key"] and ("E", "minor") in c["key"] and c["key_by"] == "conditioning"


def test_meter_bars_and_upbeat_are_what_was_asked(run):
    model = tunelab.load(run)
    melodies = model.generate(6, key="D", meter="6/8", bars=8, pickup=0.5, type="jig", seed=2)
    for m in melodies:
        s = m.score
        assert s.time_signatures == [(0, 6, 8)] and s.pickup == s.tpq // 2 and bar_count(s) == 8
        assert s.end == 8 * 3 * s.tpq and s.is_monophonic() and s.keys[0][1:] == ("D", "major")
        assert s.meta["rhythm"] == "jig" and m.stop == "end"
        assert m.notes and m.abc().count("|") >= 8


@pytest.mark.parametrize(
    "ask, says",
    [
        ({"key": "H"}, "--key: 'H' is not a tonic"),
        ({"key": "D", "mode": "lydian"}, "--mode lydian: this model knows dorian, major, minor"),
        ({"type": "hornpipe"}, "--type hornpipe: this model knows jig, reel"),
        ({"meter": "5/4"}, "--meter 5/4: this model knows"),
        ({"bars": 4}, "--bars needs --meter (this model knows"),
        ({"meter": "6/8", "bars": 200}, "--bars 200: this model knows 1 to"),
        ({"meter": "6/8", "bars": 500}, "--bars must be 1 to 256"),
        ({"meter": "6/8", "pickup": 3}, "an upbeat of 12 steps is a bar or more of 6/8"),
        ({"transpose_to": "X"}, "--transpose-to: 'X' is not a tonic"),
    ],
)
def test_what_a_model_cannot_honour_is_refused_in_one_line(run, ask, says):
    with pytest.raises(ConfigError, match=says.replace("(", r"\(").replace(")", r"\)")):
        tunelab.load(run).generate(2, **ask)


def test_the_command_line_asks_the_same(run, tmp_path, capsys):
    out = tmp_path / "gen"
    assert main(["generate", str(run), "--key", "Ador", "--meter", "4/4", "--bars", "4", "--type", "reel", "--n", "3",
                 "--out", str(out), "--formats", "abc,mid", "--threads", "1"]) == 0  # fmt: skip
    scores, _ = tunelab.io.load(out / "abc")
    assert len(scores) == 3 and all(bar_count(s) == 4 and s.keys[0][1:] == ("A", "dorian") for s in scores)
    assert main(["generate", str(run), "--type", "polka", "--out", str(tmp_path / "x")]) == 2
    assert "--type polka: this model knows jig, reel" in capsys.readouterr().err
    assert main(["generate", str(run), "--n", "0", "--out", str(tmp_path / "y")]) == 2
    assert not (tmp_path / "x").exists()  # refused before any work


def test_a_study_model_is_transposed_to_the_key_and_refuses_a_meter():
    model = tunelab.load("study-lstm", threads=1)
    assert model.controls["key_by"] == "transposition"
    melodies = model.generate(2, key="D", seed=1)
    assert all(m.score.keys[0][1:] == ("D", "major") and "transposed" in m.info for m in melodies)
    # the notes moved with the key: the same melody, transposed
    plain = model.generate(2, seed=1)
    shift = melodies[0].info["transposed"]
    assert np.array_equal(melodies[0].score.pitch, plain[0].score.pitch + shift)
    with pytest.raises(ConfigError, match=r"--meter 6/8: this model knows none"):
        model.generate(1, meter="6/8")
