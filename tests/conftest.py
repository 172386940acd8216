"""Shared fixtures: tiny scores and the path to ../shared/data when it is there."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Every test gets its own preparation cache, so no test sees another's."""
    monkeypatch.setenv("TUNELAB_CACHE", str(tmp_path / "cache"))


def shared(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} is absent: this test needs the shared reference data (../shared/data)")
    return path


@pytest.fixture(scope="session")
def deutschl_kern(tmp_path_factory) -> Path:
    """The 5,365 Deutschl kern files, unpacked once per test session."""
    archive = shared("deutschl-kern.tar.gz")
    out = tmp_path_factory.mktemp("kern")
    with tarfile.open(archive) as tar:
        tar.extractall(out, filter="data")
    return out / "deutschl"
