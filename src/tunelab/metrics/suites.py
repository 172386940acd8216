"""The metric suites by name: what ``tunelab evaluate --suite`` and :func:`tunelab.metrics.evaluate`
compute. A per-melody suite is a function of one Score returning ``{metric name: value}``; a
set-level suite compares each set with the reference (closeness of distributions). Adding a
suite is a function and one line here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

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


class TrainSuite(ABC):
    """A per-melody suite measured against the training songs (``WITH_TRAIN``): built once from
    them, then called on each melody like a ``PER_MELODY`` suite. Its values are numbers
    (metrics) or strings (labels, such as a song's id: per_item.csv only); :meth:`examples`
    gives what report.html draws for one set."""

    def __init__(self, train: list[Score], ids: list[str]):
        self.train, self.ids = train, ids

    @abstractmethod
    def __call__(self, score: Score) -> dict[str, float | str]:
        """The suite's values for one melody."""

    def examples(self, items: list[tuple[str, Score]]) -> list:
        return []


class Novelty(TrainSuite):
    """Copy detection (tunelab.metrics.novelty): the index is built once. The 0/1 columns
    (``Copying.flags``) average to the share of a set's melodies past each threshold."""

    SHOWN = 3  # the worst copies of each set drawn in the report

    def __init__(self, train: list[Score], ids: list[str]):
        from tunelab.metrics.novelty import TrainingIndex

        super().__init__(train, ids)
        self.index = TrainingIndex(train)

    def __call__(self, score: Score) -> dict[str, float | str]:
        c = self.index.match(score)
        return {
            "longest_shared_run": float(c.longest_run),
            "longest_shared_quarters": c.longest_run_quarters,
            "similarity_to_nearest": c.similarity,
            "covered_by_shared_bars": c.covered,
            **{name: float(past) for name, past in c.flags().items()},
            "nearest_training_song": self.ids[c.nearest] if c.nearest is not None else "",
        }

    def examples(self, items: list[tuple[str, Score]]) -> list:
        """The melodies with the longest shared runs (in quarters; a bar at least), each beside
        the training song it shares that run with."""
        from tunelab.metrics.novelty import BAR_QUARTERS, CopyExample, find_run

        matched = [(self.index.match(score), ident, score) for ident, score in items]
        matched.sort(key=lambda m: (-m[0].longest_run_quarters, -m[0].similarity))
        out = []
        for copy, ident, score in matched[: self.SHOWN]:
            if copy.nearest is None or copy.longest_run_quarters < BAR_QUARTERS:
                break
            song = self.train[copy.nearest]
            out.append(
                CopyExample(ident, score, self.ids[copy.nearest], song, copy, find_run(score, copy, song))
            )
        return out


PER_MELODY = {"study17": study17_of, "structure": structure_of}
WITH_TRAIN: dict[str, type[TrainSuite]] = {
    "novelty": Novelty
}  # per melody, against the training songs (--train)
# each set against the reference: closeness of distributions (tunelab.metrics.distribution), and
# a classifier two-sample test (tunelab.metrics.discriminator; not in DEFAULT: a minute or more)
SET_LEVEL = ("distribution", "discriminator")
SUITES = (*PER_MELODY, *WITH_TRAIN, *SET_LEVEL)
DEFAULT = (*PER_MELODY, "distribution")  # and WITH_TRAIN's when training songs are given
