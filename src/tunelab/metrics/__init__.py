"""Metrics: pure numpy functions of Scores and grid text (never torch).

``study17`` gives the 17 metrics of the LSTM / Transformer / Hybrid study, exactly as defined.
"""

from tunelab.metrics.study17 import NAMES as STUDY17_NAMES
from tunelab.metrics.study17 import study17, study17_many

__all__ = ["STUDY17_NAMES", "study17", "study17_many"]
