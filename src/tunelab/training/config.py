"""TrainConfig: everything a training run needs, saved in its config.json so it can resume.

Every field is declared once, with its default, help and choices (:func:`tunelab.settings.setting`);
``tunelab train`` builds its flags from them (:mod:`tunelab.cli.flags`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from tunelab.errors import ConfigError
from tunelab.settings import setting
from tunelab.threads import HELP as THREADS_HELP

MODES = ("sequence", "window")
OPTIMIZERS = ("adam", "adamw")
SCHEDULES = ("constant", "plateau", "noam", "cosine")
LOSSES = ("ce", "focal")
SELECT = ("loss", "study_nll", "study_accuracy")
PRECISIONS = ("fp32", "bf16")
SIZES = ("tiny", "small")


def _encodings() -> tuple:
    from tunelab.tokenizers import NAMES

    return NAMES


def _models() -> tuple:
    from tunelab.models.registry import FAMILIES  # the study's models among them

    return tuple(FAMILIES)


@dataclass
class TrainConfig:
    """A training run. Each field's help says what it is; ``tunelab train --help`` shows them all."""

    corpus: str = setting(
        help="corpus name (deutschl, bach-chorales) or path (a folder, a file, a split folder)"
    )
    out: str = setting(help="the run directory (checkpoints, config.json, train_log.csv)")
    encoding: str = setting("grid", "tokenizer", choices=_encodings)
    controls: str = setting("key,meter,form,bars,type", "what the encoding carries besides the notes, comma-separated: key "
                            "(keys and modes as written), meter (grid; the others always carry it), form (the "
                            "written form's repeat marks, endings and parts), bars (how many), type (the tune "
                            "type an ABC R: field names), or none", flag="controls")  # fmt: skip
    steps_per_quarter: int | None = setting(None, "the encoding's grid in steps a quarter (default: the coarsest "
                                            "multiple of 4 that holds 99 in 100 training songs exactly, at most "
                                            "24, 12 for grid: 12 for a corpus with triplets)")  # fmt: skip
    model: str = setting("lstm", "a model family, or the study's window models study-lstm / -transformer / -hybrid",
                         choices=_models)  # fmt: skip
    size: str | None = setting("small", "the family's size preset (none: ModelConfig's defaults and flags)",
                               choices=(*SIZES, "none"))  # fmt: skip
    model_options: dict = setting(factory=dict, cli=False, help="ModelConfig fields (d_model, n_layers...)")
    corpus_preset: str | None = setting(None, "corpus preparation recipe (study: the study's)", flag="prep",
                                        choices=("study",), aliases=("corpus-preset",))  # fmt: skip
    transpose_copies: int = setting(0, "transposition augmentation: each training song also in this many other "
                                    "keys (random intervals of 1-6 semitones, the key control moving with the "
                                    "notes; validation and test songs stay as written)")  # fmt: skip
    split_file: str | None = setting(None, "a file of `id split` lines that fixes each song's split (train, val, "
                                     "test; songs it does not name are left out): folds, the study's split")  # fmt: skip
    init_from: str | None = setting(None, "start from this run's (or shipped model's) best weights and tokenizer "
                                    "and fine-tune: its family and sizes, the songs encoded as it encodes them")  # fmt: skip
    infill: float = setting(0.0, "share of training songs rearranged to fill in the middle (prefix, suffix, "
                            "then the middle: tunelab.tokenizers.infill), so the model can rewrite bars between "
                            "others; 0: left to right only")  # fmt: skip
    form: str | None = setting(None, "train on the songs as played (repeats taken, endings chosen, parts in order; "
                               "the default) or as written (the notes once, the form's marks as control items)",
                               choices=("played", "written"))  # fmt: skip
    mode: str = setting("sequence", "sequence: every position predicts the next token (teacher forcing); "
                        "window: a window predicts the token after it (the study's; study-* models)", choices=MODES)  # fmt: skip
    seq_len: int = setting(64, "tokens per training sequence / window")
    gap: int | None = setting(None, "separator tokens after each song in the stream (default: 64 for grid, as "
                              "the study; 0 for encodings whose songs carry their own ends)")  # fmt: skip
    batch_size: int = setting(64, "sequences per optimizer step, over all processes")
    epochs: int = setting(20, "passes over the training stream (an upper bound with early stopping; 1000 when "
                          "a --max-minutes or --max-tokens budget is given and this is not)")  # fmt: skip
    steps_per_epoch: int | None = setting(None, "cap on optimizer steps per epoch")
    train_fraction: float = setting(1.0, "train on this share of the training songs (drawn with --seed)")
    max_minutes: float | None = setting(None, "stop cleanly after this much training time in all (a resumed "
                                        "run trains for what is left)")  # fmt: skip
    max_tokens: int | None = setting(None, "stop cleanly after this many training input tokens, over all "
                                     "processes: a budget in work, so a busy machine is slower, not different")  # fmt: skip
    optimizer: str = setting("adam", "Adam, or AdamW (decoupled weight decay)", choices=OPTIMIZERS)
    lr: float = setting(1e-3, "learning rate (the peak, with a warm-up)")
    betas: tuple = setting(factory=lambda: (0.9, 0.999), cli=False, help="Adam's betas")
    weight_decay: float = setting(0.0, "the optimizer's weight decay")
    l2: dict | None = setting(None, "Keras-style L2 {parameter glob: coefficient} added to the loss (None: "
                              "the model's own, the study presets' 0.01 on the first LSTM kernel; {}: none)",
                              cli=False)  # fmt: skip
    schedule: str = setting("constant", "constant; plateau (ReduceLROnPlateau on the selection metric); noam "
                            "(warm-up, then 1/sqrt(step)); cosine (warm-up, then to --min-lr at the end of the "
                            "budget: --max-tokens, --max-minutes or --epochs, whichever comes first)",
                            choices=SCHEDULES)  # fmt: skip
    warmup: int = setting(4000, "warm-up steps (noam, cosine)")
    plateau_factor: float = setting(0.2, "plateau: the rate is multiplied by this")
    plateau_patience: int = setting(2, "plateau: epochs without improvement before a cut")
    min_lr: float = setting(1e-5, "the floor of the plateau and cosine schedules")
    loss: str = setting("ce", "cross-entropy or focal loss", choices=LOSSES)
    gamma: float = setting(2.0, "focal loss: the focusing parameter")
    alpha: float = setting(1.0, "focal loss: the weight of every term")
    patience: int = setting(5, "early stopping after this many epochs without a better selection (0: never)")
    select: str = setting("loss", "what picks the best weights (and drives early stopping and plateau): the "
                          "validation loss, or the study's window NLL or accuracy on the validation split "
                          "(grid), estimated on a seeded share of the windows each epoch, exact at the end",
                          choices=SELECT)  # fmt: skip
    select_subsample: int = setting(8, "the window metric on one validation window in k each epoch")
    loss_from: int = setting(0, "the first positions of each sequence are read but not scored: the loss "
                             "counts only targets with at least this much context")  # fmt: skip
    precision: str = setting("fp32", "bf16: forward passes under bfloat16 autocast (weights and optimizer in "
                             "float32), 3-5x faster for attention models on AVX-512 BF16 CPUs", choices=PRECISIONS)  # fmt: skip
    clip: float = setting(1.0, "gradient-norm clip (0: none)")
    seed: int = setting(0, "seeds Python, NumPy and torch; an epoch's data order depends on (seed, epoch)")
    device: str = setting("auto", "auto (a GPU if there is one), cpu, cuda, cuda:1...")
    study_eval: bool = setting(False, "also the study's window metric on validation each epoch")
    eval_every: int = setting(0, "also every N updates: loss and accuracy on a fixed sample of validation "
                              "chunks, to curve.csv (learning curves of short runs; 0: per epoch only)")  # fmt: skip
    threads: int | None = setting(None, THREADS_HELP)
    progress: bool = setting(True, "a progress bar", cli=False)

    def __post_init__(self):
        self.betas = tuple(self.betas)
        if self.size == "none":
            self.size = None
        problems = []
        for f in fields(self):
            allowed = f.metadata.get("choices")
            allowed = allowed() if callable(allowed) else allowed
            value = getattr(self, f.name)
            if allowed and value is not None and value not in allowed:
                flag = f.metadata.get("flag") or f.name.replace("_", "-")
                problems.append(f"--{flag} must be one of {', '.join(allowed)}, got {value!r}")
        if not 0 < self.train_fraction <= 1:
            problems.append(f"--train-fraction must be in (0, 1], got {self.train_fraction}")
        for name in ("seq_len", "batch_size", "epochs"):
            if getattr(self, name) <= 0:
                problems.append(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if self.lr <= 0:
            problems.append(f"--lr must be positive, got {self.lr}")
        if self.max_minutes is not None and self.max_minutes <= 0:
            problems.append(f"--max-minutes must be positive, got {self.max_minutes}")
        if self.max_tokens is not None and self.max_tokens <= 0:
            problems.append(f"--max-tokens must be positive, got {self.max_tokens}")
        if not 0 <= self.infill < 1:
            problems.append(f"--infill is a share of the songs, 0 to below 1, got {self.infill}")
        if not 0 <= self.transpose_copies <= 12:
            problems.append(f"--transpose-copies must be 0 to 12, got {self.transpose_copies}")
        if self.eval_every < 0:
            problems.append(f"--eval-every must be 0 or more, got {self.eval_every}")
        try:
            from tunelab.tokenizers.controls import parse_kinds

            parse_kinds(self.controls)
        except ValueError as err:
            problems.append(f"--controls: {err}")
        if self.steps_per_quarter is not None and not 1 <= self.steps_per_quarter <= 480:
            problems.append(f"--steps-per-quarter must be in 1..480, got {self.steps_per_quarter}")
        if self.select_subsample < 1:
            problems.append(f"--select-subsample must be at least 1, got {self.select_subsample}")
        if not 0 <= self.loss_from < self.seq_len:
            problems.append(f"--loss-from must be in [0, --seq-len {self.seq_len}), got {self.loss_from}")
        if self.loss_from and self.mode == "window":
            problems.append("--loss-from is for --mode sequence (a window has one target)")
        if problems:
            raise ConfigError("; ".join(problems))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
