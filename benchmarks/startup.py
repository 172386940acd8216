"""How long the command line takes to start: whole processes, median of 10 (issue 29: under
0.3 s on 2 cores for ``--help``, ``--version`` and ``corpus list``).

    python benchmarks/startup.py [--runs 10] [--note "what else ran"]

Writes benchmarks/results/startup.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
COMMANDS = (["--help"], ["--version"], ["corpus", "list"], ["pretrained", "list"], ["generate", "--help"])
LIBRARY = (
    'import tunelab; tunelab.load("study-lstm").generate(8)'  # issue 29: under 1.5 s beside a busy process
)
TIMED = (
    f"import time; t = time.perf_counter(); {LIBRARY}; print(time.perf_counter() - t)"  # import to melodies
)


def timed(argv: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tunelab", *argv], capture_output=True, check=False)
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--note", default="nothing else running")
    args = ap.parse_args()
    timed(["--version"], 2)
    rows = []
    for argv in COMMANDS:
        t = timed(argv, args.runs)
        rows.append((" ".join(argv), statistics.median(t), max(t)))
        print(f"tunelab {rows[-1][0]}: median {rows[-1][1]:.3f} s, max {rows[-1][2]:.3f} s", flush=True)
    t, inside = timed_python(args.runs, TIMED, report=True)
    rows.append((None, statistics.median(t), max(t)))
    print(f"{LIBRARY}: median {rows[-1][1]:.3f} s, max {rows[-1][2]:.3f} s; from its first import to the "
          f"melodies {statistics.median(inside):.3f} s", flush=True)  # fmt: skip
    torch_only = statistics.median(timed_python(args.runs, "import torch"))
    python = statistics.median(timed_python(args.runs))
    lines = [
        "# Command-line start-up (benchmarks/startup.py)",
        "",
        f"Whole processes (`python -m tunelab ...`), median and max of {args.runs}; {args.note}. A bare "
        f"`python -c pass` takes {python:.3f} s here. `tunelab generate --help` builds the parser that imports "
        "torch (its flags are the fields of sampling settings); the others build one line per command. The last "
        "row is the library from a cold process: import, load a shipped model, 8 melodies; "
        f"from its first import to the melodies it took {statistics.median(inside):.3f} s (median), the rest is "
        f"the interpreter starting and, with torch loaded, exiting: `python -c 'import torch'` alone takes "
        f"{torch_only:.3f} s here.",
        "",
        "| command | median s | max s |",
        "|---|---|---|",
        *(
            f"| `{'tunelab ' + c if c is not None else 'python -c ' + repr(LIBRARY)}` | {m:.3f} | {x:.3f} |"
            for c, m, x in rows
        ),
        "",
    ]
    (HERE / "results" / "startup.md").write_text("\n".join(lines))
    return 0


def timed_python(runs: int, code: str = "pass", report: bool = False):
    """Whole-process seconds of ``python -c code``; with ``report``, also the seconds it printed."""
    out, said = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
        out.append(time.perf_counter() - t0)
        if report:
            said.append(float(r.stdout.strip().splitlines()[-1]))
    return (out, said) if report else out


if __name__ == "__main__":
    sys.exit(main())
