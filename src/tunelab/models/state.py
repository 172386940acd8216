"""Generation state helpers shared by the families: picking batch rows out of a state.

Each family's ``select_state(state, index)`` says where its batch dimension is (recurrent
states are (layers, B, C), caches (B, ...)); :func:`rows` does the picking.
"""

from __future__ import annotations

import torch


def last_keys(caches: list, keep: int) -> list:
    """Softmax caches ``(*buffers, length)`` cut to their last ``keep`` steps (views: the next
    step still writes in place)."""
    out = []
    for *bufs, n in caches:
        a = max(0, n - keep)
        out.append((*(b[:, :, a:] for b in bufs), n - a))
    return out


def rows(x, index: torch.Tensor, dim: int = 0):
    """``x`` (a tensor or nested tuples / lists of them) restricted to the batch rows ``index``."""
    if x is None or isinstance(x, int):
        return x
    if isinstance(x, (tuple, list)):
        return type(x)(rows(t, index, dim) for t in x)
    return x.index_select(dim, index)
