import pytest

from tunelab.errors import ParseError
from tunelab.io.gridtext import format_score, parse_line, read_gridtext

from ..conftest import shared


@pytest.mark.parametrize(
    "line",
    [
        "60 _ 62 _ _ _ r _ 64 _",
        "r _ _ _ r _ 67 _ 67 _ _ _",  # two notated rests in a row, a repeated (tied) pitch
        "55 _ _ _ _ _ _ _ r _ _ _",  # a trailing rest
    ],
)
def test_grid_line_parse_write_is_exact(line):
    (score,) = parse_line(line)
    assert format_score(score) == line


def test_leading_holds_are_ignored_and_slashes_separate_songs():
    songs = parse_line("_ _ 60 _ / / 62 _ _ r /")
    assert [format_score(s) for s in songs] == ["60 _", "62 _ _ r"]


def test_bad_grid_token_names_file_and_line(tmp_path):
    f = tmp_path / "songs.txt"
    f.write_text("60 _ 62\n60 x 62\n")
    scores, errors = read_gridtext(f)
    assert len(scores) == 1
    assert [str(e) for e in errors] == [f"{f}, line 2: grid token 'x' is not a pitch, 'r', '_' or '/'"]
    with pytest.raises(ParseError, match="outside MIDI"):
        parse_line("200 _")


def test_polyphony_or_off_grid_cannot_be_written():
    from tunelab import Score

    with pytest.raises(ValueError, match="overlapping"):
        format_score(Score.from_notes([(0, 4, 60), (0, 4, 64)], tpq=4))
    with pytest.raises(ValueError, match="off the 16th-note grid"):
        format_score(Score.from_notes([(0, 160, 60)], tpq=480))


@pytest.mark.shared_data
def test_every_study_line_round_trips():
    for name in ("train", "val", "test"):
        lines = shared(f"study-split/{name}.txt").read_text().splitlines()
        for line in lines:
            (score,) = parse_line(line)
            assert format_score(score) == line.strip()
