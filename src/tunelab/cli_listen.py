"""``tunelab serve`` and ``tunelab listen create|export|report``: the command-line face of
:mod:`tunelab.web`."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from tunelab.errors import ConfigError

DEFAULT_DIR = "listening"


def add_listen(sub) -> None:
    c = sub.add_parser(
        "serve",
        help="the gallery and the listening tests in a web page",
        description="Serve the gallery of melody sets and the listening tests (FastAPI + uvicorn). State "
        "(a SQLite database and rendered media) lives under --data-dir. Prints the admin token, which "
        "the results page, test creation and export need.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    c.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for a network)")
    c.add_argument("--port", type=int, default=8000)
    c.add_argument("--data-dir", default=DEFAULT_DIR, help="database and media folder")
    c.add_argument(
        "--gallery", nargs="*", default=[], metavar="SET",
        help="generation dirs, folders of files or deutschl to show (NAME=PATH to name one)",
    )  # fmt: skip
    c.add_argument(
        "--admin-token", default=None,
        help="the admin token (default: a new random one; or set TUNELAB_ADMIN_TOKEN)",
    )  # fmt: skip
    c.set_defaults(func=cmd_serve)

    listen = sub.add_parser("listen", help="create, export and analyse listening tests")
    lsub = listen.add_subparsers(title="listen commands", metavar="ACTION")
    c = lsub.add_parser(
        "create",
        help="pick melodies from sets, render them once, store the test",
        description="Pick --n melodies from each set (seeded), optionally mix in real songs as a reference "
        "condition, render audio, sheet music and a piano roll for each, and store the test with its "
        "questions under --data-dir. Prints the test's id and page.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    c.add_argument(
        "--sets", nargs="+", required=True, help="generation dirs, folders of files or grid-text files"
    )
    c.add_argument("--reference", default=None, help="real songs as a condition: deutschl or a folder")
    c.add_argument("--n", type=int, default=10, help="melodies per set")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument(
        "--scales", default="musicality,coherence,originality,naturalness,overall",
        help="comma-separated rating scales (the study's five by default)",
    )  # fmt: skip
    c.add_argument("--points", type=int, default=10, help="points on each scale (1 to this)")
    c.add_argument("--pairs", type=int, default=0, help="A/B preference questions per listener")
    c.add_argument("--max-seconds", type=float, default=30.0, help="each melody cut to this long")
    c.add_argument("--min-play", type=float, default=5.0, help="seconds a melody must play before rating")
    c.add_argument("--name", default=None, help="the test's title")
    c.add_argument("--data-dir", default=DEFAULT_DIR)
    c.set_defaults(func=cmd_create)
    for name, helptext, func in (
        ("export", "every rating and choice as CSV", cmd_export),
        ("report", "statistics per set and scale, tests between sets, agreement, A/B", cmd_report),
    ):
        c = lsub.add_parser(
            name, help=helptext, description=helptext, formatter_class=argparse.ArgumentDefaultsHelpFormatter
        )
        c.add_argument("test", help="the test's id (tunelab listen create printed it)")
        c.add_argument("--data-dir", default=DEFAULT_DIR)
        c.add_argument(
            "--out", type=Path, default=None, help="a file (export) or folder (report); default: print"
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
        max_seconds=args.max_seconds, min_play_s=args.min_play,
    )  # fmt: skip
    print(
        f"test {test_id} in {Path(args.data_dir) / 'tunelab.db'}; listeners open /listen/{test_id} on `tunelab serve`"
    )
    return 0


def cmd_export(args) -> int:
    from tunelab.io.atomic import atomic_write_text
    from tunelab.web.analysis import export_csv

    text = export_csv(_store(args.data_dir, args.test), args.test)
    if args.out:
        atomic_write_text(args.out, text)
        print(f"wrote {args.out} ({text.count(chr(10)) - 1} rows)")
    else:
        sys.stdout.write(text)
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


def cmd_serve(args) -> int:
    import os
    import secrets

    try:
        import uvicorn

        from tunelab.web.app import create_app
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
    token = args.admin_token or os.environ.get("TUNELAB_ADMIN_TOKEN") or secrets.token_urlsafe(16)
    app = create_app(args.data_dir, admin_token=token, gallery=gallery)
    print(
        f"tunelab serve: http://{args.host}:{args.port}/  data in {Path(args.data_dir).resolve()}", flush=True
    )
    print(f"admin token: {token}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
