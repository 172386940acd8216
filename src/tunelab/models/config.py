"""Model configuration: one dataclass for every family; problems are collected and raised once."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from tunelab.errors import ConfigError
from tunelab.models.registry import FAMILIES
from tunelab.settings import setting

POSITIONAL = ("sinusoidal", "learned", "relative", "none")
CELLS = ("lstm", "gru")
ATTENTION = ("dot", "additive")
EMBEDDING = ("learned", "onehot")


@dataclass
class ModelConfig:
    """Hyperparameters shared by the families (names as PyTorch's where a layer exists). Each
    field's help says what it is; ``tunelab train --help`` shows the ones a command sets."""

    family: str = setting("lstm", "a registered family (tunelab.models.registry)", cli=False)
    vocab_size: int = setting(64, "flat vocabulary size (ids 0 .. vocab_size - 1; 0 is padding)", cli=False)
    d_model: int = setting(256, "embedding / model width")
    hidden_size: int = setting(256, "recurrent state width (RNN families)")
    n_layers: int = setting(2, "recurrent layers or Transformer blocks")
    n_heads: int = setting(8, "attention heads")
    head_dim: int | None = setting(None, "width of each head (None: d_model / n_heads; the study's heads are "
                                   "as wide as the model, 256)")  # fmt: skip
    d_ff: int = setting(1024, "feed-forward width inside a Transformer block")
    dropout: float = setting(0.1, "dropout between layers / inside blocks")
    residual: bool = setting(False, "add each recurrent layer's input to its output (RNN families; "
                             "d_model == hidden_size)")  # fmt: skip
    positional: str = setting("sinusoidal", "positions: sinusoidal (the study's formula), learned, relative "
                              "(ALiBi distance biases) or none", choices=POSITIONAL)  # fmt: skip
    max_len: int = setting(4096, "longest sequence for learned positions")
    cell: str = setting("lstm", "the recurrent cell of attention-rnn and hybrid", choices=CELLS)
    attention: str = setting("dot", "attention-rnn's score: scaled dot product or additive (Bahdanau)",
                             choices=ATTENTION)  # fmt: skip
    attn_window: int = setting(16, "how many recent outputs attention-rnn attends over (its own included)")
    encoder_layers: int = setting(2, "hybrid's Transformer blocks before its recurrent layers")
    field_sizes: list[int] | None = setting(
        None, "per-field vocabulary sizes of a compound encoding", cli=False
    )
    first_field: int = setting(0, "the compound field predicted first, the others conditioned on it (nb "
                               "pitch-first: 3)")  # fmt: skip
    embedding: str = setting("learned", "learned, or onehot (transformer, hybrid: one-hot ids straight into "
                             "the blocks, d_model = vocab_size; the study's 'no embedding' ablation)",
                             choices=EMBEDDING)  # fmt: skip
    forget_bias: float = setting(0.0, "initial LSTM forget-gate bias (PyTorch: 0; Keras and the study: 1, "
                                 "Jozefowicz et al. 2015)")  # fmt: skip

    def __post_init__(self):
        problems = []
        if self.family not in FAMILIES:
            problems.append(f"--model: unknown family {self.family!r}; choose from {', '.join(FAMILIES)}")
        for name in ("vocab_size", "d_model", "hidden_size", "n_layers", "n_heads", "d_ff", "max_len"):
            if getattr(self, name) <= 0:
                problems.append(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            problems.append(f"--dropout must be in [0, 1), got {self.dropout}")
        if self.head_dim is not None and self.head_dim <= 0:
            problems.append(f"--head-dim must be positive, got {self.head_dim}")
        for name, allowed in (("positional", POSITIONAL), ("cell", CELLS), ("attention", ATTENTION),
                              ("embedding", EMBEDDING)):  # fmt: skip
            if getattr(self, name) not in allowed:
                problems.append(f"--{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.attn_window <= 0 or self.encoder_layers <= 0:
            problems.append("--attn-window and --encoder-layers must be positive")
        if self.field_sizes is not None and not 0 <= self.first_field < len(self.field_sizes):
            problems.append(f"--first-field must name one of the {len(self.field_sizes)} fields")
        if not problems:  # the family's own rules (its class declares them)
            problems += self.family_class().check(self)
        if problems:
            raise ConfigError("; ".join(problems))

    def family_class(self):
        """The model class of this config's family (:mod:`tunelab.models.registry`)."""
        from tunelab.models.registry import family_class

        return family_class(self.family)

    @classmethod
    def tiny(cls, family: str, vocab_size) -> ModelConfig:
        """A model small enough for tests and smoke runs (a few thousand parameters)."""
        return cls._sized(
            family, vocab_size, width=32, preset="tiny", d_ff=64, dropout=0.0, attn_window=4, encoder_layers=1
        )

    @classmethod
    def small(cls, family: str, vocab_size) -> ModelConfig:
        """A laptop-sized model: 0.17 M (rnn) to 1.3 M (hybrid) parameters at 45 tokens."""
        return cls._sized(
            family,
            vocab_size,
            width=192,
            preset="small",
            d_ff=512,
            dropout=0.1,
            attn_window=16,
            encoder_layers=2,
        )

    @classmethod
    def _sized(cls, family: str, vocab_size, *, width: int, preset: str, **sizes) -> ModelConfig:
        from tunelab.models.registry import family_class

        return cls(
            family=family,
            **vocab_fields(vocab_size),
            d_model=width,
            hidden_size=width,
            n_layers=2,
            n_heads=4,
            **{**sizes, **family_class(family).preset_options(preset)},
        )

    @property
    def head_width(self) -> int:
        return self.head_dim or self.d_model // self.n_heads

    def to_dict(self) -> dict:
        return asdict(self)


def vocab_fields(vocab_size) -> dict:
    """ModelConfig fields for a tokenizer's ``vocab_size``: an int (flat) or a list (compound)."""
    if isinstance(vocab_size, (list, tuple)):
        return {"vocab_size": int(vocab_size[0]), "field_sizes": [int(v) for v in vocab_size]}
    return {"vocab_size": int(vocab_size)}
