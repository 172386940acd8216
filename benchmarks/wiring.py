"""How explicit the wiring between tunelab's parts is: counts a newcomer trips over (issue 17).

- family checks: lines that compare something with a model family's name (``== "lstm"``, ``in ("lstm", "gru")``...), i.e. places that must learn of a new family;
- capability probes: ``hasattr`` / ``getattr`` with a literal attribute on a model or tokenizer
  (``hasattr(model, "slide")``), optional behaviour discovered by name instead of declared;
- duplicated defaults: TrainConfig fields whose default is written again as a literal
  ``default=`` in the ``train`` command's flags;
- long functions (over 80 lines) and long files (over 400 lines) under src/;
- the study as configuration (issue 29): ``startswith("study-")`` name tests; encoding name tests
  (``tokenizer.name == "grid"``) outside tokenizers/ and models/; the study's window and gap as a
  literal 64 outside the one place each is declared; defaults a command's flags write again
  beside the function they call; imports against the layer order (io -> corpus -> tokenizers ->
  models -> training/sampling -> metrics -> render/web -> cli); import cycles between modules;
  render/ loading runs or sampling (orchestration belongs to the commands).

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


STUDY_NAME = re.compile(r"""startswith\(\s*["']study-["']\s*\)""")
ENCODING_NAME = re.compile(
    r"""\b(?:tokenizer|tok|encoding|enc|config\.encoding)(?:\.name)?\s*(?:==|!=)\s*["'](?:grid|remi|cp|nb)["']"""
    r"""|["'](?:grid|remi|cp|nb)["']\s*(?:==|!=)\s*(?:tokenizer|tok|encoding|enc)\b"""
)
LAYERS = {  # a module may import from its own layer and those below
    "errors": 0, "settings": 0, "changes": 0, "score": 0, "form": 0, "threads": 0, "io": 1, "corpus": 2, "tokenizers": 3,
    "models": 4, "training": 5, "sampling": 5, "pretrained": 1, "pretrained.pack": 6, "metrics": 7, "render": 8,
    "web": 8,
    "study": 9, "api": 9, "cli": 10, "__main__": 10, "__init__": 10,
}  # fmt: skip


def _code_lines(path: Path):
    for n, line in enumerate(path.read_text().splitlines(), 1):
        yield n, line.split("#", 1)[0]


def study_name_tests(src: Path) -> list[str]:
    return [f"{p.relative_to(src)}:{n}: {line.strip()}" for p in sorted(src.rglob("*.py"))
            for n, line in _code_lines(p) if STUDY_NAME.search(line)]  # fmt: skip


def encoding_name_tests(src: Path) -> list[str]:
    out = []
    for p in sorted(src.rglob("*.py")):
        rel = p.relative_to(src)
        if rel.parts[1] in ("tokenizers", "models"):
            continue
        out += [f"{rel}:{n}: {line.strip()}" for n, line in _code_lines(p) if ENCODING_NAME.search(line)]
    return out


def study_literals(src: Path) -> list[str]:
    """A literal 64 used as a value in the code that trains, scores and samples: the study's
    window (models.base.STUDY_WINDOW) and gap (GridTokenizer.song_gap) are declared once each."""
    out = []
    for p in sorted(src.rglob("*.py")):
        rel = p.relative_to(src)
        if rel.parts[1] not in ("training", "sampling") or rel.name == "config.py":  # config: declared there
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Constant) and node.value == 64 and type(node.value) is int:
                out.append(f"{rel}:{node.lineno}")
    return out


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "tunelab":
        return None
    if len(parts) > 2 and ".".join(parts[1:3]) in LAYERS:
        return LAYERS[".".join(parts[1:3])]
    return LAYERS.get(parts[1] if len(parts) > 1 else "__init__")


def _imports(src: Path):
    """(importing module, imported module, line) for every tunelab import, at any depth."""
    for p in sorted(src.rglob("*.py")):
        rel = p.relative_to(src).with_suffix("")
        me = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                yield me, node.module, names, node.lineno, str(p.relative_to(src))
            elif isinstance(node, ast.Import):
                for a in node.names:
                    yield me, a.name, [a.name], node.lineno, str(p.relative_to(src))


def upward_imports(src: Path) -> list[str]:
    out = []
    known = _modules(src)
    for me, target, names, line, where in _imports(src):
        if me.endswith("__main__"):
            continue  # an entry point (python -m) may call the command line
        target = next((n for n in names[1:] if n in known), target)  # from tunelab import threads
        if target == "tunelab" and all(n.rsplit(".", 1)[-1].startswith("__") for n in names[1:]):
            continue  # the package's metadata (__version__)
        a, b = _layer(me), _layer(target)
        if a is not None and b is not None and b > a and me.split(".")[1:2] != target.split(".")[1:2]:
            out.append(f"{where}:{line}: {me} imports {target}")
    return out


def _modules(src: Path) -> set:
    out = set()
    for p in src.rglob("*.py"):
        rel = p.relative_to(src).with_suffix("")
        out.add(".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts))
    return out


def import_cycles(src: Path) -> list[str]:
    """Cycles between modules (imports at any depth), each as its modules."""
    known = _modules(src)
    graph: dict[str, set] = {m: set() for m in known}
    for me, _, names, _, _ in _imports(src):
        for t in [*names[1:], names[0]]:  # the most specific first: from tunelab.study import claim
            if t in known and t != me and not me.startswith(t + ".") and not t.startswith(me + "."):
                graph[me].add(t)
                break
    out, seen = [], set()
    for start in sorted(graph):
        for nxt in graph[start]:
            if start in _reach(graph, nxt):
                pair = tuple(sorted((start, nxt)))
                if pair not in seen:
                    seen.add(pair)
                    out.append(f"{pair[0]} <-> {pair[1]}")
    return out


def _reach(graph: dict, start: str) -> set:
    seen, todo = set(), [start]
    while todo:
        m = todo.pop()
        for n in graph.get(m, ()):
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return seen


def repeated_command_defaults(src: Path) -> list[str]:
    """Flags of any command whose literal default repeats the default of the same-named parameter
    of the tunelab.study function the command calls."""
    study = src / "tunelab" / "study" / "__init__.py"
    params: dict[str, object] = {}
    for node in ast.walk(ast.parse(study.read_text())):
        if isinstance(node, ast.FunctionDef):
            args = node.args.args + node.args.kwonlyargs
            defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + node.args.defaults
            defaults += node.args.kw_defaults
            for a, d in zip(args, defaults):
                if isinstance(d, ast.Constant) and d.value is not None:
                    params[a.arg] = d.value
    out = []
    for p in sorted((src / "tunelab" / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument" and node.args:
                flag = node.args[0].value if isinstance(node.args[0], ast.Constant) else ""
                name = str(flag).lstrip("-").replace("-", "_")
                for kw in node.keywords:
                    if kw.arg == "default" and isinstance(kw.value, ast.Constant) and name in params \
                            and kw.value.value == params[name]:  # fmt: skip
                        out.append(f"{p.relative_to(src)}:{node.lineno}: {flag} default {kw.value.value!r}")
    return out


def orchestration_in_render(src: Path) -> list[str]:
    out = []
    for p in sorted((src / "tunelab" / "render").glob("*.py")):
        for n, line in _code_lines(p):
            if re.search(r"\bload_run\(|tunelab\.sampling import .*\bgenerate\b|\bsample\(model", line):
                out.append(f"{p.relative_to(src)}:{n}: {line.strip()}")
    return out


def main() -> None:
    src = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "src")
    sections = {
        "family checks": family_checks(src),
        "capability probes": probes(src),
        "duplicated defaults": duplicated_defaults(src),
        "functions over 80 lines": long_functions(src),
        "files over 400 lines": long_files(src),
        "study name tests": study_name_tests(src),
        "encoding name tests outside tokenizers/ and models/": encoding_name_tests(src),
        "the study's window and gap as literals": study_literals(src),
        "command defaults repeated": repeated_command_defaults(src),
        "imports against the layer order": upward_imports(src),
        "import cycles": import_cycles(src),
        "orchestration in render/": orchestration_in_render(src),
    }
    print("| count | n |\n|---|---|")
    for name, items in sections.items():
        print(f"| {name} | {len(items)} |")
    for name, items in sections.items():
        print(f"\n## {name}\n")
        print("\n".join(f"- `{i}`" for i in items) or "none")


if __name__ == "__main__":
    main()
