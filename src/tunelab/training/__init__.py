"""Training: losses, accuracy, and (next) the loop, checkpoints and distributed training."""

from tunelab.training.losses import masked_accuracy, token_loss

__all__ = ["masked_accuracy", "token_loss"]
