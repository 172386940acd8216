"""How explicit the wiring between tunelab's parts is: counts a newcomer trips over (issue 17).

- family checks: lines that compare something with a model family's name (``== "lstm"``, ``in ("lstm", "gru")``...), i.e. places that must learn of a new family;
- capability probes: ``hasattr`` / ``getattr`` with a literal attribute on a model or tokenizer
  (``hasattr(model, "slide")``), optional behaviour discovered by name instead of declared;
- duplicated defaults: TrainConfig fields whose default is written again as a literal
  ``default=`` in the ``train`` command's flags;
- long functions (over 80 lines) and long files (over 400 lines) under src/.

    python benchmarks/wiring.py [SRC]           # prints the counts and the places, as Markdown
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

FAMILIES = ("lstm", "gru", "rnn", "attention-rnn", "transformer", "linear-transformer", "hybrid", "mlp")
_NAME = "|".join(re.escape(f) for f in FAMILIES)
FAMILY_CHECK = re.compile(
    rf"""(==|!=|\bnot in\b|\bin\b)\s*[(\[{{]?\s*["'](?:{_NAME})["']|["'](?:{_NAME})["']\s*(==|!=)"""
)
PROBE_TARGET = re.compile(r"model|tokenizer|tok\b|core|net\b", re.IGNORECASE)


def family_checks(src: Path) -> list[str]:
    out = []
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src)
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if FAMILY_CHECK.search(code):
                out.append(f"{rel}:{n}: {line.strip()}")
    return out


def probes(src: Path) -> list[str]:
    out = []
    for path in sorted(src.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("hasattr", "getattr")
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and PROBE_TARGET.search(ast.unparse(node.args[0]))
            ):
                out.append(f"{path.relative_to(src)}:{node.lineno}: {ast.unparse(node)}")
    return out


def duplicated_defaults(src: Path) -> list[str]:
    config = src / "tunelab" / "training" / "config.py"
    fields = {}
    for node in ast.walk(ast.parse(config.read_text())):
        if isinstance(node, ast.ClassDef) and node.name == "TrainConfig":
            for item in node.body:
                value = getattr(item, "value", None)
                if isinstance(value, ast.Call) and value.args:  # setting(default, help, ...)
                    value = value.args[0]
                if (
                    isinstance(item, ast.AnnAssign)
                    and isinstance(value, ast.Constant)
                    and value.value is not None
                ):
                    fields[item.target.id] = value.value
    out = []
    for path in sorted(src.rglob("*.py")):
        if "train" not in path.stem or "cli" not in str(path.relative_to(src)):
            continue  # the train command's flags
        for node in ast.walk(ast.parse(path.read_text())):
            if not (
                isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument" and node.args
            ):
                continue
            flag = str(node.args[0].value) if isinstance(node.args[0], ast.Constant) else ""
            name = flag.lstrip("-").replace("-", "_")
            for kw in node.keywords:
                given = kw.value.value if isinstance(kw.value, ast.Constant) else None
                if kw.arg == "default" and name in fields and given is not None:
                    out.append(f"{path.relative_to(src)}:{node.lineno}: {flag} default {given!r}")
    return out


def long_functions(src: Path, limit: int = 80) -> list[str]:
    out = []
    for path in sorted(src.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > limit:
                    out.append(f"{path.relative_to(src)}:{node.lineno}: {node.name} ({n} lines)")
    return out


def long_files(src: Path, limit: int = 400) -> list[str]:
    out = []
    for path in sorted(src.rglob("*.py")):
        n = len(path.read_text().splitlines())
        if n > limit:
            out.append(f"{path.relative_to(src)} ({n} lines)")
    return out


def main() -> None:
    src = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "src")
    sections = {
        "family checks": family_checks(src),
        "capability probes": probes(src),
        "duplicated defaults": duplicated_defaults(src),
        "functions over 80 lines": long_functions(src),
        "files over 400 lines": long_files(src),
    }
    print("| count | n |\n|---|---|")
    for name, items in sections.items():
        print(f"| {name} | {len(items)} |")
    for name, items in sections.items():
        print(f"\n## {name}\n")
        print("\n".join(f"- `{i}`" for i in items) or "none")


if __name__ == "__main__":
    main()
