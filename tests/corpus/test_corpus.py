import pytest

import tunelab.corpus as tc
from tunelab.corpus import hash_split
from tunelab.errors import ConfigError

from ..conftest import shared
from ..fixtures import PICKUP_3_4, TRIPLETS_AND_TIES


def _folder(tmp_path):
    d = tmp_path / "songs"
    (d / "sub").mkdir(parents=True)
    (d / "a.krn").write_text(PICKUP_3_4)
    (d / "sub" / "b.krn").write_text(PICKUP_3_4)  # a duplicate of a
    (d / "triplets.krn").write_text(TRIPLETS_AND_TIES)  # dropped by the study's duration filter
    (d / "broken.krn").write_text("**kern\n4c+\n*-\n")
    (d / "notes.txt").write_text("irrelevant")  # .txt is grid text: one unreadable line
    return d


def test_folder_corpus_reports_kept_dropped_and_unreadable(tmp_path):
    corpus = tc.load(_folder(tmp_path), "study", verbose=False)
    by_id = {e.id: e for e in corpus.entries}
    assert by_id["a.krn"].status == by_id["sub/b.krn"].status == "kept"
    assert by_id["triplets.krn"].status == "dropped"
    assert by_id["triplets.krn"].reason == "duration: note of 1/3 quarter notes at 0"
    assert by_id["broken.krn"].status == "error" and "unknown kern token" in by_id["broken.krn"].reason
    info = corpus.info()
    assert (info["pieces"], info["kept"], info["dropped"], info["unreadable"]) == (5, 2, 1, 2)
    assert info["dropped_by_reason"] == {"duration": 1}
    # transposed from G major to C major, on the 16th grid
    assert corpus.scores[0].keys == [(0, "C", "major")] and corpus.scores[0].tpq == 4
    assert corpus.scores[0].pitch.tolist() == [55, 60, 62, 64, 65, 64]


def test_duplicates_are_reported_and_dedupe_keeps_one(tmp_path):
    folder = _folder(tmp_path)
    corpus = tc.load(folder, verbose=False)
    (group,) = corpus.duplicate_groups()
    assert [e.id for e in group] == ["a.krn", "sub/b.krn"]
    deduped = tc.load(folder, dedupe=True, verbose=False)
    assert [e.id for e in deduped.kept] == ["a.krn", "triplets.krn"]
    assert {e.id: e.duplicate_of for e in deduped.entries}["sub/b.krn"] == "a.krn"


def test_hash_split_is_deterministic_and_follows_the_ratios():
    ids = [f"song{i}" for i in range(20000)]
    splits = [hash_split(i) for i in ids]
    assert splits == [hash_split(i) for i in ids]
    frac = {s: splits.count(s) / len(ids) for s in ("train", "val", "test")}
    assert (
        abs(frac["train"] - 0.80) < 0.01
        and abs(frac["val"] - 0.06) < 0.01
        and abs(frac["test"] - 0.14) < 0.01
    )
    assert hash_split("song1", (0.0, 0.0, 1.0)) == "test"


def test_second_load_comes_from_the_cache_and_a_change_invalidates_it(tmp_path):
    folder = _folder(tmp_path)
    first = tc.load(folder, verbose=False)
    again = tc.load(folder, verbose=False)
    assert not first.from_cache and again.from_cache
    assert [e.id for e in again.kept] == [e.id for e in first.kept]
    (folder / "c.krn").write_text(TRIPLETS_AND_TIES)
    assert not tc.load(folder, verbose=False).from_cache


def test_bad_options_name_the_flag():
    with pytest.raises(ConfigError, match="--split needs three fractions"):
        tc.PrepOptions(split=(0.5, 0.5, 0.5))
    with pytest.raises(ConfigError, match="unknown preset"):
        tc.PrepOptions.preset("nope")
    with pytest.raises(ConfigError, match="no such corpus"):
        tc.load("no-such-corpus-or-folder", verbose=False)


@pytest.mark.shared_data
def test_study_split_folder_is_a_corpus_with_that_split():
    corpus = tc.load(shared("study-split"), verbose=False)
    info = corpus.info()
    assert info["splits"] == {"train": 4292, "val": 321, "test": 752}
    pairs = info["duplicates"]["groups_by_split_pair"]
    assert pairs["test&train"] >= 1 and info["duplicates"]["groups"] > 0
    test_in_train = sum(
        1
        for g in corpus.duplicate_groups()
        for e in g
        if e.split == "test" and any(x.split == "train" for x in g)
    )
    assert test_in_train == 140  # the study's files: 140 of the 752 test songs occur in train


def test_a_split_file_fixes_the_splits(tmp_path):
    folder = _folder(tmp_path)
    split_file = tmp_path / "splits.txt"
    split_file.write_text("# id split\na.krn test\nsub/b.krn val\n")
    corpus = tc.load(folder, split_file=str(split_file), verbose=False)
    assert {e.id: e.split for e in corpus.kept} == {"a.krn": "test", "sub/b.krn": "val", "triplets.krn": ""}
    assert corpus.info()["in_no_split"] == 1 and corpus.split("test")[0].meta["id"] == "a.krn"
    split_file.write_text("a test\nsub/b train\n")  # a split file of ids without extensions (as before)
    assert (
        tc.load(folder, split_file=str(split_file), verbose=False).split("train")[0].meta["id"] == "sub/b.krn"
    )
    split_file.write_text("a holdout\n")
    with pytest.raises(ConfigError, match=r"splits.txt, line 1: expected 'ID train\|val\|test'"):
        tc.load(folder, split_file=str(split_file), verbose=False)


def test_ids_are_paths_with_extensions_and_copies_of_a_collection_share_a_split(tmp_path, monkeypatch):
    from tunelab.corpus.sources import split_key

    (tmp_path / "song.abc").write_text("X:1\nM:4/4\nL:1/4\nK:C\nCDEF|\n")
    (tmp_path / "song.krn").write_text(PICKUP_3_4)
    monkeypatch.chdir(tmp_path)  # a file in the current folder keeps its whole name
    assert [e.id for e in tc.load("song.abc", verbose=False).entries] == ["song.abc"]
    both = tc.load(".", verbose=False)
    assert sorted(e.id for e in both.entries) == ["song.abc", "song.krn"]  # two pieces, two ids
    # abc2midi writes tune 1 of jigs.abc as jigs1.mid: the two copies land in one split
    assert split_key("jigs.abc#1") == split_key("jigs1.mid") == "jigs1"
    assert tc.hash_split(split_key("jigs.abc#1")) == tc.hash_split(split_key("jigs1.mid"))


def test_windows_text_is_read_as_windows_text(tmp_path):
    from tunelab.io.abc import read_text

    title = "\u201cSmart\u201d quotes \u2013 polka"
    (tmp_path / "w.abc").write_bytes(f"X:1\nT:{title}\nK:C\nC|\n".encode("cp1252"))
    assert title in read_text(tmp_path / "w.abc")
    (tmp_path / "d.abc").write_bytes("X:1\nT:Caf\u00e9 r\u00e9el\nK:C\nC|\n".encode("cp437"))  # DOS
    assert "Caf\u00e9 r\u00e9el" in read_text(tmp_path / "d.abc")


def test_summary_says_none_for_a_corpus_without_meters(tmp_path):
    (tmp_path / "songs.txt").write_text("60 _ 62 _\n64 _ _ _\n")
    info = tc.load(tmp_path / "songs.txt", verbose=False).info()
    assert info["meters"] == {"none": 2} and info["keys"] == {"none": 2}


def test_corpora_joined_keep_their_own_preparation_and_splits(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "one.abc").write_text("X:1\nM:4/4\nL:1/4\nK:D\nDEFG|\n")
    (b / "two.krn").write_text(PICKUP_3_4)
    joined = tc.load(f"{a}+{b}", verbose=False)
    assert [e.id for e in joined.kept] == ["a:one.abc", "b:two.krn"]
    assert [e.split for e in joined.kept] == [
        tc.load(a, verbose=False).kept[0].split,
        tc.load(b, verbose=False).kept[0].split,
    ]
    assert joined.kept[1].score.meta["corpus"] == "b"
