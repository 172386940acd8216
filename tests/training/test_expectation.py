"""Per-note information content and entropy (tunelab surprise): rows that add up to the scored
bits, name the songs' own pitches and onsets, and carry distributions that are distributions."""

from __future__ import annotations

import csv
import itertools
import json
import math

import numpy as np
import pytest

from tunelab.cli import main
from tunelab.training import TrainConfig, train

from ..helpers import split_folder


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return split_folder(tmp_path_factory.mktemp("corpus"), np.random.default_rng(11))


@pytest.mark.parametrize("encoding", ["grid", "nb"])
def test_note_rows_add_up_to_the_scored_bits_and_name_the_songs_notes(corpus, tmp_path, capsys, encoding):
    run = train(TrainConfig(corpus=str(corpus), out=str(tmp_path / "run"), encoding=encoding, model="lstm",
                            size="tiny", seq_len=16, batch_size=8, epochs=2, gap=8 if encoding == "grid" else None,
                            progress=False, seed=3, threads=1))  # fmt: skip
    out = tmp_path / "notes.csv"
    assert main(["surprise", str(corpus), "--model", str(run), "--split", "test", "--out", str(out)]) == 0
    assert main(["score", str(run), str(corpus), "--split", "test", "--device", "cpu"]) == 0
    scored = json.loads(capsys.readouterr().out.split("notes of")[-1].split("\n", 1)[1])
    with open(out) as f:
        rows = list(csv.DictReader(f))
    notes = [r for r in rows if r["pitch"]]
    assert len(notes) == scored["notes"] and len(rows) - len(notes) == scored["songs"] == 6
    total = sum(float(r["ic"]) for r in rows)
    assert total / len(notes) == pytest.approx(scored["bits_per_note"], rel=1e-3)
    assert sum(float(r["pitch_ic"]) for r in rows) / len(notes) == pytest.approx(
        scored["pitch_bits_per_note"], rel=1e-3
    )
    import tunelab
    import tunelab.corpus

    real = tunelab.corpus.load(str(corpus), verbose=False).split("test")
    want = [(s.meta["id"], float(o) / s.tpq, int(p)) for s in real for o, p in zip(s.onset, s.pitch)]
    assert [(r["melody"], float(r["onset"]), int(r["pitch"])) for r in notes] == want
    tok = tunelab.load(run, threads=1).tokenizer
    outcomes = tok.vocab_size[tok.pitch_field] if tok.is_compound else len(tok.pitch_ids())
    for r in notes:
        assert 0 <= float(r["pitch_entropy"]) <= math.log2(outcomes) + 1e-4 and float(r["rest_entropy"]) >= 0
        expected = [(int(p), float(q)) for p, q in (x.split(":") for x in r["expected"].split())]
        assert len(expected) == 3 and all(a[1] >= b[1] for a, b in itertools.pairwise(expected))
        # the named pitch's information content is -log2 of its probability: the top pitch costs least
        if int(r["pitch"]) == expected[0][0]:
            assert 2 ** -float(r["pitch_ic"]) == pytest.approx(
                expected[0][1], abs=6e-4
            )  # written to 3 places


def test_surprise_checks_its_output_before_the_work(corpus, tmp_path, capsys):
    (tmp_path / "here").mkdir()
    assert main(["surprise", str(corpus), "--model", "study-lstm", "--out", str(tmp_path / "here")]) == 2
    assert "is a folder" in capsys.readouterr().err
