"""Tokenizers on deutschl and bach-chorales: lossless? grammatical? how long? how fast?

For each encoding (tunelab's grid, REMI, CP, NB; MidiTok's REMI and CPWord on the same scores,
in the same run): how many pieces encode, how many decode back exactly (notes on the 16th grid,
time signatures, pickup; velocities where kept), the syntax errors of the encodings, mean
tokens per piece, and encode and decode throughput. Writes benchmarks/results/tokenizers.md
and .json.

    python benchmarks/tokenizer_bench.py [--limit N]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
import warnings
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPQ = 4


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="pieces per corpus (default: all)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "tokenizers")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import tunelab.corpus as tc

    rows = []
    for corpus in ("deutschl", "bach-chorales"):
        scores = tc.load(corpus, verbose=False).scores[: args.limit]
        print(f"{corpus}: {len(scores)} pieces", file=sys.stderr, flush=True)
        for name in ("grid", "remi", "cp", "nb"):
            if name == "grid" and corpus == "bach-chorales":
                continue  # one voice only
            rows.append(_tunelab(corpus, name, scores))
            print(rows[-1], file=sys.stderr, flush=True)
        for name in ("REMI", "CPWord"):
            rows.append(_miditok(corpus, name, scores))
            print(rows[-1], file=sys.stderr, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n")
    md = _table(rows)
    args.out.with_suffix(".md").write_text(md)
    print(md)


def _tunelab(corpus: str, name: str, scores) -> dict:
    import tunelab.tokenizers as tt
    from tunelab.tokenizers.metric import round_trip_problem

    tok = tt.get(name, steps_per_quarter=SPQ)
    encoded, unencodable = [], {}
    t = time.perf_counter()
    for s in scores:
        try:
            encoded.append((s, tok.encode(s)))
        except ValueError as e:
            reason = str(e).split(";")[0]
            unencodable[reason] = unencodable.get(reason, 0) + 1
    t_enc = time.perf_counter() - t
    t = time.perf_counter()
    decoded = [tok.decode(ids) for _, ids in encoded]
    t_dec = time.perf_counter() - t
    exact = sum(
        round_trip_problem(s, d, SPQ, velocity=name != "grid", meter=name != "grid") is None
        for (s, _), d in zip(encoded, decoded)
    )
    return {
        "corpus": corpus,
        "encoding": f"tunelab {name}",
        "pieces": len(scores),
        "encoded": len(encoded),
        "exact": exact,
        "unencodable": unencodable,
        "syntax_errors": sum(tok.syntax_errors(ids) for _, ids in encoded),
        "tokens_per_piece": sum(len(ids) for _, ids in encoded) / max(1, len(encoded)),
        "encode_per_s": len(scores) / t_enc,
        "decode_per_s": len(encoded) / t_dec,
        "round_trip_checks": "notes, meters, pickup" + ("" if name == "grid" else ", velocity"),
    }


def _miditok(corpus: str, name: str, scores) -> dict:
    import miditok

    from tunelab.corpus.transforms import quantize
    from tunelab.io.midi import from_symusic, to_symusic

    config = miditok.TokenizerConfig(
        use_time_signatures=True, beat_res={(0, 4): SPQ, (4, 12): SPQ}, num_velocities=16
    )
    tok = getattr(miditok, name)(config)
    mids = [to_symusic(quantize(s, SPQ).resample(480)) for s in scores]
    t = time.perf_counter()
    seqs = [tok.encode(m) for m in mids]
    t_enc = time.perf_counter() - t
    copies = copy.deepcopy(seqs)  # MidiTok's decode changes what it is given
    t = time.perf_counter()
    outs = [tok.decode(q) for q in copies]
    t_dec = time.perf_counter() - t
    exact = meters = 0
    for s, mid, out in zip(scores, mids, outs):
        a, b = quantize(s, SPQ), from_symusic(out)
        notes_a = sorted(zip(a.onset.tolist(), a.duration.tolist(), a.pitch.tolist()))
        notes_b = sorted((Fraction(o, b.tpq) * SPQ, Fraction(d, b.tpq) * SPQ, p) for o, d, p, _ in b.notes())
        exact += notes_a == notes_b
        # meters as MidiTok was given them (MIDI has no pickup: tunelab writes it as a short bar)
        given = [
            (Fraction(x.time, mid.ticks_per_quarter), x.numerator, x.denominator) for x in mid.time_signatures
        ]
        back = [
            (Fraction(x.time, out.ticks_per_quarter), x.numerator, x.denominator) for x in out.time_signatures
        ]
        meters += given == back
    lengths = [sum(len(x) for x in q) if isinstance(q, list) else len(q) for q in seqs]
    return {
        "corpus": corpus,
        "encoding": f"MidiTok {name}",
        "pieces": len(scores),
        "encoded": len(seqs),
        "exact": exact,
        "meters_kept": meters,
        "unencodable": {},
        "syntax_errors": None,
        "tokens_per_piece": sum(lengths) / max(1, len(lengths)),
        "encode_per_s": len(scores) / t_enc,
        "decode_per_s": len(seqs) / t_dec,
        "round_trip_checks": "notes; meters against the MIDI it was given",
    }


def _table(rows: list[dict]) -> str:
    out = [
        "# Tokenizers: lossless, grammatical, short, fast",
        "",
        f"Scores quantized to a {SPQ}-step-per-quarter grid; round trip = decode(encode(score)) equals the "
        "quantized score. MidiTok 3.1 (REMI, CPWord; time signatures on, 16 velocities, the same grid) runs "
        "on the same scores in the same process. Produced by `python benchmarks/tokenizer_bench.py`.",
        "",
        "| corpus | encoding | exact round trips (tunelab: notes, meters, pickup, velocity; MidiTok: notes) | syntax errors | tokens per piece | encode pieces/s | decode pieces/s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        extra = f" (meters kept {r['meters_kept']})" if "meters_kept" in r else ""
        miss = "; ".join(f"{n}: {why}" for why, n in r["unencodable"].items())
        out.append(
            f"| {r['corpus']} | {r['encoding']} | {r['exact']} / {r['pieces']}{extra}{' — not encodable: ' + miss if miss else ''} | "
            f"{'' if r['syntax_errors'] is None else r['syntax_errors']} | {r['tokens_per_piece']:.1f} | "
            f"{r['encode_per_s']:.0f} | {r['decode_per_s']:.0f} |"
        )
    out += [
        "",
        "| corpus | NB / CP tokens | CP / REMI tokens | NB encode+decode vs MidiTok CPWord |",
        "|---|---:|---:|---:|",
    ]
    for corpus in dict.fromkeys(r["corpus"] for r in rows):
        by = {r["encoding"]: r for r in rows if r["corpus"] == corpus}
        nb, cp, remi, mt = by["tunelab nb"], by["tunelab cp"], by["tunelab remi"], by["MidiTok CPWord"]

        def per_piece(r):
            return 1 / r["encode_per_s"] + 1 / r["decode_per_s"]

        out.append(
            f"| {corpus} | {nb['tokens_per_piece'] / cp['tokens_per_piece']:.3f} | "
            f"{cp['tokens_per_piece'] / remi['tokens_per_piece']:.3f} | {per_piece(mt) / per_piece(nb):.1f}x faster |"
        )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
