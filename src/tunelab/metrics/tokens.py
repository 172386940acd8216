"""The syntax error rate of raw generated ids, judged by the tokenizer's own grammar."""

from __future__ import annotations


def syntax_error_rate(tokenizer, sequences) -> dict:
    """Errors per token (word, for compound encodings) over ``sequences`` of raw ids.

    Returns ``{"rate", "errors", "tokens", "sequences", "sequences_with_errors"}``; padding
    counts as a token only where the grammar refuses it.
    """
    import numpy as np

    errors = tokens = bad = n = 0
    for ids in sequences:
        arr = np.asarray(ids)
        length = len(arr) if not tokenizer.is_compound else len(arr.reshape(-1, len(tokenizer.fields)))
        e = tokenizer.syntax_errors(arr)
        errors, tokens, bad, n = errors + e, tokens + length, bad + (e > 0), n + 1
    return {
        "rate": errors / tokens if tokens else 0.0,
        "errors": errors,
        "tokens": tokens,
        "sequences": n,
        "sequences_with_errors": bad,
    }
