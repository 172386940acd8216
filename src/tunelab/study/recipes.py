"""The models ``tunelab demo`` and ``tunelab study reproduce`` train: TrainConfig fields by name.

``STUDY_SIZE``: causal forms of the study's three models at its sizes (reference/study-setup.md):
the LSTM's two 256-unit layers (a 48-wide embedding stands in for its one-hot input: 853,710
parameters against 846,637), the Transformer's 4 blocks of 8 heads 256 wide with feed-forward
1024 (10,544,686 against 10,543,917) and the Hybrid's 3 such blocks (feed-forward 512) under two
256-unit LSTM layers (8,179,246 against 8,176,941). Unlike the study's, they are causal, so
every position of a training sequence is a target and generation carries state. The
Transformer uses relative positions (ALiBi) where the study used sinusoidal ones: they let
generation slide its 64-step window over a KV cache; the Hybrid has none, as the study's.
Dropout is 0 and the rate is cut on plateaus: in a time box of minutes the models see few
epochs, and the best recipes of the 20-minute benchmark (benchmarks/results/train_study.md)
used no dropout; dropout was not compared in this box.

``SMALL``: the small models of the 20-minute benchmark, for the demo's minutes.
"""

from __future__ import annotations

_COMMON = {"size": None, "schedule": "plateau", "mode": "sequence", "seq_len": 64, "batch_size": 64}
_WIDE = {"d_model": 256, "n_heads": 8, "head_dim": 256, "dropout": 0.0}

STUDY_SIZE = {
    "lstm": {
        **_COMMON,
        "model": "lstm",
        "lr": 1e-3,
        "model_options": {
            "d_model": 48,
            "hidden_size": 256,
            "n_layers": 2,
            "dropout": 0.0,
            "residual": False,
        },
    },
    "transformer": {
        **_COMMON,
        "model": "transformer",
        "lr": 5e-4,
        "model_options": {**_WIDE, "n_layers": 4, "d_ff": 1024, "positional": "relative"},
    },
    "hybrid": {
        **_COMMON,
        "model": "hybrid",
        "lr": 5e-4,
        "model_options": {
            **_WIDE,
            "encoder_layers": 3,
            "d_ff": 512,
            "hidden_size": 256,
            "n_layers": 2,
            "positional": "none",
        },
    },
}

SMALL = {
    "lstm": {
        **_COMMON,
        "model": "lstm",
        "size": "small",
        "lr": 3e-3,
        "model_options": {"d_model": 160, "hidden_size": 160, "dropout": 0.0},
    },
    "transformer": {
        **_COMMON,
        "model": "transformer",
        "size": "small",
        "lr": 1e-3,
        "model_options": {"d_model": 128, "n_layers": 3, "d_ff": 512, "dropout": 0.0},
    },
    "hybrid": {
        **_COMMON,
        "model": "hybrid",
        "size": "small",
        "lr": 2e-3,
        "model_options": {
            "d_model": 128,
            "hidden_size": 160,
            "encoder_layers": 1,
            "d_ff": 512,
            "dropout": 0.0,
        },
    },
}
