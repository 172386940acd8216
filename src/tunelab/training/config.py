"""TrainConfig: everything a training run needs, saved in its config.json so it can resume."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from tunelab.errors import ConfigError

SCHEDULES = ("constant", "plateau", "noam", "cosine")
SELECT = ("loss", "study_nll", "study_accuracy")
PRECISIONS = ("fp32", "bf16")


@dataclass
class TrainConfig:
    """A training run.

    Attributes:
        corpus: corpus name (``deutschl``...) or path (a folder, a file, a split folder such as
            ../shared/data/study-split).
        out: the run directory (checkpoint, config.json, train_log.csv).
        encoding: tokenizer name (grid, remi, cp, nb).
        model: a family (lstm, transformer, ...) or a study preset (study-lstm, ...).
        size: ``tiny`` or ``small`` family preset, or None for ModelConfig defaults.
        model_options: ModelConfig fields to override (d_model, n_layers, dropout, ...).
        corpus_preset: corpus preparation preset (``study``) or None.
        mode: ``sequence`` (teacher forcing, every position predicts its next token) or
            ``window`` (the study's: a window of ``seq_len`` tokens predicts the one after it).
        seq_len: tokens per training sequence / window.
        gap: separator tokens after each song in the training stream (None: 64 for grid, as the
            study, 0 for encodings whose songs carry their own start and end tokens).
        batch_size: sequences per optimizer step, over all processes.
        epochs: passes over the training stream (upper bound with early stopping).
        steps_per_epoch: cap on optimizer steps per epoch (None: the whole stream).
        train_fraction: train on this share of the training songs (a subset drawn with
            ``seed``; the tokenizer still sees them all, so vocabularies agree across shares).
        max_minutes: stop cleanly after this much training time in all (a resumed run trains for
            what is left), with a usable checkpoint.
        max_tokens: stop cleanly after this many training input tokens (over all processes): a
            budget in work, so that a busy machine makes a run slower, not different.
        optimizer: ``adam`` or ``adamw``; lr, betas, weight_decay as in torch.optim.
        l2: Keras-style L2 penalties, ``{parameter-name glob: coefficient}``: coefficient x the
            sum of squares of every matching parameter is added to the loss. None: the model's
            own (the study presets: 0.01 on the first LSTM's input kernel); {} for none.
        schedule: ``constant``, ``plateau`` (ReduceLROnPlateau on validation loss), ``noam``
            (linear warm-up to lr at ``warmup`` steps, then lr * sqrt(warmup / step)) or
            ``cosine`` (linear warm-up over ``warmup`` steps, then cosine decay to ``min_lr``
            at the end of the budget: ``max_tokens``, else ``max_minutes`` of training time,
            else ``epochs``, whichever comes first).
        loss: ``ce`` or ``focal`` (gamma, alpha).
        patience: early stopping after this many epochs without a better selection metric
            (0: never); the best weights are the run's model.
        select: what picks the best weights, drives early stopping and the plateau schedule:
            ``loss`` (teacher-forced validation loss), or the study's window metric on the
            validation split, ``study_nll`` or ``study_accuracy`` (flat encodings with a
            separator: grid), estimated each epoch on one window in ``select_subsample``
            drawn at random (seeded), and computed on every window for the best weights at
            the end.
        loss_from: the first ``loss_from`` positions of each training sequence are read but not
            scored, so that the loss counts only targets with at least that much context (the
            study's test gives every target 64 tokens). Sequence mode.
        precision: ``fp32``, or ``bf16`` (forward passes under bfloat16 autocast, weights and
            optimizer in float32: 3-5x faster for the attention models on a CPU with AVX-512
            BF16 or AMX, and on recent GPUs).
        clip: gradient-norm clip (0: none).
        seed: seeds Python, NumPy and torch; the data order of epoch e depends on (seed, e).
        device: ``auto`` (CUDA if present, else CPU), ``cpu``, ``cuda``, ``cuda:1``...
        study_eval: also compute the study-compatible accuracy on the validation split.
        threads: torch CPU threads (None: torch's default).
        progress: show a progress bar.
    """

    corpus: str
    out: str
    encoding: str = "grid"
    model: str = "lstm"
    size: str | None = "small"
    model_options: dict = field(default_factory=dict)
    corpus_preset: str | None = None
    mode: str = "sequence"
    seq_len: int = 64
    gap: int | None = None
    batch_size: int = 64
    epochs: int = 20
    steps_per_epoch: int | None = None
    train_fraction: float = 1.0
    max_minutes: float | None = None
    max_tokens: int | None = None
    optimizer: str = "adam"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    l2: dict | None = None
    schedule: str = "constant"
    warmup: int = 4000
    plateau_factor: float = 0.2
    plateau_patience: int = 2
    min_lr: float = 1e-5
    loss: str = "ce"
    gamma: float = 2.0
    alpha: float = 1.0
    patience: int = 5
    select: str = "loss"
    select_subsample: int = 8
    loss_from: int = 0
    precision: str = "fp32"
    clip: float = 1.0
    seed: int = 0
    device: str = "auto"
    study_eval: bool = False
    threads: int | None = None
    progress: bool = True

    def __post_init__(self):
        self.betas = tuple(self.betas)
        problems = []
        choices = {
            "mode": ("sequence", "window"),
            "optimizer": ("adam", "adamw"),
            "schedule": SCHEDULES,
            "loss": ("ce", "focal"),
            "select": SELECT,
            "precision": PRECISIONS,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                problems.append(f"--{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
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
        if self.select_subsample < 1:
            problems.append(f"--select-subsample must be at least 1, got {self.select_subsample}")
        if not 0 <= self.loss_from < self.seq_len:
            problems.append(f"--loss-from must be in [0, --seq-len {self.seq_len}), got {self.loss_from}")
        if self.loss_from and self.mode == "window":
            problems.append("--loss-from is for --mode sequence (a window has one target)")
        if self.size not in (None, "tiny", "small"):
            problems.append(f"--preset must be tiny or small (or a study-* --model), got {self.size!r}")
        if problems:
            raise ConfigError("; ".join(problems))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
