"""The Python page of the docs runs: its code blocks, in order, in one namespace (docs/api.md),
and the API module's own examples."""

import doctest
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_api_page_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write their files here
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / "api.md").read_text(), flags=re.S)
    assert len(blocks) >= 5
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/api.md block {i + 1}", "exec"), namespace)
    assert (tmp_path / "first.mid").exists() and (tmp_path / "tune.musicxml").exists()


def test_the_api_module_examples_run():
    import tunelab.api

    result = doctest.testmod(tunelab.api, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 3 and result.failed == 0
