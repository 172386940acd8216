"""``tunelab pretrained list | info | pack``: the checkpoints shipped with tunelab."""

from __future__ import annotations

import json

# the commands this module adds, and their one-line help (tunelab --help lists them without
# building their parsers)
COMMANDS = {
    "pretrained": "list the shipped models; pack a run as one",
}


def register(sub) -> None:
    group = sub.add_parser("pretrained", help=COMMANDS["pretrained"])
    psub = group.add_subparsers(title="pretrained commands", metavar="ACTION")
    c = psub.add_parser("list", help="the shipped models and their aliases")
    c.set_defaults(func=cmd_list)
    c = psub.add_parser(
        "info", help="what a model is and what it can be asked for (its controls and their values)"
    )
    c.add_argument("name", help="a shipped model's name, or a run directory")
    c.add_argument("--json", action="store_true", help="as JSON")
    c.set_defaults(func=cmd_info)
    c = psub.add_parser(
        "pack",
        help="copy a finished run into the package as a shipped model (weights as int8)",
        description="Copy RUN's config, log and best weights (as 8-bit integers with a scale per row) into "
        "the installed package under NAME, for `--model NAME` in generate and score.",
    )
    c.add_argument("run", help="a finished run directory")
    c.add_argument("name", help="the shipped model's name, e.g. study-lstm")
    c.set_defaults(func=cmd_pack)


def cmd_list(args) -> int:
    from tunelab.pretrained import aliases, names

    alias = aliases()
    for name in names():
        print(f"{name} -> {alias[name]}" if name in alias else name)
    return 0


def cmd_pack(args) -> int:
    from tunelab.pretrained.pack import pack

    out = pack(args.run, args.name)
    print(json.dumps({"packed": str(out), "bytes": sum(f.stat().st_size for f in out.iterdir())}))
    return 0


def cmd_info(args) -> int:
    from tunelab.pretrained.pack import describe

    info = describe(args.name)
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    for key, value in info.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {v}")
        else:
            print(f"{key}: {value}")
    return 0
