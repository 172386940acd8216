"""The study's published numbers (reference/study-metrics.md, reference/study-setup.md), so
that tunelab's own runs can be set beside them."""

from __future__ import annotations

from tunelab.metrics.study17 import NAMES

MODELS = ("lstm", "transformer", "hybrid")

# means over 1,000 melodies per model, in study17.NAMES order
_STUDY17 = {
    "lstm": (3.5653, 4.2447, 0.1249, 1.0840, 0.0700, 1.6931, 1.7764, 0.5765, 1.5391,
             0.4449, 0.8274, 2.5280, 1.3269, 0.7648, 0.5244, 23.61, 4.295),
    "transformer": (3.6332, 4.3260, 0.1022, 1.1394, 0.0925, 1.6892, 1.8957, 0.6474, 1.6469,
                    0.4351, 0.7652, 2.4306, 1.2013, 0.7414, 0.5081, 24.16, 3.577),
    "hybrid": (7.1112, 5.2133, 0.2513, 0.9168, 0.0639, 3.9375, 1.4494, 0.7764, 1.2726,
               0.3801, 1.0470, 2.6973, 1.9439, 0.8608, 0.9009, 45.51, 6.414),
}  # fmt: skip
STUDY17 = {model: dict(zip(NAMES, values, strict=True)) for model, values in _STUDY17.items()}

# next-token accuracy over every 64-token window of the test stream
TEST_ACCURACY = {"lstm": 0.8536, "transformer": 0.8482, "hybrid": 0.7756}
# training time and hardware as published
TRAINING = {
    "lstm": "18.4 h on a CPU",
    "transformer": "2.8 h on an RTX 4000 Ada GPU",
    "hybrid": "29.1 h on a CPU",
}
# melody length in tokens: mean, median, melodies that reached the 1,500-step cap
LENGTHS = {"lstm": (223, 150, 3), "transformer": (184, 132, 1), "hybrid": (422, 244, 39)}
# the human evaluation's overall score (10-point scale, 21 listeners)
LISTENING_OVERALL = {"lstm": 6.83, "transformer": 6.94, "hybrid": 7.17}
