"""Training: losses, data streams, the loop, checkpoints, scoring and distributed training."""

from tunelab.training.config import TrainConfig
from tunelab.training.losses import masked_accuracy, token_loss, token_nll


def train(config, *, resume: bool = False, on_step=None, **changes):
    """Train a model as ``config`` (a TrainConfig or a dict) says; returns the run directory.
    ``resume=True`` continues the run in ``config.out`` (see :func:`tunelab.training.loop.train`)."""
    from tunelab.training.loop import train as _train

    return _train(config, resume=resume, on_step=on_step, **changes)


__all__ = ["TrainConfig", "masked_accuracy", "token_loss", "token_nll", "train"]
