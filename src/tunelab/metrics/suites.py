"""The metric suites by name: what ``tunelab evaluate --suite`` and :func:`tunelab.metrics.evaluate`
compute. A per-melody suite is a function of one Score returning ``{metric name: value}``; a
set-level suite compares each set with the reference (closeness of distributions). Adding a
suite is a function and one line here.
"""

from __future__ import annotations

from tunelab.score import Score


def study17_of(score: Score) -> dict[str, float]:
    """The study's 17 metrics of one melody, on its 16th-note grid (ValueError if polyphonic)."""
    from tunelab.corpus.transforms import one_voice_problem, quantize
    from tunelab.io.gridtext import format_score
    from tunelab.metrics.study17 import NAMES, study17_many

    q = quantize(score, 4)
    problem = one_voice_problem(score, q)
    if problem:
        raise ValueError(f"the study's metrics need one voice: {problem}")
    return dict(zip(NAMES, study17_many([format_score(q)])[0].tolist()))


def structure_of(score: Score) -> dict[str, float]:
    """Self-similarity, coherence, syncopation and beat alignment (tunelab.metrics.structure)."""
    from tunelab.metrics.structure import structure

    return structure(score)


def novelty_suite(train: list[Score]):
    """Copy detection against ``train`` (tunelab.metrics.novelty): the index is built once, and
    the returned function measures one melody. The 0/1 columns (``Copying.flags``) average to
    the share of a set's melodies past each threshold."""
    from tunelab.metrics.novelty import TrainingIndex

    index = TrainingIndex(train)

    def novelty_of(score: Score) -> dict[str, float]:
        c = index.match(score)
        return {
            "longest_shared_run": float(c.longest_run),
            "longest_shared_quarters": c.longest_run_quarters,
            "similarity_to_nearest": c.similarity,
            "covered_by_shared_bars": c.covered,
            **{name: float(past) for name, past in c.flags().items()},
        }

    return novelty_of


PER_MELODY = {"study17": study17_of, "structure": structure_of}
WITH_TRAIN = {"novelty": novelty_suite}  # per melody, built from the training songs (--train)
SET_LEVEL = ("distribution",)  # each set against the reference (tunelab.metrics.distribution)
SUITES = (*PER_MELODY, *WITH_TRAIN, *SET_LEVEL)
DEFAULT = (*PER_MELODY, *SET_LEVEL)  # and WITH_TRAIN's when training songs are given
