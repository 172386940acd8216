"""``tunelab generate`` on request and around a primer: the flags, and melodies made through
:class:`tunelab.api.Model` (the controls checked before any work) then written as a generation dir."""

from __future__ import annotations

from tunelab.cli.flags import given
from tunelab.errors import ConfigError


def settings_from(args):
    from tunelab.sampling import Filters, Settings

    try:
        base = Filters(**given(args, Filters))
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
    chosen = given(args, Settings)
    if chosen.get("max_steps", 1) <= 0:
        raise ConfigError(f"--max-steps must be positive, got {chosen['max_steps']}")
    return Settings(filters=base, fields=fields, **chosen)


def add_asked_flags(c) -> None:
    """The flag groups "melodies on request" and "new music around a tune"."""
    asked = c.add_argument_group(
        "melodies on request",
        "what the melodies must be: meter, upbeat and bars kept by the grammar at every step; key, mode "
        "and type conditioned on (a model without keys is transposed to --key); a control the model "
        "was not trained with is refused, naming what it knows (tunelab pretrained info NAME)",
    )
    asked.add_argument("--key", help="tonic, e.g. D, F#, Bb (Dm, 'D dorian' name the mode too)")
    asked.add_argument("--mode", help="major, minor, dorian, phrygian, lydian, mixolydian or locrian")
    asked.add_argument("--meter", help="e.g. 6/8: every bar of it")
    asked.add_argument(
        "--bars", type=int, help="how many bars (from the first full one): the melody ends on the last"
    )
    asked.add_argument("--pickup", type=float, help="an upbeat of this many quarter notes (0: none)")
    asked.add_argument("--type", help="tune type, e.g. reel, jig, hornpipe")
    asked.add_argument("--transpose-to", help="move every melody to this tonic afterwards (any model)")
    around = c.add_argument_group(
        "new music around a tune (--primer TUNE)",
        "each piece of the primer continued (the first one filled in or varied), read in the form the model "
        "learned (played or written); its key, meter and barring are kept. --bars: the bars in all, the melody "
        "ending on the last",
    )
    around.add_argument(
        "--from-bar", type=int, metavar="K", help="keep bars 1..K-1 of the primer, write the rest"
    )
    around.add_argument("--fill", metavar="I-J", help="write bars I..J anew between the others (a model trained "
                        "with --infill)")  # fmt: skip
    around.add_argument("--vary", type=float, metavar="KEEP", help="a variation keeping this share of the bars, "
                        "the others filled in (a model trained with --infill)")  # fmt: skip


def _request(args) -> dict:
    """The controls asked for on the command line, as :meth:`tunelab.api.Model.generate` takes them."""
    out = {k: getattr(args, k) for k in ("mode", "meter", "bars", "pickup", "type", "transpose_to")}
    out = {k: v for k, v in out.items() if v is not None}
    if args.key:  # as ABC's K: writes it: D, Dm, Ador, "D dorian", F#mix
        from tunelab.io.abc_fields import NeedsMusic21, key_name

        try:
            tonic, mode = key_name(args.key)
        except NeedsMusic21:
            tonic = None
        if tonic is None:
            raise ConfigError(
                f"--key {args.key!r}: expected a tonic and perhaps a mode, e.g. D, Dm, Ador, 'D dorian'"
            )
        out["key"] = tonic
        if mode and "mode" not in out:
            out["mode"] = mode
    if out.get("bars") is not None and out["bars"] < 1:
        raise ConfigError(f"--bars must be at least 1, got {out['bars']}")
    return out


def _requested(args, request: dict, formats) -> int:
    """Melodies on request (:class:`tunelab.api.Model`), written as a generation dir."""
    import time

    from tqdm import tqdm

    import tunelab
    from tunelab.io.atomic import out_dir
    from tunelab.render.generation import save_samples
    from tunelab.threads import say

    if args.seeds or args.protocol:
        raise ConfigError("--key, --mode, --meter, --bars, --pickup, --type and --transpose-to ask for new "
                          "melodies: give them without --seeds or --protocol")  # fmt: skip
    model = tunelab.load(args.run or args.model, device=args.device, threads=args.threads)
    n, settings = args.n or 8, settings_from(args)
    model.check(**request)  # what it cannot honour, said before any work
    out_dir(args.out)
    say()
    bar = tqdm(total=n, desc="generating", unit="melody", delay=0.5)  # an error before any work: said alone
    t0 = time.perf_counter()
    melodies = model.generate(n, settings=settings, progress=lambda done: bar.update(done - bar.n), **request)
    bar.close()
    _, summary = save_samples(
        args.out, melodies, model.tokenizer, label=model.name, formats=formats,
        used={"settings": settings.to_dict(), "request": request, "run": str(model.run)},
        seconds=time.perf_counter() - t0, program=args.program, synth=args.synth,
        made=[m.score for m in melodies],
    )  # fmt: skip
    for line in [*summary, f"wrote {args.out / 'index.html'}"]:
        print(line)
    return 0


def _around(args, request: dict, rewrite: dict, formats) -> int:
    """New music around a primer: each of its pieces continued (after its end or from a bar), or
    its first piece filled in or varied."""
    import time

    from tqdm import tqdm

    import tunelab
    from tunelab.api import _tunes, parse_bars
    from tunelab.io.atomic import out_dir
    from tunelab.render.generation import save_samples
    from tunelab.sampling.rewrite import bars_of
    from tunelab.threads import say
    from tunelab.tokenizers.infill import fills_in

    if not args.primer:
        raise ConfigError(
            f"--{next(iter(rewrite)).replace('_', '-')} needs --primer TUNE (the tune to work on)"
        )
    if len(rewrite) > 1:
        raise ConfigError("--from-bar, --fill and --vary are three ways to work on a tune: give one")
    other = sorted(set(request) - {"bars", "meter", "key", "mode"})
    if other or (rewrite.keys() & {"fill", "vary"} and "bars" in request):
        flag = other[0] if other else "bars"
        raise ConfigError(f"--{flag.replace('_', '-')} is not for a melody made around a primer: the primer's own "
                          "key, meter, type and barring are kept (--bars with --primer or --from-bar: the bars in all)")  # fmt: skip
    model = tunelab.load(args.run or args.model, device=args.device, threads=args.threads)
    tunes = _tunes(args.primer, model.form)
    tune = tunes[0]
    for t in tunes:
        _agrees(t, request, args.primer)
    have = min(bars_of(t) for t in tunes)
    if "fill" in rewrite:
        first, last = parse_bars(rewrite["fill"])
        if last > have:
            raise ConfigError(f"--fill {first}-{last}: {args.primer} has bars 1-{have}")
    if "vary" in rewrite and not 0 <= rewrite["vary"] < 1:
        raise ConfigError(f"--vary {rewrite['vary']}: the share of bars kept is 0 to below 1")
    if "from_bar" in rewrite and not 2 <= rewrite["from_bar"] <= have:
        raise ConfigError(f"--from-bar {rewrite['from_bar']}: {args.primer} has bars 1-{have}; continue from bar 2 "
                          f"to {have}")  # fmt: skip
    kept = rewrite["from_bar"] - 1 if "from_bar" in rewrite else have
    if "bars" in request and request["bars"] <= kept:
        raise ConfigError(f"--bars {request['bars']}: the primer already has {kept} bars; ask for more")
    if rewrite.keys() & {"fill", "vary"} and not fills_in(model.tokenizer):
        raise ConfigError(f"--{next(iter(rewrite))}: {model.name} was not trained to fill in (tunelab train --infill "
                          "0.5 trains one)")  # fmt: skip
    n, settings = args.n or (4 if rewrite.keys() & {"fill", "vary"} else len(tunes)), settings_from(args)
    out_dir(args.out)
    say()
    bar = tqdm(total=n, desc="generating", unit="melody", delay=0.5)
    tick = lambda done: bar.update(done - bar.n)  # noqa: E731
    t0 = time.perf_counter()
    if "fill" in rewrite:
        melodies = model.fill(tune, rewrite["fill"], n, settings=settings, progress=tick)
    elif "vary" in rewrite:
        melodies = model.vary(tune, rewrite["vary"], n, settings=settings, progress=tick)
    else:
        melodies = model.continue_tune(tunes, n, from_bar=rewrite.get("from_bar"), bars=request.get("bars"),
                                       settings=settings, progress=tick)  # fmt: skip
    bar.close()
    _, summary = save_samples(
        args.out, melodies, model.tokenizer, label=model.name, formats=formats,
        used={"settings": settings.to_dict(), "request": {**request, **rewrite}, "primer": str(args.primer),
              "run": str(model.run)},
        seconds=time.perf_counter() - t0, program=args.program, synth=args.synth, made=[m.score for m in melodies],
    )  # fmt: skip
    for line in [*summary, f"wrote {args.out / 'index.html'}"]:
        print(line)
    return 0


def _agrees(tune, request: dict, path) -> None:
    """ConfigError where --meter, --key or --mode contradict the primer."""
    from tunelab.sampling.melody import parse_meter

    if "meter" in request:
        asked = parse_meter(request["meter"])
        have = {ts[1:] for ts in tune.time_signatures} or {(4, 4)}
        if asked not in have:
            shown = ", ".join(f"{n}/{d}" for n, d in sorted(have))
            raise ConfigError(f"--meter {request['meter']}: {path} is in {shown}")
    key = tune.keys[0][1:] if tune.keys else None
    if "key" in request and (key is None or key[0] != request["key"]):
        raise ConfigError(f"--key {request['key']}: {path} is in {key[0] if key else 'no written key'}")
    if "mode" in request and (key is None or key[1] != request["mode"]):
        raise ConfigError(f"--mode {request['mode']}: {path} is in {key[1] if key else 'no written mode'}")
