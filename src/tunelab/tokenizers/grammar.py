"""The grammar contract every encoding's state machine keeps (:mod:`tunelab.tokenizers.base`)."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Grammar(ABC):
    """Which ids may come next, given the ids so far (one instance per sequence)."""

    @abstractmethod
    def allowed(self, field: int | None = None, chosen: tuple = ()) -> np.ndarray:
        """Boolean mask over the vocabulary (flat), or over field ``field`` given the fields
        ``chosen`` before it in the current word (compound)."""

    @abstractmethod
    def feed(self, token) -> bool:
        """Advance by one id (flat) or word (compound); False, state unchanged, if forbidden."""

    @abstractmethod
    def result(self):
        """What the accepted ids describe (a MetricScore or a Score)."""
