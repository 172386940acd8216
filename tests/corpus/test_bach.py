"""The polyphonic path on real data that music21 ships: a Bach chorale."""

import numpy as np

from tunelab.corpus import segments
from tunelab.io import read
from tunelab.io.m21 import music21
from tunelab.io.midi import read_midi, write_midi


def _chorale_path():
    return music21().corpus.getWork("bach/bwv269")


def test_a_chorale_reads_as_four_voices_with_its_meter_and_pickup(tmp_path):
    s = read(_chorale_path())
    assert not s.is_monophonic() and s.rests is None
    assert s.time_signatures[0][1:] == (3, 4) and s.pickup == s.tpq  # 3/4, one-quarter upbeat
    # four voices sound together on the first downbeat
    first_bar = segments(s, "bar")[1]
    assert len(np.unique(s.onset[first_bar.notes][s.onset[first_bar.notes] == first_bar.start])) == 1
    assert int((s.onset == first_bar.start).sum()) == 4
    assert s.pitch.min() >= 36 and s.pitch.max() <= 84
    # MusicXML notates the repeat of the first part (a written form); MIDI has no repeat signs
    assert [m for _, m in s.form.marks] == [":|"]
    write_midi(s, tmp_path / "bwv269.mid")
    assert read_midi(tmp_path / "bwv269.mid").diff(s.replace(form=None), rests=False) is None


def test_event_encodings_round_trip_a_four_voice_chorale():
    import tunelab.tokenizers as tt
    from tunelab.tokenizers.metric import round_trip_problem

    s = read(_chorale_path())
    for name in ("remi", "cp", "nb"):
        tok = tt.get(name)
        ids = tok.encode(s)
        assert tok.syntax_errors(ids) == 0, name
        assert round_trip_problem(s, tok.decode(ids), 4) is None, name
    nb, cp = tt.get("nb").encode(s), tt.get("cp").encode(s)
    assert len(nb) < len(cp)
