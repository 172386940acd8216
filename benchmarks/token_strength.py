"""Admin-token strength (issue 33): the old estimate (length x the Shannon entropy of the token's
own characters) against zxcvbn's guesses (Dropbox's estimator, Python port), on the tokens a
determined client got past the old one, a few weak classics, and random tokens of the lengths
``secrets.token_urlsafe`` makes. Both in bits; tunelab serve refuses under 64 (zxcvbn).

    python benchmarks/token_strength.py     # writes benchmarks/results/token_strength.md
"""

from __future__ import annotations

import math
import secrets
import sys
import time
from collections import Counter
from pathlib import Path

from zxcvbn import zxcvbn

HERE = Path(__file__).resolve().parent
TOKENS = ["abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm", "passwordpasswordpassword12345678",
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "password123", "correcthorsebatterystaple",
          "Kx3v9QmT2pLw8RzN4bYc7HdF"]  # fmt: skip


def shannon_bits(token: str) -> float:
    counts = Counter(token)
    return len(token) * -sum(c / len(token) * math.log2(c / len(token)) for c in counts.values())


def main() -> int:
    rng_tokens = [(f"random token_urlsafe({n})", secrets.token_urlsafe(n)) for n in (12, 16, 24, 32)]
    rows = [
        "| token | characters | old estimate (bits) | zxcvbn (bits) | zxcvbn ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, token in [(t, t) for t in TOKENS] + rng_tokens:
        t0 = time.perf_counter()
        z = zxcvbn(token)["guesses_log10"] * math.log2(10)
        ms = (time.perf_counter() - t0) * 1000
        rows.append(f"| `{label}` | {len(token)} | {shannon_bits(token):.0f} | {z:.0f} | {ms:.1f} |")
    text = ("# Admin-token strength (benchmarks/token_strength.py)\n\nThe old estimate passed anything of 96 "
            "bits of character entropy, the alphabet and a keyboard row included; zxcvbn knows sequences, "
            "keyboard rows, repeats and words. tunelab serve now refuses a token under 64 zxcvbn bits.\n\n"
            + "\n".join(rows) + "\n")  # fmt: skip
    (HERE / "results" / "token_strength.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
