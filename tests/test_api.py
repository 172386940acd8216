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
                 "--no-progress", "--threads", "1", "--infill", "0.5"])  # fmt: skip
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


TUNE = "X:1\nT:t\nM:6/8\nL:1/8\nR:jig\nK:D\nA|:dfa afd|efg fed|gfe dcB|A3 A2 A:|\n"  # 8 bars as played


def outside(score, first, last):
    """The notes of a score outside bars first..last, in quarters."""
    from tunelab.corpus.segment import bar_span

    a, b = bar_span(score, first, last)
    q = score.tpq
    return [(o / q, d / q, p) for o, d, p, _ in score.notes() if not a <= o < b]


def test_filled_bars_are_new_and_the_rest_is_the_tune(run):
    from tunelab.api import _tune

    model = tunelab.load(run)
    before = _tune(TUNE)
    for m in model.fill(TUNE, "3-4", n=4, seed=1):
        s = m.score
        assert m.stop == "end" and outside(s, 3, 4) == outside(before, 3, 4)
        assert s.end / s.tpq == before.end / before.tpq and s.keys == [(0, "D", "major")]
        assert s.time_signatures == [(0, 6, 8)] and s.pickup / s.tpq == before.pickup / before.tpq
        assert s.is_monophonic() and s.meta["title"] == "t"


def test_a_variation_keeps_its_share_of_the_bars(run):
    from fractions import Fraction

    from tunelab.api import _tune
    from tunelab.corpus.segment import bar_span

    def bar(score, k):
        a, b = bar_span(score, k, k)
        q = score.tpq
        return [(Fraction(o, q), Fraction(d, q), p) for o, d, p, _ in score.notes() if a <= o < b]

    model, before = tunelab.load(run), _tune(TUNE)
    for m in model.vary(TUNE, 0.75, n=3, seed=4):  # 8 bars: 2 written anew, 6 kept
        kept = sum(bar(m.score, k) == bar(before, k) for k in range(1, 9))
        assert kept >= 6 and m.score.end / m.score.tpq == before.end / before.tpq
        assert bar(m.score, 1) == bar(before, 1) and bar(m.score, 8) == bar(before, 8)  # the ends kept


def test_a_tune_continued_from_a_bar_keeps_the_bars_before(run):
    from tunelab.api import _tune
    from tunelab.corpus.segment import bar_span

    model, before = tunelab.load(run), _tune(TUNE)
    a, _ = bar_span(before, 3, 3)
    for m in model.continue_tune(TUNE, n=3, from_bar=3, bars=12, seed=2):
        s = m.score
        assert bar_count(s) == 12 and m.stop == "end" and s.time_signatures == [(0, 6, 8)]
        q = s.tpq
        head = [(o / q, d / q, p) for o, d, p, _ in s.notes() if o < a * q // before.tpq]
        assert head == [(o / before.tpq, d / before.tpq, p) for o, d, p, _ in before.notes() if o < a]


@pytest.mark.parametrize(
    "flags, says",
    [
        (["--fill", "7-12"], "--fill 7-12: PRIMER has bars 1-8"),
        (["--fill", "x"], "--fill 'x': expected bars like 5-6"),
        (["--vary", "1"], "--vary 1.0: the share of bars kept is 0 to below 1"),
        (["--from-bar", "1"], "--from-bar 1: PRIMER has bars 1-8; continue from bar 2 to 8"),
        (["--meter", "4/4", "--bars", "16"], "--meter 4/4: PRIMER is in 6/8"),
        (["--key", "G"], "--key G: PRIMER is in D"),
        (["--bars", "6"], "--bars 6: the primer already has 8 bars"),
        (["--fill", "2-3", "--type", "reel"], "--type is not for a melody made around a primer"),
        (["--fill", "2-3", "--vary", "0.5"], "--from-bar, --fill and --vary are three ways"),
    ],
)
def test_bad_requests_around_a_primer_are_one_line_each(run, tmp_path, capsys, flags, says):
    primer = tmp_path / "tune.abc"
    primer.write_text(TUNE)
    out = tmp_path / "out"
    assert (
        main(["generate", str(run), "--primer", str(primer), *flags, "--out", str(out), "--threads", "1"])
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        err[-1] == "tunelab: error: " + says.replace("PRIMER", str(primer))
        or says.replace("PRIMER", str(primer)) in err[-1]
    )
    assert not out.exists()


def test_the_command_line_fills_varies_and_continues(run, tmp_path):
    primer = tmp_path / "tune.abc"
    primer.write_text(TUNE)
    for flags, bars in [(["--fill", "5-6"], 8), (["--vary", "0.5"], 8), (["--from-bar", "5", "--bars", "16"], 16),
                        ([], 16)]:  # fmt: skip
        out = tmp_path / "-".join(flags or ["plain"])
        assert main(["generate", str(run), "--primer", str(primer), *flags, "--n", "2", "--out", str(out),
                     "--formats", "abc", "--threads", "1"]) == 0  # fmt: skip
        scores, errors = tunelab.io.load(out / "abc")
        assert not errors and len(scores) == 2 and all(bar_count(s) == bars for s in scores)


def test_a_model_not_trained_to_fill_in_says_so(tmp_path):
    with pytest.raises(ConfigError, match="was not trained to fill in"):
        tunelab.load("study-lstm", threads=1).fill(TUNE, "2-3")


def test_pretrained_info_lists_what_a_model_can_be_asked(run, capsys):
    assert main(["pretrained", "info", str(run)]) == 0
    text = capsys.readouterr().out
    assert "encoding: remi" in text and "meter: 4/4, 6/8" in text and "fill / vary: yes" in text
    assert "A dorian" in text and "E minor" in text and "jig" in text and "bars: 1 to 8" in text
    assert main(["pretrained", "info", "study-lstm"]) == 0
    text = capsys.readouterr().out
    assert (
        "key: none: melodies in its training key, transposed to --key" in text and "fill / vary: no" in text
    )
