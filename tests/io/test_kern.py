import re
import warnings

import pytest

from tunelab.errors import ParseError
from tunelab.io import load, read
from tunelab.io.kern import parse_kern

from ..fixtures import IRREGULAR, PICKUP_3_4, TRIPLETS_AND_TIES


def test_pickup_meter_key_and_pitches():
    s = parse_kern(PICKUP_3_4, "pickup-3-4.krn")
    assert s.tpq == 480 and s.pickup == 480
    assert s.time_signatures == [(0, 3, 4)]
    assert s.keys == [(0, "G", "major")]
    assert s.pitch.tolist() == [62, 67, 69, 71, 72, 71]  # d = D4, cc = C5
    assert s.duration.tolist() == [480, 480, 240, 240, 480, 1440]
    assert s.bar_starts().tolist() == [0, 480, 1920]
    assert s.meta["title"] == "Pickup in 3/4" and s.meta["declared_meter"] is True


def test_triplets_ties_and_rests():
    merged = parse_kern(TRIPLETS_AND_TIES, "triplets.krn")
    assert merged.duration.tolist()[:3] == [160, 160, 160]  # 12 = triplet eighth
    assert merged.pitch.tolist() == [60, 62, 64, 65, 67, 67]
    # [4f 4f] across the barline is one half note; [2g 4g_ 4g] is one whole note
    assert merged.duration.tolist()[3:] == [960, 240, 1920]
    assert merged.rests.tolist() == [[1440, 240]]
    kept = parse_kern(TRIPLETS_AND_TIES, "triplets.krn", ties="keep")
    assert len(kept) == 9 and kept.pitch.tolist()[-3:] == [67, 67, 67]
    assert merged.pickup == 0 and merged.time_signatures == [(0, 2, 4)]


def test_irregular_meter_gets_a_time_signature_per_bar():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = parse_kern(IRREGULAR, "irregular.krn")
    assert s.time_signatures == [(0, 2, 4), (960, 3, 4), (2400, 2, 4)]
    assert s.bar_starts().tolist() == [0, 960, 2400]
    assert s.meta["declared_meter"] is False and s.keys == [(0, "A", "minor")]


def test_unknown_token_names_file_and_line():
    bad = "**kern\n*M2/4\n4c\n4q§\n*-\n"
    with pytest.raises(ParseError) as err:
        parse_kern(bad, "unknown-token.krn")
    assert str(err.value) == "unknown-token.krn, line 4: unknown kern token '4q§' (characters '§')"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no **kern spine"),
        ("**kern\n1.5dd\n*-\n", "malformed duration in kern token '1.5dd'"),
        ("**kern\n4\n*-\n", "neither one note nor one rest"),
        ("**kern\n4cd\n*-\n", "more than one pitch"),
        ("**kern\ncc\n*-\n", "has no duration"),
    ],
)
def test_malformed_kern_is_a_parse_error(text, reason):
    with pytest.raises(ParseError, match=re.escape(reason)):
        parse_kern(text, "bad.krn")


def test_polyphonic_kern_goes_through_music21(tmp_path):
    two = tmp_path / "two-spines.krn"
    two.write_text("**kern\t**kern\n*M2/4\t*M2/4\n2C\t4c\n.\t4e\n==\t==\n*-\t*-\n")
    s = read(two)
    assert sorted(s.pitch.tolist()) == [48, 60, 64] and not s.is_monophonic()


def test_folder_batch_reports_bad_files_and_goes_on(tmp_path):
    (tmp_path / "good.krn").write_text(PICKUP_3_4)
    (tmp_path / "empty.krn").write_text("")
    (tmp_path / "broken.krn").write_text("**kern\n4c\n4c+\n*-\n")
    scores, errors = load(tmp_path)
    assert len(scores) == 1
    assert sorted(str(e) for e in errors) == [
        f"{tmp_path / 'broken.krn'}, line 3: unknown kern token '4c+' (characters '+')",
        f"{tmp_path / 'empty.krn'}: empty file",
    ]
