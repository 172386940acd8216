"""Tunebook text as old files have it: byte-order marks, UTF-16, DOS code pages, stray NEL
characters and files that are not text at all."""

import pytest

from tunelab.errors import ParseError
from tunelab.io.abc import read_abc, read_text

TUNE = "X:1\nT:{title}\nN:{note}\nM:2/4\nL:1/8\nK:G\nGABc|d4|]\n"


def test_nel_inside_a_text_field_does_not_split_the_header(tmp_path):
    path = tmp_path / "nel.abc"
    path.write_text(TUNE.format(title="Tune", note="from a book\u0085page 3"), encoding="utf-8")
    scores, errors = read_abc(path)
    assert not errors and len(scores) == 1 and scores[0].pitch.tolist() == [67, 69, 71, 72, 74]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_a_byte_order_mark(tmp_path, encoding):
    text = TUNE.format(title="Siúil a Rúin", note="-")
    raw = text.encode(encoding)
    if encoding != "utf-16":  # the plain codec writes its own mark; the others need one
        raw = ("\ufeff" + text).encode(encoding)
    (tmp_path / "u16.abc").write_bytes(raw)
    scores, errors = read_abc(tmp_path / "u16.abc")
    assert not errors and scores[0].meta["title"] == "Siúil a Rúin"


def test_utf8_with_a_byte_order_mark(tmp_path):
    (tmp_path / "bom.abc").write_bytes(b"\xef\xbb\xbf" + TUNE.format(title="Caf\u00e9", note="-").encode())
    scores, errors = read_abc(tmp_path / "bom.abc")
    assert not errors and scores[0].meta["title"] == "Café"


def test_cp437_titles_come_out_as_letters_without_control_characters(tmp_path):
    # DOS tunebooks: 0x82 is e-acute and 0x81 u-umlaut in CP437, C1 controls in Latin-1
    (tmp_path / "dos.abc").write_bytes(TUNE.format(title="Caf\x82 M\x81ller", note="-").encode("latin-1"))
    scores, errors = read_abc(tmp_path / "dos.abc")
    assert not errors
    title = scores[0].meta["title"]
    assert title == "Café Müller"
    assert not any(0x80 <= ord(c) <= 0x9F or ord(c) < 0x20 for c in title)


def test_random_binary_is_refused_without_echoing_it(tmp_path):
    import random

    rng = random.Random(5)
    data = bytes(rng.randrange(256) for _ in range(4000))
    path = tmp_path / "noise.abc"
    path.write_bytes(b"X:\x1b[31m" + data)
    with pytest.raises(ParseError) as err:
        read_text(path)
    assert "not a text file" in str(err.value) and "\x1b" not in str(err.value)
    scores, errors = read_abc(path)
    assert scores == [] and len(errors) == 1 and "\x1b" not in str(errors[0])


def test_control_characters_never_reach_a_tune_id(tmp_path):
    (tmp_path / "ctl.abc").write_text("X:1\x1b[2J\x07\n" + TUNE.split("\n", 1)[1])
    scores, errors = read_abc(tmp_path / "ctl.abc")
    assert not errors and scores[0].meta["id"] == "ctl#1"
