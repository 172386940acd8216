"""A key signature survives every reader and writer, whatever is known of its mode."""

import pytest

from tunelab.io import read, save
from tunelab.io.kern import parse_kern
from tunelab.io.keys import signature_sharps
from tunelab.score import Score


def _tune(key):
    return Score.from_notes([(0, 480, 62), (480, 480, 64)], time_signatures=[(0, 2, 4)], keys=[key])


@pytest.mark.parametrize(
    ("tonic", "mode", "sharps"),
    [("D", None, 2), ("Ab", None, -4), ("E", "dorian", 2), ("G", "mixolydian", 0), ("F#", "major", 6),
     ("Gb", "major", -6), ("A#", "minor", 7), ("Bb", "minor", -5), ("B", "locrian", 0), ("F", "lydian", 0)],
)  # fmt: skip
def test_signature_of_a_tonic_in_a_mode(tonic, mode, sharps):
    assert signature_sharps(tonic, mode) == sharps


@pytest.mark.parametrize("key", [(0, "D", None), (0, "Ab", None), (0, "E", "dorian"), (0, "A#", "minor")])
def test_musicxml_and_abc_keep_the_key_as_written(tmp_path, key):
    for suffix in (".musicxml", ".abc"):
        save(_tune(key), tmp_path / f"t{suffix}")
        # ABC cannot say "mode unknown": a bare tonic is the major key (ABC 2.1, 3.1.14)
        want = (key[0], key[1], key[2] or "major") if suffix == ".abc" else key
        assert read(tmp_path / f"t{suffix}").keys == [want]


def test_four_flats_without_a_mode_stay_four_flats_in_musicxml(tmp_path):
    save(_tune((0, "Ab", None)), tmp_path / "rag.musicxml")
    xml = (tmp_path / "rag.musicxml").read_text()
    assert "<fifths>-4</fifths>" in xml and "<mode>" not in xml


@pytest.mark.parametrize(
    ("key", "back"),
    [((0, "D", None), (0, "D", "major")), ((0, "E", "dorian"), (0, "D", "major")), ((0, "A#", "minor"), (0, "A#", "minor"))],
)  # fmt: skip
def test_midi_writes_a_signature_for_every_key(tmp_path, key, back):
    """MIDI knows major and minor only: another mode, or none, is written as its signature."""
    save(_tune(key), tmp_path / "t.mid")
    assert read(tmp_path / "t.mid").keys == [back]


def test_kern_signature_without_a_key_designation():
    assert parse_kern("**kern\n*M2/4\n*k[b-]\n4c\n4d\n*-\n").keys == [(0, "F", None)]
    assert parse_kern("**kern\n*M2/4\n*k[f#]\n*G:\n4c\n4d\n*-\n").keys == [(0, "G", "major")]
    later = parse_kern("**kern\n*M2/4\n*k[f#]\n*e:\n4c\n4d\n=\n*k[]\n4e\n4f\n*-\n")
    assert later.keys == [(0, "E", "minor"), (960, "C", None)]
