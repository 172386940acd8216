"""Preparing the 5,365 Deutschl kern songs: tunelab vs the study's music21 pipeline.

Measures, in one run on this machine:
  - tunelab, study preset, no cache, on 1 process and on all cores;
  - tunelab, second preparation from the cache;
  - the study's music21 pipeline (benchmarks/study_music21.py), one process, as the study ran;
  - the outputs: tunelab vs the study's published split files (distinct songs), and tunelab vs
    the music21 pipeline file by file.
Writes benchmarks/results/prepare_kern.md and .json.

    python benchmarks/prepare_kern.py [--kern PATH.tar.gz|FOLDER] [--music21-every N]

``--music21-every N`` runs the music21 side on every Nth file only (its per-song time is then
extrapolated to the whole set, and the table says so).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tarfile
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"
sys.path.insert(0, str(HERE))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kern", type=Path, default=SHARED / "deutschl-kern.tar.gz")
    ap.add_argument("--study-split", type=Path, default=SHARED / "study-split")
    ap.add_argument("--music21-every", type=int, default=1)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "prepare_kern")
    args = ap.parse_args()
    if not args.kern.exists():
        sys.exit(f"{args.kern} is absent: this benchmark needs the shared Deutschl kern files")

    import tunelab.corpus as tc
    from tunelab.io.gridtext import format_score

    with tempfile.TemporaryDirectory() as tmp:
        folder = _unpack(args.kern, Path(tmp))
        files = sorted(str(p) for p in folder.rglob("*.krn"))
        os.environ["TUNELAB_CACHE"] = str(Path(tmp) / "cache")
        res: dict = {"songs": len(files), "cores": os.cpu_count(), "python": platform.python_version()}

        t = time.perf_counter()
        one = tc.load(folder, "study", jobs=1, use_cache=False, verbose=False)
        res["tunelab_1proc_s"] = time.perf_counter() - t
        t = time.perf_counter()
        corpus = tc.load(folder, "study", use_cache=False, verbose=False)  # all cores
        res["tunelab_all_cores_s"] = time.perf_counter() - t
        t = time.perf_counter()
        tc.load(folder, "study", verbose=False)  # writes the two caches (parsed, prepared)
        res["tunelab_first_with_cache_write_s"] = time.perf_counter() - t
        cached = []
        for _ in range(5):
            t = time.perf_counter()
            tc.load(folder, "study", verbose=False)
            cached.append(time.perf_counter() - t)
        res["tunelab_cached_s"] = statistics.median(cached)
        assert [e.id for e in one.kept] == [e.id for e in corpus.kept]
        info = corpus.info()
        res["tunelab_kept"], res["tunelab_unreadable"] = info["kept"], info["unreadable"]
        res["tunelab_dropped_by_reason"] = info["dropped_by_reason"]
        res["tunelab_errors"] = [f"{e.id}: {e.reason}" for e in corpus.errors()]
        ours = {e.source: format_score(e.score) for e in corpus.kept}

        import study_music21

        sample = files[:: args.music21_every]
        m21_out, m21_fail = {}, []
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i, f in enumerate(sample):
                try:
                    line = study_music21.prepare(f)
                except Exception as e:
                    m21_fail.append(f"{Path(f).relative_to(folder)}: {type(e).__name__}")
                    continue
                if line is not None:
                    m21_out[f] = line
                if i % 500 == 0:
                    print(f"music21 pipeline: {i}/{len(sample)} songs", file=sys.stderr, flush=True)
        m21_s = time.perf_counter() - t
        res["music21_songs_run"] = len(sample)
        res["music21_ms_per_song"] = 1000 * m21_s / len(sample)
        res["music21_whole_set_s"] = m21_s * len(files) / len(sample)
        res["music21_kept"] = len(m21_out)
        res["music21_failures"] = m21_fail
        same = sum(1 for f, line in m21_out.items() if ours.get(f) == line)
        res["per_file_identical"] = same
        res["per_file_only_music21"] = sorted(
            str(Path(f).relative_to(folder)) for f in m21_out if f not in ours
        )
        res["per_file_differ"] = sorted(
            str(Path(f).relative_to(folder)) for f in m21_out if f in ours and ours[f] != m21_out[f]
        )
        res["speedup_all_cores"] = res["music21_whole_set_s"] / res["tunelab_all_cores_s"]
        res["speedup_1proc"] = res["music21_whole_set_s"] / res["tunelab_1proc_s"]

        if args.study_split.exists():
            study = set()
            for name in ("train", "val", "test"):
                study |= {x.strip() for x in (args.study_split / f"{name}.txt").read_text().splitlines()}
            mine = set(ours.values())
            res["study_distinct"], res["tunelab_distinct"] = len(study), len(mine)
            res["study_reproduced"] = len(study & mine)
            res["tunelab_in_study"] = len(mine & study)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(res, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(_table(res))
    print(_table(res))


def _unpack(src: Path, tmp: Path) -> Path:
    if src.is_dir():
        return src
    with tarfile.open(src) as tar:
        tar.extractall(tmp / "kern", filter="data")
    return Path(os.path.commonpath([str(p.parent) for p in (tmp / "kern").rglob("*.krn")]))


def _table(r: dict) -> str:
    sampled = (
        ""
        if r["music21_songs_run"] == r["songs"]
        else f" (every song timed: {r['music21_songs_run']} of {r['songs']}, extrapolated)"
    )
    lines = [
        "# Preparing the Deutschl kern songs: tunelab vs the study's music21 pipeline",
        "",
        f"{r['songs']} kern files, study preset (duration filter, transpose to C/A, 16th grid); "
        f"{r['cores']} cores, Python {r['python']}. Produced by `python benchmarks/prepare_kern.py`.",
        "",
        "| pipeline | time for the set | per song | speed-up |",
        "|---|---:|---:|---:|",
        f"| music21, as the study (1 process){sampled} | {r['music21_whole_set_s']:.1f} s | {r['music21_ms_per_song']:.1f} ms | 1x |",
        f"| tunelab, 1 process, no cache | {r['tunelab_1proc_s']:.2f} s | {1000 * r['tunelab_1proc_s'] / r['songs']:.2f} ms | {r['speedup_1proc']:.0f}x |",
        f"| tunelab, {r['cores']} processes, no cache | {r['tunelab_all_cores_s']:.2f} s | {1000 * r['tunelab_all_cores_s'] / r['songs']:.2f} ms | {r['speedup_all_cores']:.0f}x |",
        f"| tunelab, {r['cores']} processes, writing both caches | {r['tunelab_first_with_cache_write_s']:.2f} s | | |",
        f"| tunelab, from the cache (median of 5) | {r['tunelab_cached_s']:.3f} s | | |",
        "",
        "| output | count |",
        "|---|---:|",
        f"| songs kept: music21 pipeline / tunelab | {r['music21_kept']} / {r['tunelab_kept']} |",
        f"| kept by both, token-identical | {r['per_file_identical']} |",
        f"| kept by both, different tokens | {len(r['per_file_differ'])} |",
        f"| kept by music21 only | {len(r['per_file_only_music21'])} ({', '.join(r['per_file_only_music21']) or '-'}) |",
    ]
    if "study_distinct" in r:
        lines += [
            f"| study's distinct songs reproduced token for token | {r['study_reproduced']} / {r['study_distinct']} ({r['study_reproduced'] / r['study_distinct']:.2%}) |",
            f"| tunelab's distinct songs found in the study's files | {r['tunelab_in_study']} / {r['tunelab_distinct']} ({r['tunelab_in_study'] / r['tunelab_distinct']:.2%}) |",
        ]
    lines += ["", "Unreadable for tunelab (reported, skipped):", ""]
    lines += [f"- {e}" for e in r["tunelab_errors"]] or ["- none"]
    lines += [
        "",
        "Dropped by tunelab's filters: "
        + ", ".join(f"{k}: {v}" for k, v in r["tunelab_dropped_by_reason"].items()),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
