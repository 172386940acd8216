"""Can a classifier tell the shipped models' melodies from real songs? (issue 31)

For each shipped study model and each setting (temperature 0.7; temperature 1.0 with top-p
0.95), 752 melodies by the study's protocol (the first 752 of the study's seeds as prompts, stop
at the song's end), then ``tunelab evaluate --suite discriminator`` against the study's 752 real
test songs: the feature classifier and the sequence model (tunelab.metrics.discriminator), each
5-fold cross-validated, with the reference's halves against each other as the row that must be
0.5. Beside them, the logistic regression over 55 features that issue 31 reported.

    python benchmarks/discriminator.py [--note 'what else ran']

Writes benchmarks/results/discriminator.md and .json; sets under runs/discriminator/.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPLIT = HERE.parent.parent / "shared" / "data" / "study-split"
RUNS = Path("runs/discriminator")
MODELS = ("study-lstm", "study-transformer", "study-hybrid")
SETTINGS = {"T0.7": ["--temperature", "0.7"], "T1.0-p0.95": ["--temperature", "1.0", "--top-p", "0.95"]}
PUBLISHED = {  # issue 31: logistic regression over 55 features, 5-fold, 752 against 752
    "study-lstm T0.7": "0.716 ± 0.010", "study-lstm T1.0-p0.95": "0.658 ± 0.011",
    "study-hybrid T1.0-p0.95": "0.863 ± 0.006", "real against real": "0.504 ± 0.013",
}  # fmt: skip
N = 752


def tunelab(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "tunelab", *args], check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--note", default="nothing else running", help="what else ran on the machine")
    args = ap.parse_args()
    RUNS.mkdir(parents=True, exist_ok=True)
    seeds = RUNS / "seeds.txt"
    seeds.write_text("".join((SPLIT / "seeds.txt").read_text().splitlines(keepends=True)[:N]))
    sets = []
    for model in MODELS:
        for name, flags in SETTINGS.items():
            out = RUNS / f"{model}-{name}"
            if not (out / "mid").is_dir() or len(list((out / "mid").glob("*.mid"))) < N:
                t0 = time.perf_counter()
                tunelab("generate", "--model", model, "--seeds", str(seeds), "--seed", "1", "--formats", "mid",
                        "--out", str(out), "--threads", "1", *flags)  # fmt: skip
                print(f"{out.name}: {time.perf_counter() - t0:.0f} s", flush=True)
            sets.append(str(out))
    t0 = time.perf_counter()
    tunelab(
        "evaluate",
        *sets,
        "--reference",
        str(SPLIT / "test.txt"),
        "--suite",
        "discriminator",
        "--out",
        str(RUNS / "eval"),
    )
    found = json.loads((RUNS / "eval" / "metrics.json").read_text())["discriminator"]
    (HERE / "results" / "discriminator.json").write_text(json.dumps(found, indent=1) + "\n")
    (HERE / "results" / "discriminator.md").write_text(report(found, time.perf_counter() - t0, args.note))
    print((HERE / "results" / "discriminator.md").read_text())
    return 0


def report(found: dict, seconds: float, note: str) -> str:
    lines = [
        "# Told apart from real songs? (benchmarks/discriminator.py)", "",
        f"{N} melodies per set by the study's protocol (the study's seeds as prompts), against the study's {N} "
        "real test songs (its test.txt; the reference row: half of them against the other half); accuracy of 5-fold cross-validated classifiers with a 95% Wilson interval "
        "(tunelab.metrics.discriminator). 0.5: the classifier cannot tell them apart.", "",
        "| set | features (logistic regression) | sequence (bidirectional GRU) | both (probabilities averaged) | sharpest | issue 31's 55-feature regression |",
        "|---|---|---|---|---|---|",
    ]  # fmt: skip
    for name, verdicts in found.items():
        if isinstance(verdicts, str):
            lines.append(f"| {name} | {verdicts} | | | | |")
            continue
        cells = {v["classifier"]: f"{v['accuracy']:.3f} [{v['low']:.3f}, {v['high']:.3f}]" for v in verdicts}
        sharpest = max(v["accuracy"] for v in verdicts)
        label = Path(name).name.replace("-T", " T") if "half" not in name else "real against real"
        lines.append(f"| {label} | {cells.get('features', '')} | {cells.get('sequence', '')} | {cells.get('both', '')} | {sharpest:.3f} | "
                     f"{PUBLISHED.get(label, '')} |")  # fmt: skip
    lines += ["", "What gives each set away:", ""]
    for name, verdicts in found.items():
        if not isinstance(verdicts, str):
            for v in verdicts:
                lines.append(f"- {Path(name).name}, {v['classifier']}: " + "; ".join(v["tells"]))
    lines += ["", f"Classifiers: {seconds / 60:.1f} minutes of wall time ({note})."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
