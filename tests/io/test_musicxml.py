from tunelab import Score
from tunelab.io import read, save
from tunelab.io.kern import parse_kern

from ..fixtures import PICKUP_3_4, TRIPLETS_AND_TIES


def test_musicxml_round_trip_keeps_pickup_ties_and_triplets(tmp_path):
    for name, text in (("pickup", PICKUP_3_4), ("triplets", TRIPLETS_AND_TIES)):
        k = parse_kern(text, f"{name}.krn")
        save(k, tmp_path / f"{name}.musicxml")
        back = read(tmp_path / f"{name}.musicxml")
        assert back.diff(k) is None, name


def test_polyphony_is_written_as_voices_and_read_back(tmp_path):
    chord = Score.from_notes(
        [(0, 960, 60), (0, 960, 64), (0, 480, 67), (480, 480, 65)], tpq=480, time_signatures=[(0, 2, 4)]
    )
    save(chord, tmp_path / "chord.musicxml")
    back = read(tmp_path / "chord.musicxml")
    assert back.diff(chord, rests=False) is None
