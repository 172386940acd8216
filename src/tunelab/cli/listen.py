"""``tunelab serve`` and ``tunelab listen create|export|report``: the command-line face of
:mod:`tunelab.web`."""

from __future__ import annotations

import re
import sys
from functools import partial
from pathlib import Path

from tunelab.errors import ConfigError

DEFAULT_DIR = "listening"


# the commands this module adds, and their one-line help (tunelab --help lists them without
# building their parsers)
COMMANDS = {
    "serve": "the gallery and the listening tests in a web page",
    "listen": "create, export and analyse listening tests",
}


def register(sub) -> None:
    _serve_parser(sub)
    _listen_parser(sub)


def _serve_parser(sub) -> None:
    c = sub.add_parser(
        "serve",
        help=COMMANDS["serve"],
        description="Serve the gallery of melody sets and the listening tests (FastAPI + uvicorn). State "
        "(a SQLite database and rendered media) lives under --data-dir. Prints the admin token, which "
        "the results page, test creation and export need.",
    )
    c.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for a network)")
    c.add_argument("--port", type=int, default=8000, help="TCP port")
    c.add_argument("--data-dir", default=DEFAULT_DIR, help="database and media folder")
    c.add_argument(
        "--gallery", nargs="*", default=[], metavar="SET",
        help="generation dirs, folders of files or deutschl to show (NAME=PATH to name one)"
    )  # fmt: skip
    c.add_argument("--admin-token-file", default=None, help="read the admin token from this file (chmod 600)")
    c.add_argument(
        "--admin-token", default=None,
        help="the admin token (visible in ps: prefer --admin-token-file or TUNELAB_ADMIN_TOKEN; "
        "default: a new random one, printed)"
    )  # fmt: skip
    c.add_argument(
        "--allowed-host", action="append", default=None, metavar="NAME",
        help="a name listeners reach the server by (Host header; repeatable; default: --host and localhost)"
    )  # fmt: skip
    c.add_argument(
        "--listeners-per-minute", type=int, default=120, help="new listeners a test takes a minute"
    )
    c.add_argument(
        "--client-listeners-per-minute",
        type=int,
        default=30,
        help="new listeners one address may start a minute",
    )
    c.add_argument("--openapi", action="store_true", help="serve the API description at /api/openapi.json")
    c.add_argument(
        "--compose-model", action="append", default=None, metavar="MODEL",
        help="a shipped model or a run directory the composer (/compose) offers (repeatable; default: "
        "every shipped model)"
    )  # fmt: skip
    c.add_argument("--no-composer", action="store_true", help="serve no composer page")
    c.add_argument(
        "--trusted-proxy", action="append", default=None, metavar="ADDRESS",
        help="a reverse proxy's address whose X-Forwarded-For is believed (repeatable; default: none)"
    )  # fmt: skip
    c.add_argument("--compose-workers", type=int, default=2, help="tunes composed at once (a process each)")
    c.add_argument(
        "--compose-queue", type=int, default=8, help="more that wait; beyond: 503 with Retry-After"
    )
    c.add_argument(
        "--compose-per-minute", type=int, default=60, help="composer requests one address may make a minute"
    )
    c.set_defaults(func=cmd_serve)


def _listen_parser(sub) -> None:
    listen = sub.add_parser("listen", help=COMMANDS["listen"])
    lsub = listen.add_subparsers(title="listen commands", metavar="ACTION")
    c = lsub.add_parser(
        "create",
        help="pick melodies from sets, render them once, store the test",
        description="Pick --n melodies from each set (seeded), optionally mix in real songs as a reference "
        "condition, render audio, sheet music and a piano roll for each, and store the test with its "
        "questions under --data-dir. Prints the test's id and page.",
    )
    from tunelab.cli.flags import defaults_of
    from tunelab.web.design import create

    default = defaults_of(create)  # declared once, there
    c.add_argument(
        "--sets", nargs="+", required=True, help="generation dirs, folders of files or grid-text files"
    )
    c.add_argument("--reference", default=None, help="real songs as a condition: deutschl or a folder")
    c.add_argument("--n", type=int, default=default["n"], help="melodies per set")
    c.add_argument(
        "--seed", type=int, default=default["seed"], help="seeds which melodies are drawn and their order"
    )
    c.add_argument(
        "--scales", default=",".join(default["scales"]), help="comma-separated rating scales (the study's five by default)"
    )  # fmt: skip
    c.add_argument("--points", type=int, default=default["points"], help="points on each scale (1 to this)")
    c.add_argument(
        "--pairs", type=int, default=default["pairs"], help="A/B preference questions per listener"
    )
    c.add_argument("--no-preference", action="store_true", help="A/B questions offer 'no preference' too")
    c.add_argument(
        "--max-seconds", type=float, default=default["max_seconds"], help="each melody cut to this long"
    )
    c.add_argument("--min-play", type=float, default=default["min_play_s"],
                   help="seconds a melody must play before rating")  # fmt: skip
    c.add_argument("--name", default=None, help="the test's title")
    c.add_argument("--data-dir", default=DEFAULT_DIR, help="database and media folder")
    c.set_defaults(func=cmd_create)
    for name, helptext, func in (
        ("export", "every rating and choice, every field, as CSV (formula-safe) or JSON", cmd_export),
        (
            "report",
            "statistics per set and scale, tests between sets, agreement, A/B, Bradley-Terry",
            cmd_report,
        ),
        ("close", "close a test: no more listeners or answers", cmd_close),
    ):
        c = lsub.add_parser(
            name,
            help=helptext,
            description=helptext,
        )
        c.add_argument("test", help="the test's id (tunelab listen create printed it)")
        c.add_argument("--data-dir", default=DEFAULT_DIR, help="database and media folder")
        if name != "close":
            c.add_argument(
                "--out", type=Path, default=None, help="a file (export) or folder (report); default: print"
            )
        if name == "export":
            c.add_argument(
                "--format", choices=["csv", "json"], default=None, help="default: --out's suffix, else csv"
            )
        c.set_defaults(func=func)


def _store(data_dir: str, test: str | None = None):
    from tunelab.web.store import Store

    db = Path(data_dir) / "tunelab.db"
    if not db.exists():
        raise ConfigError(f"{db}: no database here (tunelab listen create makes one)")
    store = Store(db)
    if test is not None and store.test(test) is None:
        known = ", ".join(t["id"] for t in store.tests()) or "none"
        raise ConfigError(f"{db}: no test {test!r} (tests here: {known})")
    return store


def cmd_create(args) -> int:
    from tunelab.web.design import create

    test_id = create(
        args.data_dir, args.sets, reference=args.reference, n=args.n, seed=args.seed,
        scales=args.scales.split(","), points=args.points, pairs=args.pairs, name=args.name,
        max_seconds=args.max_seconds, min_play_s=args.min_play, no_preference=args.no_preference
    )  # fmt: skip
    print(
        f"test {test_id} in {Path(args.data_dir) / 'tunelab.db'}; listeners open /listen/{test_id} on `tunelab serve`"
    )
    return 0


def cmd_export(args) -> int:
    from tunelab.io.atomic import atomic_write_text
    from tunelab.web.analysis import export_csv, export_json

    fmt = args.format or ("json" if args.out and args.out.suffix == ".json" else "csv")
    store = _store(args.data_dir, args.test)
    text = (export_json if fmt == "json" else export_csv)(store, args.test)
    if args.out:
        atomic_write_text(args.out, text)
        print(f"wrote {args.out} ({fmt})")
    else:
        sys.stdout.write(text)
    return 0


def cmd_close(args) -> int:
    changed = _store(args.data_dir, args.test).close(args.test)
    print(f"test {args.test} {'closed' if changed else 'was closed already'}: no more listeners or answers")
    return 0


def cmd_report(args) -> int:
    import json

    from tunelab.io.atomic import atomic_write_text
    from tunelab.web.analysis import analyse, finite, markdown

    result = analyse(_store(args.data_dir, args.test), args.test)
    text = markdown(result)
    if args.out:
        from tunelab.web.pages import results

        args.out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.out / "report.md", text)
        atomic_write_text(args.out / "report.json", json.dumps(finite(result), indent=1))
        atomic_write_text(args.out / "report.html", results(result))
        print(f"wrote {args.out / 'report.md'}, report.json, report.html")
    else:
        sys.stdout.write(text)
    return 0


def composer_of(sources, workers: int, queue: int, per_minute: int = 60):
    """The composer over ``sources`` (shipped names or run directories; None: every shipped
    model), each checked now, loaded on first use by the high-level API."""
    from tunelab.pretrained import names, resolve
    from tunelab.web.composer import Composer

    if workers < 1 or queue < 0 or per_minute < 1:
        raise ConfigError(
            "--compose-workers and --compose-per-minute must be 1 or more and --compose-queue 0 or more, "
            f"got {workers}, {per_minute} and {queue}"
        )
    by_name = {}
    for source in sources or names():
        path = resolve(source)  # ConfigError naming a model that is neither shipped nor a run
        by_name[Path(source).name if Path(source).exists() else source] = path
    composer = Composer(partial(_load_named, by_name), list(by_name), workers=workers, queue=queue,
                        per_minute=per_minute)  # fmt: skip
    composer.pool.warm()  # the workers import and start before the first listener waits on them
    return composer


def _load_named(by_name: dict, name: str):
    """A composer worker's loader (module-level, so that it pickles into the worker)."""
    import tunelab

    return tunelab.load(by_name[name], threads=1)


def cmd_serve(args) -> int:
    try:
        import uvicorn

        from tunelab.web.app import LOOPBACK, Limits, create_app
        from tunelab.web.server import admin_token, check_data_dir, timed_protocol
    except ImportError as err:
        raise ConfigError(
            f"tunelab serve needs the web extra ({err.name} is missing): pip install 'tunelab[web]'"
        ) from None

    gallery = {}
    for spec in args.gallery:
        name, _, path = spec.partition("=") if "=" in spec else (Path(spec).name or spec, "", spec)
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ConfigError(f"--gallery {spec}: name it with letters, digits, . _ - (NAME=PATH)")
        if path != "deutschl" and not Path(path).exists():
            raise ConfigError(f"--gallery {spec}: no such file or folder")
        gallery[name] = path
    data_dir = check_data_dir(args.data_dir)
    token, source, warnings = admin_token(args.admin_token, args.admin_token_file)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr, flush=True)
    hosts = (
        tuple(args.allowed_host or ())
        + LOOPBACK
        + ((args.host,) if args.host not in ("0.0.0.0", "::") else ())
    )
    limits = Limits(
        listeners_per_test_minute=args.listeners_per_minute,
        listeners_per_client_minute=args.client_listeners_per_minute,
    )
    app = create_app(
        data_dir, admin_token=token, gallery=gallery, allowed_hosts=hosts, limits=limits, openapi=args.openapi,
        composer=None if args.no_composer else composer_of(args.compose_model, args.compose_workers,
                                                           args.compose_queue, args.compose_per_minute),
    )  # fmt: skip
    print(f"tunelab serve: http://{args.host}:{args.port}/  data in {data_dir.resolve()}", flush=True)
    if source == "new":
        print(f"admin token: {token}", flush=True)
    else:
        print(f"admin token: from {source}", flush=True)
    if args.host in ("0.0.0.0", "::") and not args.allowed_host:
        print("note: on a network, give --allowed-host NAME for each name listeners use", file=sys.stderr)
    # proxy headers (X-Forwarded-For) are believed only from --trusted-proxy addresses: uvicorn's
    # default believes any client on loopback, which lets one client pass for many
    proxies = {"proxy_headers": bool(args.trusted_proxy), "forwarded_allow_ips": args.trusted_proxy or []}
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", http=timed_protocol(), **proxies)
    return 0
