"""What issue 28 asks of the folk model, measured (``python benchmarks/folk.py measure``).

1. Bits per note on the unseen test songs, for the three runs: every token counted (the controls
   too: what a model pays to name them), and the music only (the controls given: the tokens
   after a song's head, :meth:`tunelab.tokenizers.base.Tokenizer.head`).
2. Filling in: bits per note of two bars given both sides (the fill-in arrangement) against left
   to right on the same notes, by the same model; and left to right by the model trained without.
3. Melodies on request, 200 per condition at temperature 1.0: meter and bar count; the key finder's
   verdict (:class:`tunelab.metrics.labels.KeyFinder`, fitted on the training songs) against the
   request, beside its verdict on the real test songs against their notated keys; the tune-type
   classifier (:class:`tunelab.metrics.labels.TypeClassifier`, fitted on the training songs) the
   same way; OA of the 9 Yang & Lerch features against the real songs of that type and meter; the
   final note on the tonic, beside real songs of that mode; the stops (none at the step cap).
4. The seams of fills: the interval into and out of two filled bars against real intervals across
   a bar line (OA).
5. Speed: a 16-bar tune with every control set, a fill of 2 bars (median of 10, after a warm-up).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

CONDITIONS = [  # (type, meter, tonic, mode, bars)
    ("jig", "6/8", "D", "major", 16),
    ("reel", "4/4", "G", "major", 16),
    ("hornpipe", "4/4", "D", "major", 16),
    ("reel", "4/4", "A", "dorian", 16),
    ("jig", "6/8", "E", "minor", 16),
    ("slip jig", "9/8", "D", "mixolydian", 16),
]
PER_CONDITION = 200
FILLS = 200


def measure(
    runs: Path, threads: int = 1, per_condition: int = PER_CONDITION, fills: int = FILLS, min_songs: int = 20
) -> dict:
    import tunelab
    import tunelab.corpus

    # a variant not trained yet is left out of the comparisons that need it, and said so
    present = [n for n in ("folk-lstm", "ltr", "plain") if (runs / n / "model.safetensors").exists()]
    models = {name: tunelab.load(runs / name, threads=threads) for name in present}
    folk = models["folk-lstm"]
    data = folk.meta["data"]
    corpus = tunelab.corpus.load(data["corpus"], form=data.get("form") or "played", verbose=False)
    train, test = corpus.split("train"), corpus.split("test")
    out = {
        "runs": {n: _run_info(m) for n, m in models.items()},
        "not_trained": [n for n in ("folk-lstm", "ltr", "plain") if n not in models],
    }
    print("bits per note...", flush=True)
    out["bits"] = bits_per_note(models, test)
    print("filling in, bits...", flush=True)
    out["infill_bits"] = infill_bits(folk, models.get("ltr"), test)
    print("on request...", flush=True)
    out["requests"] = on_request(folk, train, test, per_condition, min_songs)
    print("seams...", flush=True)
    out["seams"] = seams(folk, test, fills)
    print("speed...", flush=True)
    out["speed"] = speed(folk)
    return out


def _run_info(model) -> dict:
    status = model.meta["status"]
    return {"parameters": model.meta["parameters"], "epochs": status.get("epochs_done"),
            "best_epoch": status.get("best_epoch"), "train_minutes": round(status["training_seconds"] / 60, 1),
            "tokens": _tokens_seen(model.run), "controls": list(model.tokenizer.controls)}  # fmt: skip


def _tokens_seen(run: Path) -> int | None:
    import csv

    with open(run / "train_log.csv") as f:
        rows = list(csv.DictReader(f))
    return int(float(rows[-1]["tokens_seen"])) if rows else None


# ---- 1. bits per note --------------------------------------------------------------------------
def _encodable(models: dict, songs) -> list:
    """The songs every model's tokenizer encodes, on its grid."""
    from tunelab.corpus.transforms import on_grid

    out = []
    for s in songs:
        try:
            for m in models.values():
                m.tokenizer.encode(on_grid(s, m.tokenizer.steps_per_quarter))
        except ValueError:
            continue
        out.append(s)
    return out


def _surprises(model, songs):
    from tunelab.training.surprise import surprise

    tok = model.tokenizer
    seqs = [tok.encode(s) for s in songs]
    heads = [len(tok.head(s)) for s in songs]
    each = surprise(model.model, tok, seqs, [len(s) for s in songs], gap=0,
                    seq_len=int(model.meta["train"]["seq_len"]))  # fmt: skip
    return each, heads


def bits_per_note(models: dict, test) -> dict:
    from scipy import stats

    songs = _encodable(models, test)
    notes = sum(len(s) for s in songs)
    per_song, out = {}, {"songs": len(songs), "notes": notes}
    for name, m in models.items():
        each, heads = _surprises(m, songs)
        total = np.array([e.total for e in each])
        music = np.array([float(e.bits[h:].sum()) for e, h in zip(each, heads)])
        per_song[name] = (total, music)
        out[name] = {"all_tokens": float(total.sum() / notes), "music_only": float(music.sum() / notes)}
    for a, b in (("folk-lstm", "plain"), ("ltr", "plain"), ("folk-lstm", "ltr")):
        if a not in per_song or b not in per_song:
            continue
        for k, i in (("all_tokens", 0), ("music_only", 1)):
            d = per_song[a][i] - per_song[b][i]
            out[f"{a} - {b} ({k})"] = {"mean_bits_per_song": float(d.mean()),
                                       "wilcoxon_p": float(stats.wilcoxon(d).pvalue) if d.any() else 1.0}  # fmt: skip
    return out


# ---- 2. filling in: bits -----------------------------------------------------------------------
def infill_bits(folk, ltr_model, test, span: int = 2, seed: int = 0) -> dict:
    """Bits per note of ``span`` bars chosen at random in each test song of 6 bars or more, in one
    meter: given both sides (the fill-in arrangement, the middle's head and end not counted) and
    left to right (the words of those bars), by the folk model; left to right by the model
    trained without filling in."""
    from tunelab.corpus.segment import bar_span, bar_ticks, excerpt
    from tunelab.corpus.transforms import on_grid
    from tunelab.tokenizers.infill import _parts, _sides, arrange

    tok = folk.tokenizer
    rng = np.random.default_rng(seed)
    rows = []
    for s in test:
        try:
            q = on_grid(s, tok.steps_per_quarter)
            full = tok.encode(q)
        except ValueError:
            continue
        bars = len(bar_ticks(q)) - 2
        if bars < 6 or len(q.time_signatures) > 1:
            continue
        first = int(rng.integers(2, bars - span + 1))
        last = first + span - 1
        a, b = bar_span(q, first, last)
        middle = excerpt(q, a, b)
        if not len(middle):
            continue
        try:
            fim = arrange(tok, q, a, b)
            prefix, _, suffix = _parts(q, a, b)
            before = sum(len(x) for x in _sides(tok, prefix, suffix)) + len(tok.head(middle))
            plain = (ltr_model or folk).tokenizer.encode(q)
        except ValueError:
            continue
        rows.append({"full": full, "fim": fim, "plain": plain, "notes": len(middle), "middle": slice(before, len(fim) - 1),
                     "bars": _bar_words(tok, full, q, first, last),
                     "plain_bars": _bar_words((ltr_model or folk).tokenizer, plain, q, first, last)})  # fmt: skip
    notes = sum(r["notes"] for r in rows)

    def bits(model, key: str, where: str) -> float:
        each = _bits_of(model, [r[key] for r in rows], [r["notes"] for r in rows])
        return sum(float(e.bits[r[where]].sum()) for e, r in zip(each, rows)) / notes

    out = {
        "spans": len(rows),
        "bars": span,
        "notes": notes,
        "both_sides": bits(folk, "fim", "middle"),
        "left_to_right": bits(folk, "full", "bars"),
    }
    if ltr_model is not None:
        out["left_to_right_model_without_fill_in"] = bits(ltr_model, "plain", "plain_bars")
    return out


def _bits_of(model, seqs, notes):
    from tunelab.training.surprise import surprise

    return surprise(
        model.model, model.tokenizer, seqs, notes, gap=0, seq_len=int(model.meta["train"]["seq_len"])
    )


def _bar_words(tok, ids, score, first: int, last: int) -> np.ndarray:
    """Indices of the NB words of bars ``first`` .. ``last`` (1 = the first full bar), the end not."""
    from tunelab.tokenizers.nb import EMPTY_BAR, NEW_BAR

    states = np.asarray(ids)[:, 0]
    bar = np.cumsum(np.isin(states, (NEW_BAR, EMPTY_BAR))) + (0 if score.pickup else 1)
    return np.flatnonzero((bar >= first) & (bar <= last) & (states != tok.end_id))


# ---- 3. melodies on request --------------------------------------------------------------------
def on_request(folk, train, test, per_condition: int, min_songs: int = 20) -> dict:
    from tunelab.corpus.segment import bar_ticks
    from tunelab.metrics.distribution import compare_sets
    from tunelab.metrics.labels import TONICS, KeyFinder, TypeClassifier, notated_key
    from tunelab.score import tonic_pitch_class
    from tunelab.tokenizers.controls import tune_type

    finder = KeyFinder.fit(train, min_songs=min_songs)
    classifier = TypeClassifier.fit(train, min_songs=min_songs)
    real = {"key_agreement": {}, "type_right": {}, "final_on_tonic": {}}
    for mode in finder.modes:
        songs = [s for s in test if (k := notated_key(s)) and k[1] == mode and len(s)]
        real["key_agreement"][mode] = _share(
            [finder.find(s) == (TONICS[notated_key(s)[0]], mode) for s in songs]
        )
        real["final_on_tonic"][mode] = _share([_final_pc(s) == notated_key(s)[0] for s in songs])
    typed = [(s, tune_type(s.meta.get("rhythm"))) for s in test]
    typed = [(s, t) for s, t in typed if t in classifier.types]
    said = classifier.classify([s for s, _ in typed]) if typed else []
    for t in classifier.types:
        real["type_right"][t] = _share([p == t for (_, u), p in zip(typed, said) if u == t])
    out = {"classifier_types": list(classifier.types), "finder_modes": list(finder.modes), "real_test_songs": real,
           "conditions": []}  # fmt: skip
    everyone = train + test
    for kind, meter, tonic, mode, bars in CONDITIONS:
        ask = {"type": kind, "meter": meter, "key": tonic, "mode": mode, "bars": bars}
        try:
            folk.check(**ask)
        except Exception as err:  # a condition the model does not know: said, not measured
            out["conditions"].append({"ask": ask, "refused": str(err)})
            continue
        t0 = time.perf_counter()
        made = folk.generate(per_condition, temperature=1.0, seed=1, **ask)
        seconds = time.perf_counter() - t0
        scores = [m.score for m in made]
        num, den = map(int, meter.split("/"))
        refs = [
            s for s in everyone if tune_type(s.meta.get("rhythm")) == kind and s.meter_at(0) == (num, den)
        ]
        verdicts = [finder.find(s) for s in scores]
        row = {
            "ask": ask, "melodies": len(made), "seconds": round(seconds, 1),
            "stops": {k: sum(m.stop == k for m in made) for k in {m.stop for m in made}},
            "meter_exact": _share([s.time_signatures == [(0, num, den)] for s in scores]),
            "bars_exact": _share([len(bar_ticks(s)) - 2 == bars for s in scores]),
            "key_agreement": _share([v == (tonic, mode) for v in verdicts]),
            "tonic_agreement": _share([v is not None and v[0] == tonic for v in verdicts]),
            "real_key_agreement_of_mode": real["key_agreement"].get(mode),
            "type_as_asked": _share([p == kind for p in classifier.classify(scores)]) if kind in classifier.types
            else None,
            "real_type_right": real["type_right"].get(kind),
            "final_on_tonic": _share([_final_pc(s) == tonic_pitch_class(tonic) for s in scores]),
            "real_final_on_tonic_of_mode": real["final_on_tonic"].get(mode),
            "reference_songs": len(refs),
        }  # fmt: skip
        if len(refs) >= 20:
            oa = compare_sets(scores, refs)
            row["oa"] = {k: round(v["oa"], 4) for k, v in oa.items()}
            row["oa_mean"] = float(np.mean([v["oa"] for v in oa.values()]))
        out["conditions"].append(row)
        print(f"  {kind} {meter} {tonic} {mode}: key {row['key_agreement']:.2f} type {row['type_as_asked']} "
              f"OA {row.get('oa_mean', float('nan')):.3f} ({seconds:.0f} s)", flush=True)  # fmt: skip
    return out


def _share(flags) -> float | None:
    flags = list(flags)
    return float(np.mean(flags)) if flags else None


def _final_pc(score) -> int | None:
    if not len(score):
        return None
    last = score.onset.max()
    return int(score.pitch[score.onset == last].min() % 12)


# ---- 4. the seams of fills ---------------------------------------------------------------------
def seams(folk, test, n: int, seed: int = 0) -> dict:
    """Two bars filled in each of ``n`` test songs; the intervals at the two seams against real
    intervals across a bar line, OA."""
    from tunelab.corpus.segment import bar_span, bar_ticks
    from tunelab.corpus.transforms import on_grid
    from tunelab.metrics.distribution import overlap

    tok = folk.tokenizer
    rng = np.random.default_rng(seed)
    real, made, done = [], [], 0
    for s in test:
        try:
            q = on_grid(s, tok.steps_per_quarter)
            tok.encode(q)
        except ValueError:
            continue
        real += _bar_line_intervals(q)
        bars = len(bar_ticks(q)) - 2
        if done >= n or bars < 6 or len(q.time_signatures) > 1:
            continue
        first = int(rng.integers(2, bars - 1))
        try:
            new = folk.fill(q, (first, first + 1), 1, seed=done)[0].score
        except Exception:
            continue
        a, b = bar_span(new, first, first + 1)
        made += [x for x in (_interval_at(new, a), _interval_at(new, b)) if x is not None]
        done += 1
    oa, _ = overlap(np.array(made, float), np.array(real, float))
    return {"fills": done, "seam_intervals": len(made), "real_bar_line_intervals": len(real), "oa": oa,
            "mean_abs_seam": float(np.mean(np.abs(made))), "mean_abs_real": float(np.mean(np.abs(real)))}  # fmt: skip


def _interval_at(score, tick: int) -> int | None:
    """The interval from the last note starting before ``tick`` to the first starting at or after."""
    before = np.flatnonzero(score.onset < tick)
    after = np.flatnonzero(score.onset >= tick)
    if not len(before) or not len(after):
        return None
    return int(score.pitch[after[0]]) - int(score.pitch[before[-1]])


def _bar_line_intervals(score) -> list[int]:
    return [x for t in score.bar_starts()[1:].tolist() if (x := _interval_at(score, t)) is not None]


# ---- 5. speed ----------------------------------------------------------------------------------
def speed(folk, repeats: int = 10) -> dict:
    ask = {
        "type": "reel",
        "meter": "4/4",
        "key": "D",
        "mode": "major",
        "bars": min(16, max(folk.controls["bars"])),
    }
    folk.generate(1, **ask)  # warm-up
    tune = folk.generate(1, seed=99, **ask)[0].score
    gen, fill = [], []
    for i in range(repeats):
        t0 = time.perf_counter()
        folk.generate(1, seed=i, **ask)
        gen.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        folk.fill(tune, (5, 6), 1, seed=i)
        fill.append(time.perf_counter() - t0)
    import torch

    return {"threads": torch.get_num_threads(), "bars": ask["bars"], "tune_s": statistics.median(gen),
            "fill_2_bars_s": statistics.median(fill)}  # fmt: skip


def report(r: dict) -> str:
    """The measurements as benchmarks/results/folk.md (the JSON beside it has everything)."""
    runs = ", ".join(f"{n}: {i['parameters']:,} parameters, {i['epochs']} epochs ({i['train_minutes']} min, "
                     f"{i['tokens']:,} tokens)" for n, i in r["runs"].items())  # fmt: skip
    out = ["# The folk model (benchmarks/folk.py measure)", "", f"Runs: {runs}."]
    if r.get("not_trained"):
        out.append(f"Not trained yet (their comparisons left out): {', '.join(r['not_trained'])}.")
    b = r["bits"]
    out += ["", f"**Bits per note** on {b['songs']:,} unseen test songs ({b['notes']:,} notes):", "",
            "| run | every token (controls too) | the music, controls given |", "|---|---:|---:|"]  # fmt: skip
    out += [f"| {n} | {b[n]['all_tokens']:.3f} | {b[n]['music_only']:.3f} |" for n in r["runs"]]
    out += [f"- {k}: {v['mean_bits_per_song']:+.2f} bits a song (Wilcoxon p {v['wilcoxon_p']:.2g})"
            for k, v in b.items() if " - " in k]  # fmt: skip
    f = r["infill_bits"]
    out += ["", f"**Filling in** {f['bars']} bars in {f['spans']:,} songs ({f['notes']:,} notes): given both sides "
            f"{f['both_sides']:.3f} bits per note, left to right {f['left_to_right']:.3f}"
            + (f", left to right by the model trained without filling in {f['left_to_right_model_without_fill_in']:.3f}"
               if "left_to_right_model_without_fill_in" in f else "") + "."]  # fmt: skip
    q = r["requests"]
    out += ["", "**On request**, per condition at temperature 1.0 (real: the held-out songs of that mode or type):", "",
            "| asked | melodies | stops | meter / bars exact | key found as asked (real, that mode) | "
            "type as asked (real) | final on the tonic (real) | OA, 9 features |",
            "|---|---:|---|---|---|---|---|---:|"]  # fmt: skip
    for c in q["conditions"]:
        a = c["ask"]
        ask = f"{a['type']} {a['meter']} {a['key']} {a['mode']} {a['bars']} bars"
        stops = ", ".join(f"{k} {v}" for k, v in c["stops"].items())
        out.append(f"| {ask} | {c['melodies']} | {stops} | {c['meter_exact']:.2f} / {c['bars_exact']:.2f} | "
                   f"{c['key_agreement']:.2f} ({c['real_key_agreement_of_mode']:.2f}) | {c['type_as_asked']:.2f} "
                   f"({c['real_type_right']:.2f}) | {c['final_on_tonic']:.2f} ({c['real_final_on_tonic_of_mode']:.2f}) | "
                   f"{c['oa_mean']:.3f} |" if "oa_mean" in c else
                   f"| {ask} | {c['melodies']} | {stops} | {c['meter_exact']:.2f} / {c['bars_exact']:.2f} | "
                   f"{c['key_agreement']:.2f} ({c['real_key_agreement_of_mode']:.2f}) | {c['type_as_asked']:.2f} "
                   f"({c['real_type_right']:.2f}) | {c['final_on_tonic']:.2f} ({c['real_final_on_tonic_of_mode']:.2f}) | "
                   f"fewer than 20 real songs |")  # fmt: skip
    m = r["seams"]
    out += ["", f"**Seams** of {m['fills']} fills: the {m['seam_intervals']} intervals into and out of the filled bars "
            f"against {m['real_bar_line_intervals']:,} real intervals across a bar line: OA {m['oa']:.3f} (mean size "
            f"{m['mean_abs_seam']:.2f} against {m['mean_abs_real']:.2f} semitones).",
            "", f"**Speed** ({r['speed']['threads']} thread): a {r['speed']['bars']}-bar tune with every control "
            f"{r['speed']['tune_s']:.2f} s, a fill of 2 bars {r['speed']['fill_2_bars_s']:.2f} s (median of 10)."]  # fmt: skip
    if "speed_during_the_run" in r:
        was = r["speed_during_the_run"]
        out.append(f"(Measured again after the generation speed-up of this session, beside one other job; during the "
                   f"run, before it and beside five: {was['tune_s']:.2f} s and {was['fill_2_bars_s']:.2f} s.)")  # fmt: skip
    return "\n".join(out) + "\n"
