"""Every training recipe tunelab publishes, by name, each with the measurement that chose it.

A recipe is TrainConfig fields (model, sizes, optimizer, schedule, regularisation) and, for the
recipes that run in a time box, ``tokens_per_minute``: the training tokens one minute of that box
holds on the reference machine (2 CPU cores, nothing else running). A box of M minutes is then a
budget of M x tokens_per_minute tokens (``--max-tokens``), so a busy machine makes a run slower,
not different, and three seeds of one recipe see the same data.

- ``box-*``: the study's three models at its sizes for a 20-minute box (``tunelab study
  reproduce``); the shipped ``study-*`` models are these recipes trained for longer budgets
  (benchmarks/recipes.py, sweeps ``lstm-box-seeds`` and ``attention-converged``);
  ``small-*``: the demo's models, boxed in tokens as well.
- The causal forms (reference/study-setup.md): the LSTM's two 256-unit layers (a 48-wide
  embedding stands in for its one-hot input: 853,710 parameters against 846,637), the
  Transformer's 4 blocks of 8 heads 256 wide with feed-forward 1024 (10,544,686 against
  10,543,917, relative positions (ALiBi) so that generation can slide a KV cache) and the
  Hybrid's 3 such blocks (feed-forward 512) under two 256-unit LSTM layers (8,179,246 against
  8,176,941, no positions, as the study's). Unlike the study's they are causal: every position
  of a training sequence is a target, and generation carries state.

The measurements (validation split only; the test songs are never used to choose) are in
benchmarks/results/recipes-*.md (``python benchmarks/recipes.py --sweep NAME``) and
docs/results.md, "Converged".
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Recipe:
    """TrainConfig fields, the box's tokens a minute (None: no box), and why."""

    fields: dict
    tokens_per_minute: float | None = None
    why: str = ""
    tags: tuple = field(default_factory=tuple)

    def spec(self) -> dict:
        """What a study plan trains: the fields, and the box's rate for its budget in tokens."""
        out = dict(self.fields)
        if self.tokens_per_minute:
            out["tokens_per_minute"] = self.tokens_per_minute
        return out


# the study's grid: notes and rests only (its 45 symbols), whatever the corpus holds besides
_SEQ = {"size": None, "mode": "sequence", "seq_len": 64, "controls": "none"}
_LSTM = {
    **_SEQ,
    "model": "lstm",
    "model_options": {"d_model": 48, "hidden_size": 256, "n_layers": 2, "dropout": 0.0, "residual": False},
}
_WIDE = {"d_model": 256, "n_heads": 8, "head_dim": 256}
_TRANSFORMER = {
    **_SEQ,
    "model": "transformer",
    "model_options": {**_WIDE, "n_layers": 4, "d_ff": 1024, "positional": "relative"},
}
_HYBRID = {
    **_SEQ,
    "model": "hybrid",
    "model_options": {**_WIDE, "encoder_layers": 3, "d_ff": 512, "hidden_size": 256, "n_layers": 2, "positional": "none"},
}  # fmt: skip
# what every attention recipe shares: bfloat16 autocast (3-4.8x faster on this CPU, benchmarks in
# docs/results.md), AdamW with decoupled weight decay, warm-up and a cosine to the end of the box
_ATTENTION = {
    "precision": "bf16",
    "optimizer": "adamw",
    "weight_decay": 0.1,
    "schedule": "cosine",
    "warmup": 500,
    "min_lr": 1e-5,
    "batch_size": 32,
    "lr": 6e-4,
    "select": "study_nll",
    "select_subsample": 32,
}


def _with(base: dict, options: dict | None = None, **fields) -> dict:
    return {**base, **fields, "model_options": {**base["model_options"], **(options or {})}}


RECIPES: dict[str, Recipe] = {
    "box-lstm": Recipe(
        _with(_LSTM, {"dropout": 0.1}, batch_size=8, seq_len=128, loss_from=32, lr=2e-3, schedule="cosine",
              warmup=200, min_lr=1e-5, select="study_nll"),
        tokens_per_minute=2.0e6,
        why="benchmarks/results/recipes-lstm-box.md: at 12 M tokens, 4x the updates (batch 16 of 64 tokens "
        "rather than 64) with a cosine to the end of the box beat the old batch 64 and constant / plateau rate "
        "(validation window accuracy 0.8459 vs 0.8374), and 128-token sequences scored from position 32 on "
        "beat 64-token ones (0.8469); forget-gate bias 1 and lr 4e-3 did not help. recipes-lstm-40m.md: at "
        "the box's 40 M tokens dropout 0.1 reached 0.8571 (NLL 0.4742), dropout 0.2 0.8535 (0.4671). 40 M "
        "tokens are 18 minutes of training at the 37,000 tokens/s this recipe runs at on 2 free cores.",
        tags=("study-size", "box"),
    ),
    "box-transformer": Recipe(
        _with(_TRANSFORMER, {"dropout": 0.1}, **_ATTENTION),
        tokens_per_minute=0.26e6,
        why="bf16 and AdamW + cosine as the converged run (not swept at this size: one run is 20 minutes)",
        tags=("study-size", "box"),
    ),
    "box-hybrid": Recipe(
        _with(_HYBRID, {"dropout": 0.1}, **_ATTENTION),
        tokens_per_minute=0.25e6,
        why="as box-transformer",
        tags=("study-size", "box"),
    ),
    "small-lstm": Recipe(
        {**_SEQ, "model": "lstm", "size": "small", "lr": 3e-3, "schedule": "plateau", "batch_size": 64,
         "model_options": {"d_model": 160, "hidden_size": 160, "dropout": 0.0}},
        tokens_per_minute=1.2e6,  # 20,048 tokens/s on 2 free threads (benchmarks/results/threads.md)
        why="benchmarks/results/train_study.md: the best of the 20-minute benchmark (0.8372)",
        tags=("small",),
    ),
    "small-transformer": Recipe(
        {**_SEQ, "model": "transformer", "size": "small", "lr": 1e-3, "schedule": "plateau", "batch_size": 64,
         "model_options": {"d_model": 128, "n_layers": 3, "d_ff": 512, "dropout": 0.0}},
        tokens_per_minute=0.75e6,  # 12,445 tokens/s on 2 free threads (benchmarks/results/threads.md)
        why="benchmarks/results/train_study.md (0.8361)",
        tags=("small",),
    ),
    "small-hybrid": Recipe(
        {**_SEQ, "model": "hybrid", "size": "small", "lr": 2e-3, "schedule": "plateau", "batch_size": 64,
         "model_options": {"d_model": 128, "hidden_size": 160, "encoder_layers": 1, "d_ff": 512, "dropout": 0.0}},
        tokens_per_minute=0.77e6,  # 12,767 tokens/s on 2 free threads (benchmarks/results/threads.md)
        why="benchmarks/results/train_study.md (0.8363)",
        tags=("small",),
    ),
}  # fmt: skip


# the folk model: every built-in corpus in its notated keys, with its labels as controls, NB words
# (one a note: the shortest sequences), fill-in-the-middle for half the songs, two more keys for each
FOLK = {
    "corpus": "deutschl+oneills+ryans", "encoding": "nb", "controls": "key,meter,form,bars,type", "form": "played",
    "transpose_copies": 2, "infill": 0.5, "model": "lstm", "size": None, "mode": "sequence", "seq_len": 128,
    "gap": 0, "batch_size": 32, "lr": 2e-3, "optimizer": "adam", "schedule": "plateau", "plateau_factor": 0.2,
    "plateau_patience": 1, "min_lr": 1e-5, "patience": 3, "epochs": 60, "select": "loss",
    "model_options": {"d_model": 128, "hidden_size": 256, "n_layers": 2, "dropout": 0.1},
}  # fmt: skip
RECIPES["folk-lstm"] = Recipe(
    FOLK,
    why="benchmarks/results/folk.md: trained to its plateau beside the same recipe left to right only "
    "(--infill 0) and without controls (--controls none): what filling in and the controls cost or gain",
    tags=("folk",),
)

_WINDOW = {"size": None, "mode": "window", "seq_len": 64, "batch_size": 64, "lr": 1e-3, "controls": "none"}
_STUDY_TRAINING = (
    "reference/study-setup.md: Adam 1e-3, batch 64, ReduceLROnPlateau (the Transformer: Noam, 4,000 steps)"
)
RECIPES.update({
    "faithful-lstm": Recipe({**_WINDOW, "model": "study-lstm", "schedule": "plateau"}, why=_STUDY_TRAINING),
    "faithful-transformer": Recipe({**_WINDOW, "model": "study-transformer", "schedule": "noam"}, why=_STUDY_TRAINING),
    "faithful-hybrid": Recipe({**_WINDOW, "model": "study-hybrid", "schedule": "plateau"}, why=_STUDY_TRAINING),
})  # fmt: skip


def family_recipes(prefix: str) -> dict[str, dict]:
    """``{"lstm": fields, "transformer": ..., "hybrid": ...}`` of the recipes named PREFIX-*."""
    return {
        name.split("-", 1)[1]: recipe.spec()
        for name, recipe in RECIPES.items()
        if name.startswith(prefix + "-")
    }


STUDY_SIZE = family_recipes("box")  # tunelab study reproduce
SMALL = family_recipes("small")  # tunelab demo
