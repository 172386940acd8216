"""Rendering: WAV that sounds the right notes, SVG with the right note heads, a page that opens
offline, and ``tunelab generate`` -> ``tunelab evaluate`` / ``tunelab render`` end to end."""

import json
import re
import shutil

import numpy as np
import pytest

from tunelab.cli import main
from tunelab.io.gridtext import parse_line
from tunelab.render import render_score
from tunelab.render.audio import read_wav, soundfont, write_wav
from tunelab.render.sheet import count_noteheads, musicxml_text, svg_from_musicxml
from tunelab.sampling.melody import estimate_key, parse_key, parse_meter

MELODY = "60 _ _ _ 64 _ _ _ 67 _ _ _ 72 _ _ _ r _ _ _ 69 _ _ _ _ _ _ _ 67 _ _ _"  # C E G C' rest A G


def melody():
    score = parse_line(MELODY)[0]
    return score.replace(time_signatures=[(0, 4, 4)], keys=[(0, "C", "major")], meta={"title": "arpeggio"})


def heard_pitches(samples, rate, score, qpm=120.0):
    """The MIDI pitch heard in the middle of each note: the peak of the harmonic product
    spectrum (a flute's low notes are louder an octave up than at their fundamental)."""
    sec = 60.0 / qpm / score.tpq
    out = []
    for o, d, _, _ in score.notes():
        a, b = int((o + d * 0.25) * sec * rate), int((o + d * 0.75) * sec * rate)
        n = 1 << 16
        spectrum = np.abs(np.fft.rfft(samples[a:b] * np.hanning(b - a), n=n))
        hps = spectrum[: len(spectrum) // 3].copy()
        for k in (2, 3):
            hps *= spectrum[::k][: len(hps)]
        freq = (np.argmax(hps[int(50 * n / rate) :]) + int(50 * n / rate)) * rate / n  # above 50 Hz
        out.append(round(69 + 12 * np.log2(freq / 440.0)))
    return out


def test_the_numpy_synthesizer_sounds_each_note_at_its_pitch(tmp_path):
    score = melody()
    assert write_wav(score, tmp_path / "a.wav", prefer="numpy") == "numpy"
    samples, rate = read_wav(tmp_path / "a.wav")
    assert rate == 44100 and len(samples) > rate  # 8 quarter notes at 120 qpm: 4 s
    assert heard_pitches(samples, rate, score) == score.pitch.tolist()
    rest = samples[int(4.15 * 0.5 * rate) : int(4.95 * 0.5 * rate)]  # the rest, 90 ms past the release
    assert np.abs(rest).max() < 0.01


@pytest.mark.skipif(
    shutil.which("fluidsynth") is None or soundfont() is None, reason="FluidSynth not installed (make audio)"
)
def test_fluidsynth_sounds_each_note_at_its_pitch(tmp_path):
    score = melody()
    assert write_wav(score, tmp_path / "a.wav", program=73, prefer="fluidsynth") == "fluidsynth"
    samples, rate = read_wav(tmp_path / "a.wav")
    assert heard_pitches(samples, rate, score) == score.pitch.tolist()


def test_sheet_music_has_one_note_head_per_note_and_the_title(tmp_path):
    score = melody()
    svg = svg_from_musicxml(musicxml_text(score))
    assert count_noteheads(svg) == len(score) == 6
    assert "arpeggio" in svg
    # and from another thread (the web server renders in worker threads; verovio's default font
    # path is per thread)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        assert count_noteheads(pool.submit(svg_from_musicxml, musicxml_text(score)).result()) == 6


def test_options_for_meter_and_key_are_read_or_refused():
    assert parse_meter("6/8") == (6, 8) and parse_meter(None) is None
    assert parse_key("Em") == ("E", "minor") and parse_key("Bb major") == ("Bb", "major")
    with pytest.raises(Exception, match="--meter"):
        parse_meter("3/5")
    with pytest.raises(Exception, match="--key"):
        parse_key("H")
    assert estimate_key(parse_line("67 _ _ _ 71 _ 74 _ 72 _ 71 _ 69 _ 66 _ 67 _ _ _ _ _ _ _")[0]) == (
        "G",
        "major",
    )
    assert estimate_key(parse_line("69 _ _ _ 72 _ 76 _ 74 _ 72 _ 71 _ 68 _ 69 _ _ _ _ _ _ _")[0]) == (
        "A",
        "minor",
    )


def test_render_score_writes_every_format(tmp_path):
    paths = render_score(melody(), "m", tmp_path, ["mid", "musicxml", "wav", "svg", "png"], synth="numpy")
    assert sorted(paths) == ["mid", "musicxml", "png", "svg", "wav"]
    assert all(p.stat().st_size > 100 for p in paths.values())
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    rng = np.random.default_rng(1)
    for split, n in (("train", 30), ("val", 4), ("test", 4)):
        lines = [" ".join(f"{p} _ _ _" for p in rng.choice([60, 62, 64, 65, 67], 12)) for _ in range(n)]
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
    code = main(
        ["train", "--corpus", str(root), "--out", str(root / "run"), "--model", "lstm", "--size", "tiny",
         "--epochs", "1", "--seq-len", "16", "--batch-size", "8", "--gap", "4", "--no-progress"]
    )  # fmt: skip
    assert code == 0
    return root


def test_generate_then_evaluate_and_render_end_to_end(run_dir, tmp_path, capsys):
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("60 _ _ _ 64 _\n67 _ _ _\n")
    out = tmp_path / "gen"
    # a meter is asked of a model, never written over notes that do not keep it: refused before any work
    assert (
        main(["generate", str(run_dir / "run"), "--seeds", str(seeds), "--meter", "3/4", "--out", str(out)])
        == 2
    )
    assert "--meter" in capsys.readouterr().err and not out.exists()
    code = main(["generate", str(run_dir / "run"), "--seeds", str(seeds), "--n", "3", "--max-steps", "40",
                 "--out", str(out), "--synth", "numpy"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "3 melodies" in printed and "grammar on: 0 syntax errors" in printed
    records = [json.loads(line) for line in (out / "melodies.jsonl").read_text().splitlines()]
    assert [r["name"] for r in records] == ["0001", "0002", "0003"]
    grid = (out / "grid.txt").read_text().splitlines()
    assert grid[0].startswith("60 _ _ _ 64 _") and grid[1].startswith("67 _ _ _") and grid[2].startswith("60")
    for r in records:
        for fmt, suffix in (
            ("mid", "mid"),
            ("musicxml", "musicxml"),
            ("abc", "abc"),
            ("wav", "wav"),
            ("svg", "svg"),
            ("png", "png"),
        ):
            assert (out / fmt / f"{r['name']}.{suffix}").stat().st_size > 0
        assert r["score"]["meter"] == [4, 4]  # grid text names none: the default
    _abc_tunebook_reads_everywhere(out / "tunebook.abc", 3)
    numbers = [(out / "abc" / f"{r['name']}.abc").read_text().split("\n", 1)[0] for r in records]
    assert numbers == ["X:1", "X:2", "X:3"]  # files put together stay three tunes
    page = (out / "index.html").read_text()
    links = re.findall(r"(?:src|href)='([^']+)'", page)
    assert links and not any(link.startswith(("http:", "https:", "//")) for link in links)
    assert all((out / link).exists() for link in links)  # every link opens offline
    assert main(["evaluate", str(out), "--out", str(tmp_path / "ev"), "--suite", "study17"]) == 0
    assert (tmp_path / "ev" / "metrics.json").exists()
    abc_only = tmp_path / "abc-only"  # a generation dir without mid/ or grid.txt: each melody once
    shutil.copytree(out, abc_only, ignore=shutil.ignore_patterns("mid", "musicxml", "grid.txt"))
    assert main(["evaluate", str(abc_only), "--out", str(tmp_path / "ev2"), "--suite", "study17"]) == 0
    rows = (tmp_path / "ev2" / "per_item.csv").read_text().splitlines()
    assert len(rows) == 1 + 3
    assert (
        main(["render", str(out / "mid" / "0001.mid"), "--formats", "wav,svg", "--out", str(tmp_path / "r")])
        == 0
    )
    assert (tmp_path / "r" / "wav" / "0001.wav").exists() and (tmp_path / "r" / "svg" / "0001.svg").exists()
    (out / "png" / "0002.png").unlink()
    assert main(["render", str(out), "--formats", "png"]) == 0  # a generation dir, in place
    assert (out / "png" / "0002.png").exists() and "0002" in (out / "index.html").read_text()


def _abc_tunebook_reads_everywhere(path, n):
    """The generated tunes as one ABC file: tunelab, music21 and verovio read every tune."""
    import music21
    import verovio

    from tunelab.io import load
    from tunelab.io.abc import split_tunebook

    scores, errors = load(path)
    assert not errors and len(scores) == n and all(s.meta["reader"] == "native" for s in scores)
    book = music21.converter.parse(path, format="abc")
    assert len(book.scores) == n
    assert [len(sc.stripTies().flatten().notes) for sc in book.scores] == [len(s) for s in scores]
    for _, tune in split_tunebook(path.read_text())[1]:
        toolkit = verovio.toolkit()
        toolkit.setOptions({"inputFrom": "abc"})
        assert toolkit.loadData(tune), tune
        assert "<svg" in toolkit.renderToSVG(1)


def test_generate_refuses_what_it_cannot_do(run_dir, tmp_path, capsys):
    run = str(run_dir / "run")
    assert main(["generate", run, "--out", str(tmp_path / "g"), "--formats", "mp3"]) == 2
    assert "--formats: unknown mp3" in capsys.readouterr().err
    assert main(["generate", run, "--out", str(tmp_path / "g"), "--field", "pitch.temperature=0.5"]) == 2
    assert "compound encodings" in capsys.readouterr().err
    assert main(["generate", str(tmp_path / "nowhere"), "--out", str(tmp_path / "g")]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_the_study_protocol_keeps_its_context_and_stops_and_yields_its_temperature(run_dir, tmp_path):
    run = str(run_dir / "run")
    common = ["--protocol", "study", "--n", "4", "--formats", "grid"]
    assert main(["generate", run, "--out", str(tmp_path / "a"), *common]) == 0  # no seeds: from scratch
    assert (
        main(
            ["generate", run, "--out", str(tmp_path / "b"), *common, "--temperature", "1", "--top-p", "0.95"]
        )
        == 0
    )
    used = [
        json.loads((tmp_path / d / "melodies.jsonl").read_text().splitlines()[0])["settings"] for d in "ab"
    ]
    assert (used[0]["temperature"], used[0]["top_p"]) == (0.7, 1.0)
    assert (used[1]["temperature"], used[1]["top_p"]) == (1.0, 0.95)
    assert used[0]["max_steps"] == used[1]["max_steps"] == 1500
