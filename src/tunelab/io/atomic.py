"""Atomic writes: a file or directory appears whole or not at all (temp + rename)."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    """The process's umask, read without changing it where Linux allows (os.umask both reads
    and sets, which would race with threads creating files)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        mask = os.umask(0o022)
        os.umask(mask)
        return mask


def atomic_write_bytes(path, data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory. The file gets
    ``mode``, or what a plain ``open`` would give it (0666 less the umask); never the temporary
    file's private 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask() if mode is None else mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path, text: str, *, mode: int | None = None) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


@contextmanager
def atomic_dir(path):
    """Yield a temporary directory that replaces ``path`` when the block ends without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # as mkdir would make it, not mkdtemp's private 0700
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            path.rename(old)
            tmp.rename(path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def out_dir(path, flag: str = "--out") -> Path:
    """``path`` as a folder to write into, made now (before the work whose results go there):
    ConfigError naming the flag and the reason where it cannot be (a file in the way, no
    permission, a read-only or virtual file system)."""
    from tunelab.errors import ConfigError

    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".tunelab-probe-"):
            pass
    except OSError as err:
        raise ConfigError(f"{flag} {path}: cannot write a folder there ({err.strerror or err})") from None
    return path


def out_file(path, flag: str = "--out") -> Path:
    """``path`` as a file to write: its folder made now, ConfigError where it cannot be."""
    path = Path(path)
    if path.is_dir():
        from tunelab.errors import ConfigError

        raise ConfigError(f"{flag} {path}: is a folder; name a file")
    out_dir(path.parent, flag)
    return path
