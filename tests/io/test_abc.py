from tunelab.io import load
from tunelab.io.abc import read_abc, split_tunebook, tune_key_mode

TUNEBOOK = """% a tunebook with a broken second tune
X:1
T:Good one
M:3/4
L:1/8
K:G
D2 | G2 A2 B2 | c6 |]

X:2
T:No key field
M:2/4
L:1/8
CDEF|

X:3
T:Minor, written out
M:2/4
L:1/8
K:Dm
D2 F2 | A4 |]
"""


def test_one_broken_tune_does_not_sink_the_book(tmp_path):
    f = tmp_path / "book.abc"
    f.write_text(TUNEBOOK)
    scores, errors = read_abc(f)
    assert [s.meta["title"] for s in scores] == ["Good one", "Minor, written out"]
    assert [str(e) for e in errors] == [f"{f} (tune 2): tune has no K: (key) field"]
    good = scores[0]
    assert good.pickup == 480 and good.time_signatures == [(0, 3, 4)]
    assert good.pitch.tolist() == [62, 67, 69, 71, 72]
    assert scores[1].keys[0][1:] == ("D", "minor")


def test_key_without_mode_is_major_as_abc_says(tmp_path):
    assert tune_key_mode("X:1\nK: G\n") == ("G", None)  # what the text writes
    assert tune_key_mode("X:1\nK:Ador\n") == ("A", "dorian")
    f = tmp_path / "essen.abc"
    f.write_text("X:1\nT:Essen style\nM:2/4\nL:1/8\nK: G\nG2 _B2 | d4 |]\n")
    (s,), errors = load(f)
    assert not errors and s.keys == [(0, "G", "major")]  # ABC 2.1; the deutschl corpus reads it as unknown
    assert s.pitch.tolist() == [67, 70, 74]


def test_split_tunebook_numbers():
    header, tunes = split_tunebook(TUNEBOOK)
    assert header.startswith("%") and [n for n, _ in tunes] == ["1", "2", "3"]
