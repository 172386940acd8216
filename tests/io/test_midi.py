import pytest

from tunelab import Score
from tunelab.errors import ParseError
from tunelab.io import read
from tunelab.io.kern import parse_kern
from tunelab.io.midi import read_midi, write_midi

from ..fixtures import IRREGULAR, PICKUP_3_4, TRIPLETS_AND_TIES


def test_midi_write_read_gives_the_same_score(tmp_path):
    s = Score.from_notes(
        [(0, 240, 67, 90), (240, 480, 72, 64), (960, 960, 71, 100)],
        tpq=480,
        time_signatures=[(0, 3, 4), (1200, 2, 4)],
        keys=[(0, "G", "major")],
        pickup=240,
        end=2400,
        tempo=96.0,
    )
    write_midi(s, tmp_path / "s.mid")
    back = read_midi(tmp_path / "s.mid")
    assert back.diff(s) is None  # notes, velocities, meters, key, pickup, end rest, tempo


@pytest.mark.parametrize(
    "text", [PICKUP_3_4, TRIPLETS_AND_TIES, IRREGULAR], ids=["pickup", "triplets-ties", "irregular"]
)
def test_kern_to_midi_keeps_notes_meters_and_pickup(tmp_path, text):
    k = parse_kern(text, "x.krn")
    write_midi(k, tmp_path / "k.mid")
    back = read_midi(tmp_path / "k.mid")
    assert back.diff(k, rests=False) is None
    assert back.time_signatures == k.time_signatures and back.pickup == k.pickup


def test_a_pickup_is_a_short_first_bar_for_other_tools(tmp_path):
    import symusic

    write_midi(parse_kern(PICKUP_3_4), tmp_path / "p.mid")
    raw = symusic.Score(str(tmp_path / "p.mid"))
    assert [(t.time, t.numerator, t.denominator) for t in raw.time_signatures] == [(0, 1, 4), (480, 3, 4)]


def test_a_pickup_too_long_for_a_midi_meter_is_kept_in_the_marker(tmp_path):
    # a generated NB melody decoded with 495 sixteenths before its first 124/4 bar: as a short
    # meter that would be 495/16, past MIDI's byte; the file is still written and reads back
    score = Score.from_notes(
        [(0, 4, 60, 80), (495, 4, 62, 80)], tpq=4, time_signatures=[(0, 124, 4)], pickup=495
    )
    write_midi(score, tmp_path / "long.mid")
    back = read_midi(tmp_path / "long.mid")
    assert back.pickup * 4 // back.tpq == 495 and back.time_signatures[0][1:] == (124, 4)
    with pytest.raises(ValueError, match="meter 300/4"):
        write_midi(score.replace(time_signatures=[(0, 300, 4)], pickup=0), tmp_path / "bad.mid")


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.mid", b"", "empty file"),
        ("random.mid", bytes(range(7, 250, 3)) * 4, "not a readable MIDI file"),
        ("truncated.mid", None, "not a readable MIDI file"),
    ],
)
def test_bad_midi_is_one_clear_error(tmp_path, name, data, reason):
    path = tmp_path / name
    if data is None:  # a real file cut in the middle of its track
        write_midi(parse_kern(PICKUP_3_4), tmp_path / "whole.mid")
        whole = (tmp_path / "whole.mid").read_bytes()
        data = whole[: len(whole) - 9]
    path.write_bytes(data)
    with pytest.raises(ParseError) as err:
        read(path)
    assert str(err.value).startswith(f"{path}: {reason}")
    assert "\n" not in str(err.value)


@pytest.mark.shared_data
def test_every_deutschl_kern_song_survives_midi(deutschl_kern):
    """kern -> Score -> MIDI bytes -> Score keeps every note, meter, key, pickup and end."""
    import warnings

    import symusic

    from tunelab.io.kern import read_kern
    from tunelab.io.midi import from_symusic, to_symusic

    checked = 0
    for f in sorted(deutschl_kern.rglob("*.krn")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                k = read_kern(f)
        except ParseError:
            continue
        back = from_symusic(symusic.Score.from_midi(to_symusic(k).dumps_midi()))
        assert back.diff(k, rests=False) is None, f
        checked += 1
    assert checked == 5360
