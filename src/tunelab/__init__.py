"""tunelab: symbolic music generation: corpora, tokenizers, models, sampling, metrics.

``import tunelab`` stays light: heavy packages (music21, torch) load inside the functions that
need them.
"""

from tunelab import threads as _threads  # noqa: F401 (starts the load measurement its thread choice uses)
from tunelab.errors import ConfigError, ParseError, TunelabError
from tunelab.score import Score

__version__ = "0.1.0"
__all__ = ["ConfigError", "ParseError", "Score", "TunelabError", "__version__", "evaluate", "load"]


def load(name_or_run, **options):
    """A shipped model or a run directory, ready to generate: :func:`tunelab.api.load`."""
    from tunelab.api import load as _load

    return _load(name_or_run, **options)


def evaluate(sets, reference=None, suites=None, **options):
    """Metrics of sets of melodies (folders, files or ``{name: [Score]}``) and their comparison
    with a ``reference`` (a folder, ``"deutschl"``, ``"CORPUS@test"``): the report
    :func:`tunelab.metrics.evaluation.evaluate` makes (``report.summary()``; ``write(report, out)`` for
    its files)."""
    from tunelab.metrics.evaluation import evaluate as _evaluate

    return _evaluate(sets, reference=reference, suites=suites, **options)
