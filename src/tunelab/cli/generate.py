"""``tunelab generate`` and ``tunelab render``: the command-line face of sampling and rendering."""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from tunelab.errors import ConfigError

DEFAULT_FORMATS = "mid,musicxml,grid,wav,svg,png"
FILTER_DEFAULTS = {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "min_p": 0.0}


def _filters_given(args) -> bool:
    """Whether any sampling filter was set on the command line (a protocol's then yield to them)."""
    return any(getattr(args, k) is not None for k in FILTER_DEFAULTS)


def register(sub) -> None:
    c = sub.add_parser(
        "generate",
        help="sample melodies from a trained run; write MIDI, MusicXML, grid, WAV, SVG, PNG and index.html",
        description=(
            "Sample melodies from a run directory (tunelab train --out), batched, under the "
            "encoding's grammar, and write a generation dir."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    c.add_argument("run", type=Path, nargs="?", help="run directory (tunelab train --out); or --model")
    c.add_argument(
        "--model", default=None, help="a shipped model instead of a run: deutschl-lstm, deutschl-hybrid..."
    )
    c.add_argument("--out", required=True, type=Path, help="generation dir to write")
    c.add_argument(
        "--n", type=int, default=None, help="melodies (default: one per prompt, or 8 without prompts)"
    )
    c.add_argument(
        "--temperature", type=float, default=None, help="0 is greedy (default 1; 0.7 under --protocol study)"
    )
    c.add_argument("--top-k", type=int, default=None, help="keep the k likeliest ids (default 0: off)")
    c.add_argument(
        "--top-p",
        type=float,
        default=None,
        help="nucleus: keep the likeliest ids up to this mass (default 1: off)",
    )
    c.add_argument(
        "--min-p",
        type=float,
        default=None,
        help="keep ids at least this share of the likeliest (default 0: off)",
    )
    c.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="NAME.KEY=VALUE",
        help="compound encodings: a field's own setting, e.g. pitch.temperature=0.9 (repeatable)",
    )
    c.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same melodies")
    prompt = c.add_mutually_exclusive_group()
    prompt.add_argument(
        "--primer", type=Path, help="continue the piece(s) in this MIDI/ABC/kern/MusicXML/grid file"
    )
    prompt.add_argument("--seeds", type=Path, help="a grid-text file, one prompt per line")
    c.add_argument(
        "--protocol",
        choices=["study"],
        help="the study's: 64 `/` + seed (--seeds; without: from scratch), temperature 0.7 unless "
        "--temperature / --top-k / --top-p / --min-p say otherwise, at most 1,500 steps, stop at `/`",
    )
    c.add_argument("--max-steps", type=int, default=512, help="most tokens sampled per melody")
    c.add_argument("--min-steps", type=int, default=0, help="no end of song before this many tokens")
    c.add_argument("--bars", type=int, default=None, help="stop after this many new bars")
    c.add_argument(
        "--no-grammar", action="store_true", help="raw model output; the syntax error rate is reported"
    )
    c.add_argument("--meter", help="meter of grid melodies, e.g. 3/4 (default: the primer's, else 4/4)")
    c.add_argument("--key", help="key, e.g. G or Em (default: the primer's, else estimated from the notes)")
    c.add_argument("--program", type=int, default=None, help="General MIDI program 0-127 (default 73, flute)")
    c.add_argument("--synth", default="auto", help="auto, fluidsynth or numpy")
    c.add_argument("--formats", default=DEFAULT_FORMATS, help="comma-separated: " + DEFAULT_FORMATS)
    c.add_argument("--batch-size", type=int, default=512, help="melodies sampled together")
    c.add_argument("--device", default="cpu", help="cpu, cuda, auto")
    c.set_defaults(func=cmd_generate)

    c = sub.add_parser(
        "render",
        help="render MIDI / MusicXML / grid files (or a generation dir) as WAV, SVG, PNG",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    c.add_argument(
        "path", type=Path, help="a file, a folder of files, or a generation dir (rendered in place)"
    )
    c.add_argument("--formats", default="wav,svg,png", help="comma-separated: mid, musicxml, wav, svg, png")
    c.add_argument("--out", type=Path, help="output folder (default: beside the input)")
    c.add_argument("--program", type=int, default=None, help="General MIDI program 0-127 (default 73, flute)")
    c.add_argument("--synth", default="auto", help="auto, fluidsynth or numpy")
    c.set_defaults(func=cmd_render)


def settings_from(args):
    from tunelab.sampling import Filters, Settings

    try:
        base = Filters(
            *(FILTER_DEFAULTS[k] if getattr(args, k) is None else getattr(args, k) for k in FILTER_DEFAULTS)
        )
        fields: dict = {}
        for item in args.field:
            name, _, value = item.partition("=")
            field, _, key = name.partition(".")
            if not value or key not in ("temperature", "top_k", "top_p", "min_p"):
                raise ConfigError(
                    f"--field {item!r}: expected NAME.KEY=VALUE, KEY one of temperature, top_k, top_p, min_p"
                )
            current = fields.get(field, base).to_dict()
            current[key] = int(value) if key == "top_k" else float(value)
            fields[field] = Filters(**current)
    except ValueError as err:
        raise ConfigError(f"sampling settings: {err}") from None
    if args.max_steps <= 0:
        raise ConfigError(f"--max-steps must be positive, got {args.max_steps}")
    return Settings(
        filters=base,
        fields=fields,
        grammar=not args.no_grammar,
        max_steps=args.max_steps,
        min_steps=args.min_steps,
        bars=args.bars,
        seed=args.seed,
        batch_size=args.batch_size,
    )


def cmd_generate(args) -> int:
    from tqdm import tqdm

    from tunelab.render import parse_formats
    from tunelab.render.generation import save_samples
    from tunelab.sampling import generate, study_settings
    from tunelab.sampling import prompts as P
    from tunelab.sampling.melody import parse_key, parse_meter
    from tunelab.training.checkpoint import load_run
    from tunelab.training.distributed import choose_device

    formats = parse_formats(args.formats)
    settings = settings_from(args)
    meter, key = parse_meter(args.meter), parse_key(args.key)
    device = choose_device(args.device)
    if (args.run is None) == (args.model is None):
        raise ConfigError("give a run directory or --model NAME (one of the two)")
    from tunelab.pretrained import resolve

    args.run = resolve(args.run or args.model)
    loaded = load_run(args.run, device)  # fails early, naming the file, on a bad run dir
    tokenizer = loaded[1]
    if tokenizer.is_compound:
        unknown = set(settings.fields) - set(tokenizer.fields)
        if unknown:
            raise ConfigError(
                f"--field: {', '.join(sorted(unknown))} not among {', '.join(tokenizer.fields)}"
            )
    elif settings.fields:
        raise ConfigError(f"--field is for compound encodings; {args.run} uses {tokenizer.name}")
    prompts, primers = None, []
    if args.primer:
        prompts, primers = P.from_primer(args.primer, tokenizer)
    elif args.seeds:
        prompts = P.from_seeds(args.seeds, tokenizer)
    if settings.bars and tokenizer.name == "grid":
        num, den = meter or (primers[0].meter_at(0) if primers else (4, 4))
        settings = replace(settings, bar_steps=tokenizer.steps_per_quarter * 4 * num // den)
    if args.protocol == "study":  # its context and stops; its temperature unless filters were given
        chosen = settings.filters
        settings = study_settings(settings)
        if _filters_given(args):
            settings = replace(settings, filters=chosen)
    n = args.n or (len(prompts) if prompts else 8)
    bar = tqdm(total=n, desc="generating", unit="melody")
    t0 = time.perf_counter()
    samples = generate(
        loaded,
        n,
        prompts=prompts,
        settings=settings,
        protocol=args.protocol,
        filters=settings.filters if args.protocol else None,
        progress=lambda done: bar.update(done - bar.n),
    )
    bar.close()
    seconds = time.perf_counter() - t0
    primer_meter = primers[0].meter_at(0) if primers and primers[0].time_signatures else None
    primer_key = tuple(primers[0].keys[0][1:]) if primers and primers[0].keys else None
    _, summary = save_samples(
        args.out,
        samples,
        tokenizer,
        label=args.run.name,
        formats=formats,
        used={"settings": settings.to_dict(), "protocol": args.protocol, "run": str(args.run)},
        meter=meter or primer_meter,
        key=key or primer_key,
        seconds=seconds,
        program=args.program,
        synth=args.synth,
    )
    for line in summary:
        print(line)
    print(f"wrote {args.out / 'index.html'}")
    for fmt in formats:
        print(f"wrote {args.out / 'grid.txt'}" if fmt == "grid" else f"wrote {args.out / fmt}/ ({n} files)")
    return 0


def cmd_render(args) -> int:
    from tunelab.render import parse_formats
    from tunelab.render.generation import render_path

    formats = parse_formats(args.formats, ("mid", "musicxml", "wav", "svg", "png"))
    for path in render_path(args.path, formats, args.out, program=args.program, synth=args.synth):
        print(f"wrote {path}")
    return 0
