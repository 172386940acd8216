"""``tunelab generate`` and ``tunelab render``: the command-line face of sampling and rendering."""

from __future__ import annotations

from pathlib import Path

from tunelab.cli.asked import _around, _request, _requested, add_asked_flags, settings_from
from tunelab.cli.flags import add_flags, given
from tunelab.errors import ConfigError
from tunelab.threads import HELP as THREADS_HELP

DEFAULT_FORMATS = "mid,musicxml,abc,grid,wav,svg,png"


def _filters_given(args) -> bool:
    """Whether any sampling filter was set on the command line (a protocol's then yield to them)."""
    from tunelab.sampling import Filters

    return bool(given(args, Filters))


# the commands this module adds, and their one-line help (tunelab --help lists them without
# building their parsers)
COMMANDS = {
    "generate": "sample melodies from a trained run; write MIDI, MusicXML, grid, WAV, SVG, PNG and index.html",
    "render": "render MIDI / MusicXML / grid files (or a generation dir) as WAV, SVG, PNG",
}


def register(sub) -> None:
    from tunelab.sampling import Filters, Settings

    c = sub.add_parser(
        "generate",
        help=COMMANDS["generate"],
        description=(
            "Sample melodies from a run directory (tunelab train --out), batched, under the "
            "encoding's grammar, and write a generation dir. The sampling flags are the fields of "
            "tunelab.sampling.Filters and Settings, with their defaults there."
        ),
    )
    c.add_argument("run", type=Path, nargs="?", help="run directory (tunelab train --out); or --model")
    c.add_argument(
        "--model", default=None, help="a shipped model instead of a run: deutschl-lstm, deutschl-hybrid..."
    )
    c.add_argument("--out", required=True, type=Path, help="generation dir to write")
    c.add_argument(
        "--n", type=int, default=None, help="melodies (default: one per prompt, or 8 without prompts)"
    )
    add_flags(c, Filters)
    add_flags(c, Settings)
    c.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="NAME.KEY=VALUE",
        help="compound encodings: a field's own setting, e.g. pitch.temperature=0.9 (repeatable)",
    )
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
    add_asked_flags(c)
    c.add_argument("--program", type=int, default=None, help="General MIDI program 0-127 (default 73, flute)")
    c.add_argument("--synth", default="auto", help="auto, fluidsynth or numpy")
    c.add_argument("--formats", default=DEFAULT_FORMATS, help="comma-separated: " + DEFAULT_FORMATS)
    c.add_argument("--threads", type=int, help=THREADS_HELP)
    c.add_argument("--device", default="cpu", help="cpu, cuda, auto")
    c.set_defaults(func=cmd_generate)

    c = sub.add_parser("render", help=COMMANDS["render"])
    c.add_argument(
        "path", type=Path, help="a file, a folder of files, or a generation dir (rendered in place)"
    )
    c.add_argument(
        "--formats", default="wav,svg,png", help="comma-separated: mid, musicxml, abc, wav, svg, png"
    )
    c.add_argument("--out", type=Path, help="output folder (default: beside the input)")
    c.add_argument("--program", type=int, default=None, help="General MIDI program 0-127 (default 73, flute)")
    c.add_argument("--synth", default="auto", help="auto, fluidsynth or numpy")
    c.set_defaults(func=cmd_render)


def cmd_generate(args) -> int:
    from tunelab.render import parse_formats
    from tunelab.threads import use

    if (args.run is None) == (args.model is None):
        raise ConfigError("give a run directory or --model NAME (one of the two)")
    if args.n is not None and args.n < 1:
        raise ConfigError(f"--n must be at least 1, got {args.n}")
    formats = parse_formats(args.formats)
    use(args.threads, quiet=True)  # said when the work starts
    request = _request(args)
    rewrite = {k: getattr(args, k) for k in ("from_bar", "fill", "vary") if getattr(args, k) is not None}
    if rewrite or args.primer:
        return _around(args, request, rewrite, formats)
    if request:
        return _requested(args, request, formats)
    lines = generate_dir(
        args.run or args.model, args.out, n=args.n, settings=settings_from(args), seeds=args.seeds, protocol=args.protocol, protocol_filters=_filters_given(args), meter=args.meter,
        key=args.key, formats=formats, program=args.program, synth=args.synth, device=args.device
    )  # fmt: skip
    for line in lines:
        print(line)
    return 0


def generate_dir(
    run,
    out,
    *,
    n: int | None = None,
    settings=None,
    seeds=None,
    protocol: str | None = None,
    protocol_filters: bool = False,
    meter: str | None = None,
    key: str | None = None,
    formats=("mid", "musicxml", "abc", "grid", "wav", "svg", "png"),
    program: int | None = None,
    synth: str = "auto",
    device: str = "cpu",
) -> list[str]:
    """Sample melodies from ``run`` (a run directory or a shipped model's name) and write a
    generation dir at ``out``: ``tunelab generate``. Prompts come from a ``seeds`` file (grid
    text), else from scratch; ``protocol="study"`` uses the study's context and stops, and its
    temperature unless ``protocol_filters`` says the settings' filters were chosen; ``meter``
    ("3/4") and ``key`` ("Em") label melodies whose tokens name none (default 4/4 and estimated).
    Returns the lines to show: the summary and the files written. Melodies on request (key,
    meter, bars...) and around a primer come from :class:`tunelab.api.Model` and
    :func:`save_samples`."""
    import time

    from tqdm import tqdm

    from tunelab.errors import ConfigError
    from tunelab.pretrained import resolve
    from tunelab.render.generation import save_samples
    from tunelab.sampling import Settings, generate
    from tunelab.sampling import prompts as P
    from tunelab.sampling.melody import parse_key, parse_meter
    from tunelab.training.checkpoint import load_run
    from tunelab.training.distributed import choose_device

    settings = settings or Settings()
    meter, key = parse_meter(meter), parse_key(key)
    run = resolve(run)
    loaded = load_run(run, choose_device(device))  # fails early, naming the file, on a bad run dir
    tokenizer = loaded[1]
    if tokenizer.is_compound:
        unknown = set(settings.fields) - set(tokenizer.fields)
        if unknown:
            raise ConfigError(
                f"--field: {', '.join(sorted(unknown))} not among {', '.join(tokenizer.fields)}"
            )
    elif settings.fields:
        raise ConfigError(f"--field is for compound encodings; {run} uses {tokenizer.name}")
    prompts = P.from_seeds(seeds, tokenizer) if seeds else None
    settings = _protocol_settings(settings, tokenizer, meter, protocol, protocol_filters)
    n = n or (len(prompts) if prompts else 8)
    from tunelab.io.atomic import out_dir
    from tunelab.threads import say

    out_dir(out)  # before the work: a folder that cannot be written is said now, not after
    say()
    bar = tqdm(total=n, desc="generating", unit="melody", delay=0.5)
    t0 = time.perf_counter()
    samples = generate(
        loaded, n, prompts=prompts, settings=settings, protocol=protocol,
        filters=settings.filters if protocol else None, progress=lambda done: bar.update(done - bar.n),
    )  # fmt: skip
    bar.close()
    out = Path(out)
    _, summary = save_samples(
        out, samples, tokenizer, label=run.name, formats=formats,
        used={"settings": settings.to_dict(), "protocol": protocol, "run": str(run)},
        meter=meter, key=key, seconds=time.perf_counter() - t0,
        program=program, synth=synth,
    )  # fmt: skip
    lines = [*summary, f"wrote {out / 'index.html'}"]
    lines += [
        f"wrote {out / 'grid.txt'}" if f == "grid" else f"wrote {out / f}/ ({n} files)" for f in formats
    ]
    return lines


def _protocol_settings(settings, tokenizer, meter, protocol, protocol_filters: bool):
    """The settings with a grid bar's length from the meter (for ``bars``), and the study's
    protocol applied (its context and stops; its temperature unless filters were chosen)."""
    from dataclasses import replace

    from tunelab.sampling import study_settings

    if settings.bars and not tokenizer.bar_tokens:
        num, den = meter or (4, 4)
        settings = replace(settings, bar_steps=tokenizer.steps_per_quarter * 4 * num // den)
    if protocol == "study":
        chosen = settings.filters
        settings = study_settings(settings)
        if protocol_filters:
            settings = replace(settings, filters=chosen)
    return settings


def cmd_render(args) -> int:
    from tunelab.render import parse_formats
    from tunelab.render.generation import render_path

    formats = parse_formats(args.formats, ("mid", "musicxml", "abc", "wav", "svg", "png"))
    for path in render_path(args.path, formats, args.out, program=args.program, synth=args.synth):
        print(f"wrote {path}")
    return 0
