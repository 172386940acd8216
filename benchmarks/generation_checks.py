"""Generated melodies that a musician can take: one voice when the corpus has one, only the corpus's
meters, ABC that abc2midi reads without a warning (issue 27).

For each encoding, a small LSTM is trained briefly on a corpus (a budget of training tokens, one
thread), then generates N melodies from scratch at temperature 1.0 under its grammar. Counted
per encoding: syntax errors, melodies with overlapping notes, melodies with a meter the training
songs never had, melodies stopped by the step cap, and what abc2midi says of each melody's ABC
(every tune of the generated tunebook, one abc2midi run; warnings and errors by kind).

    python benchmarks/generation_checks.py [--corpus deutschl] [--n 1000] [--tokens 1500000]

Writes benchmarks/results/generation_checks.md and .json; runs under runs/generation_checks/.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = Path("runs/generation_checks")
ENCODINGS = ("grid", "remi", "cp", "nb")


def train_one(corpus: str, encoding: str, tokens: int, form: str) -> Path:
    from tunelab.training import TrainConfig, train
    from tunelab.training.checkpoint import read_config

    out = RUNS / f"{corpus}-{form}-{encoding}"
    if (out / "config.json").exists() and read_config(out)["status"].get("state") in ("stopped", "finished"):
        return out
    shutil.rmtree(out, ignore_errors=True)
    config = TrainConfig(corpus=corpus, out=str(out), encoding=encoding, model="lstm", size="small", form=form,
                         max_tokens=tokens, epochs=1000, patience=0, threads=1, progress=False, lr=3e-3)  # fmt: skip
    return train(config)


def abc2midi_verdicts(tunes: list[str]) -> list[list[str]]:
    """abc2midi's warnings and errors for each tune, run one tune at a time (an empty list: clean)."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for text in tunes:
            (Path(tmp) / "t.abc").write_text(text)
            done = subprocess.run(["abc2midi", "t.abc", "-o", "t.mid"], capture_output=True, text=True, cwd=tmp,
                                  timeout=60)  # fmt: skip
            out.append(
                [x for x in (done.stdout + done.stderr).splitlines() if re.match(r"(Warning|Error)", x)]
            )
    return out


def check(run: Path, n: int, seed: int) -> dict:
    from tunelab.io.abc_write import abc_text
    from tunelab.sampling import Filters, Settings, closed, generate
    from tunelab.training.checkpoint import load_run

    model, tok, meta = load_run(run, "cpu")
    t0 = time.perf_counter()
    samples = generate((model, tok, meta), n, settings=Settings(filters=Filters(temperature=1.0), seed=seed))
    seconds = time.perf_counter() - t0
    scores = [tok.decode(closed(tok, s.ids) if s.stop == "max_steps" else s.ids) for s in samples]
    meters = {tuple(m) for m in (tok.meters_seen or [])}
    if tok.name == "grid":  # grid's meters are its items
        meters = {
            tuple(map(int, name[2:].split("/"))) for name in tok.items if re.fullmatch(r"M:\d+/\d+", name)
        }
    unheard = [i for i, s in enumerate(scores) if any(ts[1:] not in meters for ts in s.time_signatures)]
    tunes = [
        abc_text(s, number=i + 1, title=f"generated {i + 1}", explicit_repeats=True)
        for i, s in enumerate(scores)
    ]
    said = abc2midi_verdicts(tunes) if shutil.which("abc2midi") else [[] for _ in tunes]
    kinds = Counter(
        re.sub(r"\d+", "N", re.sub(r"^.*? : ", "", line))[:70] for lines in said for line in lines
    )
    return {
        "run": str(run),
        "encoding": tok.name,
        "steps_per_quarter": tok.steps_per_quarter,
        "training_tokens": _tokens(run),
        "melodies": len(scores),
        "notes": sum(len(s) for s in scores),
        "syntax_errors": sum(s.meta["syntax_errors"] for s in scores),
        "polyphonic": sum(not s.is_monophonic() for s in scores),
        "grammar_monophonic": bool(tok.monophonic) or tok.name == "grid",
        "corpus_meters": sorted(meters),
        "unheard_meter": len(unheard),
        "at_cap": sum(s.stop == "max_steps" for s in samples),
        "dead_ends": sum(s.stop == "dead_end" for s in samples),
        "with_form_marks": sum(bool(s.form) for s in scores),
        "abc2midi_lines": sum(map(len, said)),
        "abc2midi_kinds": dict(kinds.most_common(8)),
        "abc2midi_clean_tunes": sum(not lines for lines in said),
        "abc2midi_examples": [tunes[i] for i, lines in enumerate(said) if lines][:2],
        "generate_seconds": round(seconds, 1),
    }


def _tokens(run: Path) -> int:
    import csv

    with open(run / "train_log.csv") as f:
        rows = list(csv.DictReader(f))
    return int(float(rows[-1]["tokens_seen"])) if rows else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="deutschl")
    ap.add_argument("--form", default="played", choices=["played", "written"])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--tokens", type=int, default=1_500_000, help="training tokens per model")
    ap.add_argument("--encodings", nargs="+", default=list(ENCODINGS))
    ap.add_argument("--out", type=Path, default=HERE / "results" / "generation_checks")
    args = ap.parse_args()
    path = args.out.with_suffix(".json")
    for enc in args.encodings:
        run = train_one(args.corpus, enc, args.tokens, args.form)
        row = check(run, args.n, seed=1)
        print(json.dumps(row), file=sys.stderr, flush=True)
        # each row is kept as it finishes, so a lost machine loses one model's check, not the table
        old = json.loads(path.read_text()) if path.exists() else []
        rows = [r for r in old if r["run"] != row["run"]] + [row]
        path.write_text(json.dumps(rows, indent=1) + "\n")
        args.out.with_suffix(".md").write_text(report(rows))
    print(args.out.with_suffix(".md").read_text())


def report(rows: list[dict]) -> str:
    head = ("| run | steps/quarter | training tokens | melodies | notes | syntax errors | polyphonic | "
            "unheard meter | at the step cap | with form marks | abc2midi warnings (tunes clean) |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|\n")  # fmt: skip
    body = "".join(
        f"| {Path(r['run']).name} | {r['steps_per_quarter']} | {r['training_tokens']:,} | {r['melodies']:,} | "
        f"{r['notes']:,} | {r['syntax_errors']} | {r['polyphonic']} | {r['unheard_meter']} | {r['at_cap']} | "
        f"{r['with_form_marks']} | {r['abc2midi_lines']} ({r['abc2midi_clean_tunes']:,}) |\n"
        for r in rows
    )
    kinds = "".join(
        f"- {Path(r['run']).name}: " + "; ".join(f"{k} x{v}" for k, v in r["abc2midi_kinds"].items()) + "\n"
        for r in rows
        if r["abc2midi_kinds"]
    )
    return (
        "# Generated melodies: one voice, the corpus's meters, ABC abc2midi takes (benchmarks/generation_checks.py)\n\n"
        "Each model: a small LSTM trained briefly (the tokens shown, one thread), melodies from scratch at "
        "temperature 1.0 under its grammar, the step cap its longest training song.\n\n"
        + head + body + ("\nabc2midi said:\n\n" + kinds if kinds else "\nabc2midi said nothing of any tune.\n")
        + f"\nMachine: {platform.machine()}, 1 thread.\n"
    )  # fmt: skip


if __name__ == "__main__":
    main()
