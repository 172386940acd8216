"""Batches never stop on one piece, outputs follow the umask, names follow the pieces."""

import os
import stat

import pytest

from tunelab.cli import main
from tunelab.io.atomic import atomic_dir, atomic_write_text

GOOD = "X:1\nT:good\nM:2/4\nL:1/8\nK:G\nGABc|d4|]\n"
TRIPLET = "X:2\nT:triplets\nM:2/4\nL:1/8\nK:G\n(3GAB c2|d4|]\n"  # off the 16th grid


def _export(book, fmt, out) -> int:
    return main(["corpus", "export", str(book), "--format", fmt, "--out", str(out), "--no-cache"])


def test_export_writes_every_piece_it_can_and_names_the_others(tmp_path, capsys):
    (tmp_path / "book.abc").write_text(GOOD + "\n" + TRIPLET)
    out = tmp_path / "out.txt"
    assert _export(tmp_path / "book.abc", "grid", out) == 0
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("tunelab: skipped:")]
    assert (
        len(lines) == 1
        and "book.abc#2" in lines[0]
        and "book.abc" in lines[0]
        and "off the 16th-note grid" in lines[0]
    )
    assert out.read_text() == "67 _ 69 _ 71 _ 72 _ 74 _ _ _ _ _ _ _\n"


def test_export_abc_tunebook_reads_back(tmp_path):
    (tmp_path / "book.abc").write_text(GOOD + "\n" + TRIPLET)
    out = tmp_path / "out.abc"
    assert _export(tmp_path / "book.abc", "abc", out) == 0
    from tunelab.io import load

    back, errors = load(out)
    assert not errors and len(back) == 2
    assert [len(s) for s in back] == [5, 5]
    assert back[1].pitch.tolist() == [67, 69, 71, 72, 74]


def test_a_broken_link_in_a_corpus_folder_is_one_unreadable_piece(tmp_path, capsys):
    folder = tmp_path / "tunes"
    folder.mkdir()
    (folder / "a.abc").write_text(GOOD)
    os.symlink(tmp_path / "missing.abc", folder / "b.abc")
    for extra in ([], ["--no-cache"]):
        assert main(["corpus", "info", str(folder), *extra]) == 0
        out = capsys.readouterr().out
        assert "2 pieces read, 1 kept, 1 unreadable" in out


@pytest.mark.parametrize(("mask", "want"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_follow_the_umask(tmp_path, mask, want):
    old = os.umask(mask)
    try:
        atomic_write_text(tmp_path / "f.txt", "x")
        with atomic_dir(tmp_path / "d") as d:
            (d / "inner").write_text("y")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == want
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == want | 0o111 & ~mask


def test_tokenize_names_each_piece_and_refuses_an_empty_folder(tmp_path, capsys):
    folder = tmp_path / "tunes"
    folder.mkdir()
    (folder / "a.abc").write_text(GOOD)
    (folder / "b.abc").write_text(GOOD.replace("T:good", "T:other"))
    assert main(["tokenize", str(folder), "--encoding", "remi", "--out", str(tmp_path / "t.json")]) == 0
    out = capsys.readouterr().out
    assert f"{folder / 'a.abc'}#1:" in out and f"{folder / 'b.abc'}#1:" in out
    assert (
        main(["detokenize", str(tmp_path / "t.json"), "--out", str(tmp_path / "back"), "--format", "abc"])
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "back").iterdir()) == ["0000-a_1.abc", "0001-b_1.abc"]
    (tmp_path / "empty").mkdir()
    assert main(["tokenize", str(tmp_path / "empty"), "--encoding", "nb"]) == 2
    assert "no music files" in capsys.readouterr().err


def test_convert_writes_abc(tmp_path):
    (tmp_path / "a.abc").write_text(GOOD)
    assert main(["convert", str(tmp_path / "a.abc"), str(tmp_path / "a.mid")]) == 0
    assert main(["convert", str(tmp_path / "a.mid"), str(tmp_path / "b.abc")]) == 0
    text = (tmp_path / "b.abc").read_text()
    assert "M:2/4" in text and "K:G" in text
    from tunelab.io import read

    assert read(tmp_path / "b.abc").pitch.tolist() == [67, 69, 71, 72, 74]
