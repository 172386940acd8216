"""Metrics: pure numpy functions of Scores and grid text (never torch).

``study17`` gives the 17 metrics of the LSTM / Transformer / Hybrid study, exactly as defined;
``evaluate(sets, reference=..., suites=...)`` runs the named suites (:mod:`tunelab.metrics.suites`)
over sets of melodies with statistics and closeness to a reference, and ``write`` saves the
report.

>>> report = tunelab.metrics.evaluate(["gen/"], reference="deutschl")   # doctest: +SKIP
"""

from tunelab.metrics.evaluation import Report, evaluate, load_set, write
from tunelab.metrics.study17 import NAMES as STUDY17_NAMES
from tunelab.metrics.study17 import study17, study17_many
from tunelab.metrics.suites import SUITES

__all__ = ["STUDY17_NAMES", "SUITES", "Report", "evaluate", "load_set", "study17", "study17_many", "write"]
