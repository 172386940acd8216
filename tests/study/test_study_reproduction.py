"""The study's preprocessing, reproduced from its own kern files (issue 2's headline check)."""

import pytest

from tunelab.corpus import load
from tunelab.io.gridtext import format_score

from ..conftest import shared

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


def test_study_preset_reproduces_the_studys_songs(deutschl_kern):
    study = set()
    for name in ("train", "val", "test"):
        study |= {line.strip() for line in shared(f"study-split/{name}.txt").read_text().splitlines()}
    corpus = load(deutschl_kern, "study", verbose=False)
    ours = {format_score(s) for s in corpus.scores}
    assert len(study) == 4749
    recall, precision = len(study & ours) / len(study), len(ours & study) / len(ours)
    assert recall >= 0.995 and precision >= 0.995, (recall, precision)
    info = corpus.info()
    assert info["pieces"] == 5365 and info["unreadable"] <= 5 and info["parse_rate"] >= 0.99
    # the only song of the study's that we do not produce is the one with a corrupt byte
    missing = study - ours
    assert len(missing) <= 1
    assert {e.id for e in corpus.errors()} >= {"erk/deut1328.krn"}
