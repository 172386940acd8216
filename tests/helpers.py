"""Small things several test packages build on."""

from __future__ import annotations


def song(rng) -> str:
    """A little 4/4 tune in grid text: quarter and eighth notes on a scale, ending on a long note."""
    tokens = []
    for _ in range(int(rng.integers(6, 14))):
        tokens += [str(int(rng.choice([60, 62, 64, 65, 67, 69])))] + ["_"] * int(rng.choice([1, 3]))
    return " ".join(tokens + ["60", "_", "_", "_", "_", "_", "_", "_"])


def split_folder(root, rng, sizes=(("train", 30), ("val", 4), ("test", 6))):
    """A corpus folder of grid-text splits (train.txt, val.txt, test.txt) of :func:`song` tunes."""
    for name, n in sizes:
        (root / f"{name}.txt").write_text("\n".join(song(rng) for _ in range(n)) + "\n")
    return root
