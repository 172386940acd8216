"""The native ABC reader against the reference implementation folk musicians use: Debian's
abc2midi (abcmidi). Each tune is played by abc2midi with repeats expanded, grace notes and
chord symbols off; its notes must be the native reader's with repeats expanded. The two differ
by design only in playback conventions that these tunes avoid (ornaments played as notes,
staccato at half length, swung hornpipes: benchmarks/results/abc_tunebooks.md)."""

import shutil
import subprocess
from fractions import Fraction

import pytest

from tunelab.io.abc_native import parse_abc_tune

pytestmark = pytest.mark.skipif(
    not shutil.which("abc2midi"),
    reason="abc2midi not installed (make abcmidi installs Debian's abcmidi, as root)",
)

TUNES = {
    "repeats, endings, chords, triplets, broken rhythm, accidentals to the barline, inline key, meter and unit": """X:1
T:features
M:6/8
L:1/8
K:Dmix
|:A|dcd ^cde|=c2d e>fg|(3efg a2 [df]|1 d3 d2:|2 d3 d2|]
[K:Gm] B,2 _B, c=Bc|[M:2/4] d2- d/e/f/g/|[L:1/16] a4 b4|c'8|]
""",
    "a reel with a pickup, ties over the barline and a section repeat": """X:2
T:reel
M:C|
L:1/8
K:G
|:D|G2BG dGBG|cBAG FGAF|G2BG dGBd-|dcAF G3:|
|:d|g2bg agfg|e^def g2ga|bagf gfed|1 cAFA G3:|2 cAFA G4|]
""",
    "a minor jig with accidentals in several octaves, broken rhythm both ways and quadruplets": """X:3
T:jig
M:9/8
L:1/8
K:Ador
e|a^ga ^g2a b<ab|c'ba ^gfe ^f2e|(4abab a2 g e2d|=f>ed ^c2e A3|]
""",
}


def _abc2midi(text: str, tmp_path) -> list[tuple[Fraction, int]]:
    import symusic

    (tmp_path / "t.abc").write_text(text)
    subprocess.run(
        [
            "abc2midi",
            str(tmp_path / "t.abc"),
            "-o",
            str(tmp_path / "t.mid"),
            "-silent",
            "-NGRA",
            "-NGUI",
            "-NFNP",
            "-NFER",
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
    midi = symusic.Score(str(tmp_path / "t.mid"))
    tpq = midi.ticks_per_quarter
    return sorted((Fraction(n.time, tpq), n.pitch) for tr in midi.tracks for n in tr.notes)


@pytest.mark.parametrize("text", list(TUNES.values()), ids=list(TUNES))
def test_native_reader_plays_the_notes_abc2midi_plays(text, tmp_path):
    played = _abc2midi(text, tmp_path)
    score = parse_abc_tune(text, source="t.abc", tune=1, form="played")
    ours = sorted((Fraction(int(o), score.tpq), int(p)) for o, p in zip(score.onset, score.pitch))
    assert len(played) == len(ours) > 20
    lead = played[0][0] - ours[0][0]  # abc2midi starts a tick late
    # and staggers a chord's notes by a few ticks: onsets within a 32nd of a quarter are the same
    for (a, p), (b, q) in zip(played, ours):
        assert abs(a - lead - b) < Fraction(1, 32) and p == q, (float(a - lead), p, float(b), q)
