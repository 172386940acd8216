"""The listening tests' database: one SQLite file in WAL mode, a schema version and migrations.

Every write is one transaction (``with store.tx() as db``); a response is committed before the
server answers, so an answer the listener saw is on disk even if the process is killed the next
instant (WAL with ``synchronous=FULL``). Connections are per thread: the web server's worker
threads each hold one; SQLite serialises the writers (``busy_timeout``) and readers never wait.

Tables: ``tests`` (the design as JSON), ``items`` (a melody of a test: its set, hidden from
listeners, and an opaque key that names its media), ``listeners`` (anonymous id, consent,
expertise, their step order), ``responses`` (one row per answered step), ``ratings`` (one row
per scale of a rated step) and ``choices`` (A/B preferences).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

SCHEMA = 2
MIGRATIONS = {
    1: """
        CREATE TABLE tests (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, created REAL NOT NULL, design TEXT NOT NULL
        );
        CREATE TABLE items (
            test_id TEXT NOT NULL REFERENCES tests(id), idx INTEGER NOT NULL, key TEXT NOT NULL UNIQUE,
            set_name TEXT NOT NULL, source TEXT NOT NULL, media TEXT NOT NULL,
            PRIMARY KEY (test_id, idx)
        );
        CREATE TABLE listeners (
            id TEXT PRIMARY KEY, test_id TEXT NOT NULL REFERENCES tests(id), number INTEGER NOT NULL,
            created REAL NOT NULL, expertise TEXT, steps TEXT NOT NULL, next_position INTEGER NOT NULL,
            UNIQUE (test_id, number)
        );
        CREATE TABLE responses (
            listener_id TEXT NOT NULL REFERENCES listeners(id), position INTEGER NOT NULL,
            kind TEXT NOT NULL, played_s REAL NOT NULL, comment TEXT, created REAL NOT NULL,
            PRIMARY KEY (listener_id, position)
        );
        CREATE TABLE ratings (
            listener_id TEXT NOT NULL, position INTEGER NOT NULL, item_idx INTEGER NOT NULL,
            scale TEXT NOT NULL, value INTEGER NOT NULL,
            PRIMARY KEY (listener_id, position, scale),
            FOREIGN KEY (listener_id, position) REFERENCES responses(listener_id, position)
        );
        CREATE TABLE choices (
            listener_id TEXT NOT NULL, position INTEGER NOT NULL, a_idx INTEGER NOT NULL,
            b_idx INTEGER NOT NULL, chosen_idx INTEGER NOT NULL,
            PRIMARY KEY (listener_id, position),
            FOREIGN KEY (listener_id, position) REFERENCES responses(listener_id, position)
        );
    """,
    # 2: listeners say they consented (kept, not implied), and what screen they used; tests can be
    # closed to new listeners. Lookups by test stay fast as responses grow.
    2: """
        ALTER TABLE listeners ADD COLUMN consented_at REAL;
        ALTER TABLE listeners ADD COLUMN screen TEXT;
        ALTER TABLE tests ADD COLUMN closed INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX listeners_by_test ON listeners(test_id);
    """,
}


class Conflict(Exception):
    """A write that contradicts what is stored (a step answered out of order, say)."""


class Store:
    """The database under ``path``, migrated to :data:`SCHEMA` on open."""

    def __init__(self, path, *, upto: int = SCHEMA):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self.version = self._migrate(upto)

    def connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    @contextmanager
    def tx(self):
        """One write transaction, taken at once (BEGIN IMMEDIATE), committed or rolled back whole."""
        db = self.connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _migrate(self, upto: int) -> int:
        db = self.connect()
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA:
            from tunelab.errors import ConfigError

            raise ConfigError(
                f"{self.path}: database schema {version} is newer than this tunelab's ({SCHEMA}); upgrade tunelab"
            )
        for v in range(version + 1, upto + 1):
            with self.tx() as tx:
                for statement in MIGRATIONS[v].split(";"):
                    if statement.strip():
                        tx.execute(statement)
                tx.execute(f"PRAGMA user_version = {v}")
        return max(version, upto)

    # --- tests and items ---------------------------------------------------------------------

    def add_test(self, test_id: str, name: str, design: dict, items: list[dict]) -> None:
        with self.tx() as db:
            db.execute(
                "INSERT INTO tests (id, name, created, design) VALUES (?, ?, ?, ?)",
                (test_id, name, time.time(), json.dumps(design)),
            )
            db.executemany(
                "INSERT INTO items (test_id, idx, key, set_name, source, media) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (test_id, i, it["key"], it["set"], it["source"], json.dumps(it["media"]))
                    for i, it in enumerate(items)
                ],
            )

    def tests(self) -> list[dict]:
        rows = self.connect().execute("SELECT id, name, created, closed FROM tests ORDER BY created")
        return [dict(r) for r in rows]

    def test(self, test_id: str) -> dict | None:
        row = self.connect().execute("SELECT * FROM tests WHERE id = ?", (test_id,)).fetchone()
        if row is None:
            return None
        return {**dict(row), "design": json.loads(row["design"])}

    def items(self, test_id: str) -> list[dict]:
        rows = self.connect().execute(
            "SELECT idx, key, set_name, source, media FROM items WHERE test_id = ? ORDER BY idx", (test_id,)
        )
        return [{**dict(r), "media": json.loads(r["media"])} for r in rows]

    def item_by_key(self, key: str) -> dict | None:
        row = self.connect().execute("SELECT test_id, idx, media FROM items WHERE key = ?", (key,)).fetchone()
        return None if row is None else {**dict(row), "media": json.loads(row["media"])}

    # --- listeners ---------------------------------------------------------------------------

    def add_listener(
        self, test_id: str, listener_id: str, expertise: str | None, screen: str | None, order
    ) -> dict:
        """A new listener, numbered in arrival order; ``order(number)`` gives their steps."""
        with self.tx() as db:
            number = db.execute(
                "SELECT COALESCE(MAX(number) + 1, 0) FROM listeners WHERE test_id = ?", (test_id,)
            ).fetchone()[0]
            steps = order(number)
            now = time.time()
            db.execute(
                "INSERT INTO listeners (id, test_id, number, created, expertise, steps, next_position, "
                "consented_at, screen) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
                (listener_id, test_id, number, now, expertise, json.dumps(steps), now, screen),
            )
        return {"id": listener_id, "number": number, "steps": steps, "next_position": 0}

    def listener(self, listener_id: str) -> dict | None:
        row = self.connect().execute("SELECT * FROM listeners WHERE id = ?", (listener_id,)).fetchone()
        return None if row is None else {**dict(row), "steps": json.loads(row["steps"])}

    # --- responses ---------------------------------------------------------------------------

    def respond(
        self,
        listener_id: str,
        position: int,
        *,
        played_s: float,
        ratings: dict[str, int] | None = None,
        chosen: str | None = None,
        comment: str | None = None,
    ) -> str:
        """Store one step's answer in one transaction: ``"stored"``, or ``"duplicate"`` when the
        same step was stored before (a retry after a lost acknowledgement). Raises
        :class:`Conflict` for a step ahead of the listener's next one or a different answer."""
        with self.tx() as db:
            row = db.execute(
                "SELECT steps, next_position FROM listeners WHERE id = ?", (listener_id,)
            ).fetchone()
            if row is None:
                raise KeyError(listener_id)
            steps, nxt = json.loads(row["steps"]), row["next_position"]
            if position < nxt:
                return "duplicate"
            if position > nxt:
                raise Conflict(f"step {position} answered before step {nxt}")
            step = steps[position]
            kind = step["kind"]
            if (kind == "rate") != (ratings is not None) or (kind == "pair") != (chosen is not None):
                raise Conflict(f"step {position} asks for {'ratings' if kind == 'rate' else 'a choice'}")
            db.execute(
                "INSERT INTO responses (listener_id, position, kind, played_s, comment, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (listener_id, position, kind, played_s, comment, time.time()),
            )
            if kind == "rate":
                db.executemany(
                    "INSERT INTO ratings (listener_id, position, item_idx, scale, value) VALUES (?, ?, ?, ?, ?)",
                    [(listener_id, position, step["item"], s, v) for s, v in ratings.items()],
                )
            else:
                a, b = step["a"], step["b"]
                db.execute(
                    "INSERT INTO choices (listener_id, position, a_idx, b_idx, chosen_idx) VALUES (?, ?, ?, ?, ?)",
                    (listener_id, position, a, b, a if chosen == "A" else b),
                )
            db.execute("UPDATE listeners SET next_position = ? WHERE id = ?", (nxt + 1, listener_id))
        return "stored"

    # --- reading out -------------------------------------------------------------------------

    def ratings(self, test_id: str) -> list[dict]:
        """One row per rating: listener (number), expertise, set, item, scale, value, position."""
        rows = self.connect().execute(
            """SELECT l.number AS listener, l.expertise, i.set_name AS set_name, i.idx AS item, r.scale,
                      r.value, r.position, p.played_s, p.comment, p.created
               FROM ratings r JOIN listeners l ON l.id = r.listener_id
               JOIN responses p ON p.listener_id = r.listener_id AND p.position = r.position
               JOIN items i ON i.test_id = l.test_id AND i.idx = r.item_idx
               WHERE l.test_id = ? ORDER BY l.number, r.position, r.scale""",
            (test_id,),
        )
        return [dict(r) for r in rows]

    def choices(self, test_id: str) -> list[dict]:
        """One row per A/B answer: listener, the two items' sets (A as shown first), the chosen set."""
        rows = self.connect().execute(
            """SELECT l.number AS listener, c.position, ia.set_name AS a_set, ib.set_name AS b_set,
                      c.a_idx, c.b_idx, c.chosen_idx, p.played_s, p.created
               FROM choices c JOIN listeners l ON l.id = c.listener_id
               JOIN responses p ON p.listener_id = c.listener_id AND p.position = c.position
               JOIN items ia ON ia.test_id = l.test_id AND ia.idx = c.a_idx
               JOIN items ib ON ib.test_id = l.test_id AND ib.idx = c.b_idx
               WHERE l.test_id = ? ORDER BY l.number, c.position""",
            (test_id,),
        )
        return [dict(r) for r in rows]

    def counts(self, test_id: str) -> dict:
        db = self.connect()
        listeners = db.execute("SELECT COUNT(*) FROM listeners WHERE test_id = ?", (test_id,)).fetchone()[0]
        responses = db.execute(
            "SELECT COUNT(*) FROM responses p JOIN listeners l ON l.id = p.listener_id WHERE l.test_id = ?",
            (test_id,),
        ).fetchone()[0]
        done = db.execute(
            "SELECT COUNT(*) FROM listeners WHERE test_id = ? AND next_position >= json_array_length(steps)",
            (test_id,),
        ).fetchone()[0]
        return {"listeners": listeners, "responses": responses, "finished": done}
