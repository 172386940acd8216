"""tunelab: symbolic music generation: corpora, tokenizers, models, sampling, metrics.

``import tunelab`` stays light: heavy packages (music21, torch) load inside the functions that
need them.
"""

from tunelab.errors import ConfigError, ParseError, TunelabError
from tunelab.score import Score

__version__ = "0.1.0"
__all__ = ["ConfigError", "ParseError", "Score", "TunelabError", "__version__", "load"]


def load(name_or_run, **options):
    """A shipped model or a run directory, ready to generate: :func:`tunelab.api.load`."""
    from tunelab.api import load as _load

    return _load(name_or_run, **options)
