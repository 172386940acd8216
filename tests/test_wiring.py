"""The wiring stays explicit: every count of benchmarks/wiring.py is 0 (family and encoding names
tested outside their packages, capability probes, defaults written twice, the study's window and
gap as literals, imports against the layer order, import cycles, long functions and files)."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("wiring", ROOT / "benchmarks" / "wiring.py")
wiring = importlib.util.module_from_spec(spec)
spec.loader.exec_module(wiring)

COUNTS = [
    wiring.family_checks, wiring.probes, wiring.duplicated_defaults, wiring.long_functions, wiring.long_files,
    wiring.study_name_tests, wiring.encoding_name_tests, wiring.study_literals, wiring.repeated_command_defaults,
    wiring.upward_imports, wiring.import_cycles, wiring.orchestration_in_render,
]  # fmt: skip


@pytest.mark.parametrize("count", COUNTS, ids=lambda f: f.__name__)
def test_the_wiring_count_is_zero(count):
    assert count(ROOT / "src") == []


def test_the_counts_find_what_they_count(tmp_path):
    """Each counter on a tiny package that breaks its rule once."""
    pkg = tmp_path / "tunelab"
    (pkg / "training").mkdir(parents=True)
    (pkg / "io").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "training" / "__init__.py").write_text("")
    (pkg / "io" / "__init__.py").write_text("from tunelab.training import step\n")
    (pkg / "training" / "step.py").write_text(
        "import tunelab.io\n\ndef f(tokenizer, config):\n"
        "    if tokenizer.name == 'grid' or config.model.startswith('study-'):\n        return 64\n"
    )
    assert len(wiring.encoding_name_tests(tmp_path)) == 1 and len(wiring.study_name_tests(tmp_path)) == 1
    assert len(wiring.study_literals(tmp_path)) == 1
    assert wiring.upward_imports(tmp_path) == [
        "tunelab/io/__init__.py:1: tunelab.io imports tunelab.training.step"
    ]
    assert wiring.import_cycles(tmp_path) == ["tunelab.io <-> tunelab.training.step"]
