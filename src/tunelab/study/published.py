"""The study's published numbers (reference/study-metrics.md, reference/study-setup.md), so
that tunelab's own runs can be set beside them."""

from __future__ import annotations

from tunelab.metrics.study17 import NAMES

MODELS = ("lstm", "transformer", "hybrid")
CHALLENGER = "hybrid"  # the study's proposal, tested against the other two (its "baselines")

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

# The study's per-epoch validation curves (its model/training_history.json per branch): Keras
# val_accuracy and val_loss (nats) over every 64-token window of val.txt, the protocol of its
# test figure. One epoch = every window of the 997,130-token train stream once (997,066 targets);
# batch 64 (the Transformer: 32), so 15,580 (31,159) updates an epoch.
HISTORY = {
    "lstm": {
        "val_accuracy": (0.8235, 0.8310, 0.8337, 0.8350, 0.8399, 0.8420, 0.8440, 0.8403, 0.8448, 0.8464,
                         0.8460, 0.8458, 0.8501, 0.8511, 0.8507, 0.8524, 0.8515, 0.8522, 0.8525, 0.8525, 0.8526),
        "val_loss": (0.5646, 0.5437, 0.5357, 0.5303, 0.5184, 0.5072, 0.5022, 0.5164, 0.4987, 0.4940,
                     0.4983, 0.5029, 0.4843, 0.4811, 0.4815, 0.4778, 0.4783, 0.4797, 0.4790, 0.4785, 0.4787),
        "batch": 64,
        "hours": 18.4,
    },
    "transformer": {
        "val_accuracy": (0.8236, 0.8279, 0.8352, 0.8354, 0.8386, 0.8417, 0.8405, 0.8419, 0.8446, 0.8485,
                         0.8470, 0.8492, 0.8481, 0.8482, 0.8491, 0.8499, 0.8504, 0.8499),
        "val_loss": (0.5657, 0.5505, 0.5282, 0.5216, 0.5144, 0.5049, 0.5064, 0.5045, 0.4987, 0.4911,
                     0.4919, 0.4925, 0.4870, 0.4876, 0.4927, 0.4898, 0.4893, 0.4881),
        "batch": 32,
        "hours": 2.8,
    },
    "hybrid": {
        "val_accuracy": (0.7782, 0.7795, 0.5104, 0.5104, 0.5104, 0.0000, 0.5104),
        "val_loss": (0.9837, 0.9254, 2.5658, 1.8486, 2.0013, 45.5259, 1.8739),
        "batch": 64,
        "hours": 29.1,
    },
}  # fmt: skip
TARGETS_PER_EPOCH = 997_066
