"""Errors tunelab raises on purpose.

Every error the user can cause derives from :class:`TunelabError`, so a command line or a batch
job can catch one type and print one line. ``ParseError`` names the file, the tune inside a
tunebook where there is one, and the line where it is known.
"""

from __future__ import annotations


class TunelabError(Exception):
    """Root of the errors tunelab raises for bad input, configuration or state."""


class ParseError(TunelabError):
    """A file (or one tune of a tunebook) that could not be read.

    Args:
        path: the file, as given.
        reason: what is wrong, in a few words a person can act on.
        tune: the tune inside a tunebook (its index or ``X:`` number), if any.
        line: the 1-based line number where the problem is, if known.
    """

    def __init__(self, path, reason: str, *, tune: str | int | None = None, line: int | None = None):
        self.path = str(path)
        self.reason = reason
        self.tune = tune
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path
        if self.tune is not None:
            where += f" (tune {self.tune})"
        if self.line is not None:
            where += f", line {self.line}"
        return f"{where}: {self.reason}"

    def __reduce__(self):  # keep the keyword fields when sent between processes
        return (_rebuild_parse_error, (self.path, self.reason, self.tune, self.line))


def _rebuild_parse_error(path, reason, tune, line):
    return ParseError(path, reason, tune=tune, line=line)


class ConfigError(TunelabError):
    """Options that do not fit together, or a name that does not exist."""


class CheckpointError(TunelabError):
    """A run directory or checkpoint that is missing, incomplete or from another version."""


class MissingDependency(TunelabError):
    """An optional package is needed for this feature and is not installed."""

    def __init__(self, package: str, feature: str):
        super().__init__(f"{feature} needs the package '{package}': pip install {package}")
