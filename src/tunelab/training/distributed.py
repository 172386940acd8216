"""Devices and processes: one process on CPU or GPU, or many under ``torchrun`` (DDP).

``torchrun --nproc_per_node=N -m tunelab train ...`` starts N processes with RANK, WORLD_SIZE
and LOCAL_RANK set; each joins the process group (gloo on CPU, nccl on CUDA), trains on its
share of every global batch, and DistributedDataParallel averages the gradients. Only rank 0
writes checkpoints, logs and progress.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from tunelab.errors import ConfigError


@dataclass
class Context:
    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0

    def all_sum(self, value: torch.Tensor) -> torch.Tensor:
        """The sum of ``value`` over all processes (itself when alone)."""
        if self.world > 1:
            value = value.clone()
            dist.all_reduce(value)
        return value

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()


def choose_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """``auto``: the process's CUDA device when there is one, else the CPU."""
    if name == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"--device: {name!r} is not a device (auto, cpu, cuda, cuda:1, ...)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: this machine has no CUDA device; use --device cpu or auto")
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{local_rank}")
    return device


def setup(device: str = "auto") -> Context:
    """Join the process group when started by torchrun; pick this process's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    dev = choose_device(device, int(os.environ.get("LOCAL_RANK", "0")))
    if world > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Context(rank, world, dev)


def teardown(ctx: Context, together: bool = True) -> None:
    """Leave the process group; ``together`` (the run ended well everywhere): first wait for every
    process, so that none closes its connections while another still uses them (gloo aborts the
    other with SIGABRT: seen under load, rank 1 of 2, after both had trained)."""
    if ctx.world > 1 and dist.is_initialized():
        if together:
            dist.barrier()
        dist.destroy_process_group()


def wrap(model: torch.nn.Module, ctx: Context) -> torch.nn.Module:
    """The model as DistributedDataParallel when there are several processes."""
    if ctx.world == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)
