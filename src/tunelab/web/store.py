"""The listening tests' database: one SQLite file in WAL mode, a schema version and migrations.

Every write is one transaction (``with store.tx() as db``); a response is committed before the
server answers, so an answer the listener saw is on disk even if the process is killed the next
instant (WAL with ``synchronous=FULL``). Connections are per thread: the web server's worker
threads each hold one; SQLite serialises the writers and readers never wait. A writer waits at
most ``busy_ms`` for another's lock, then raises :class:`Busy` (the server answers 503 with
Retry-After), so one stalled writer never holds every request. The database and its WAL files
are created readable by their owner only (0600).

Tables: ``tests`` (the design as JSON), ``items`` (a melody of a test: its set, hidden from
listeners, and a random key that names its media files), ``listeners`` (anonymous id, consent,
expertise, their step order), ``served`` (when each step's media first reached its listener: the
server's evidence of listening time), ``responses`` (one row per answered step), ``ratings``
(one row per scale of a rated step) and ``choices`` (A/B preferences; ``chosen_idx`` -1 for "no
preference").
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from tunelab.web.migrations import MIGRATIONS, SCHEMA


class Conflict(Exception):
    """A write that contradicts what is stored (a step answered out of order, say)."""


class Busy(Exception):
    """Another process held the database's write lock for longer than the store waits."""


class Unwritable(Exception):
    """The database cannot be written: read-only, or the disk is full (``reason`` says which)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


_REASONS = ((("locked", "busy"), "busy"), (("readonly", "read-only"), "read_only"), (("full",), "disk_full"))
_SAYS = {"read_only": "the database is read-only", "disk_full": "the disk is full"}


def new_key() -> str:
    """A media key: 16 random hex digits (64 bits from the OS's generator), derived from nothing."""
    return secrets.token_hex(8)


class Store:
    """The database under ``path``, migrated to :data:`SCHEMA` on open."""

    def __init__(self, path, *, upto: int = SCHEMA, busy_ms: int = 1500, waiting_writers: int = 16):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.busy_ms = busy_ms
        # at most this many writers wait for the lock at once; the next is Busy at once, so that
        # waiting writers never hold the server's worker threads that reads need
        self._writers = threading.BoundedSemaphore(waiting_writers)
        self._local = threading.local()
        self.last_error: tuple[float, str] | None = None  # (when, reason) of the last failed write
        _private(self.path)
        self.version = self._migrate(upto)
        for suffix in ("-wal", "-shm"):  # SQLite copies the database's mode; older files may differ
            extra = Path(f"{self.path}{suffix}")
            if extra.exists():
                _private(extra)

    def connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(
                self.path, timeout=self.busy_ms / 1000, isolation_level=None, check_same_thread=False
            )
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute(f"PRAGMA busy_timeout={int(self.busy_ms)}")
            self._local.db = db
        return db

    @contextmanager
    def tx(self):
        """One write transaction, taken at once (BEGIN IMMEDIATE), committed or rolled back whole.
        Raises :class:`Busy` when another writer holds the lock past ``busy_ms``, and
        :class:`Unwritable` for a read-only database or a full disk."""
        if not self._writable_now():  # one answer for every connection, old ones included
            raise self._classify(sqlite3.OperationalError("attempt to write a readonly database"))
        recent = self.last_error and self.last_error[1] == "busy" and time.time() - self.last_error[0] < 1.0
        # a writer timed out a moment ago (the lock is held): refuse at once; else wait a little for a
        # place among the waiting writers (writes take milliseconds when nothing holds the lock)
        if recent or not self._writers.acquire(timeout=0.05):
            raise Busy(f"{self.path}: the database is busy (writers waiting)")  # last_error as it was
        try:
            with self._tx() as db:
                yield db
        finally:
            self._writers.release()

    @contextmanager
    def _tx(self):
        db = self.connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLite rolls back by itself on some errors (a full disk)
                    db.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as err:
            raise self._classify(err) from None
        self.last_error = None

    def _classify(self, err: sqlite3.OperationalError) -> Exception:
        text = str(err).lower()
        reason = next((r for words, r in _REASONS if any(w in text for w in words)), "error")
        self.last_error = (time.time(), reason)
        if reason == "busy":
            return Busy(f"{self.path}: the database is busy (another writer holds its lock)")
        return Unwritable(reason, f"{self.path}: {_SAYS.get(reason, err)}")

    def state(self, recent_s: float = 60.0) -> str:
        """``ok``, or why writes fail: ``busy`` / ``read_only`` / ``disk_full`` / ``error`` (the
        last failed write within ``recent_s``), ``read_only`` when the files are not writable.
        Reads only: never waits for a lock."""
        if not self._writable_now():
            return "read_only"
        if self.last_error and self.last_error[1] == "busy":
            return self._probe()  # what the store is now, not what it was at the last write
        if self.last_error and time.time() - self.last_error[0] < recent_s:
            return self.last_error[1]
        self.connect().execute("SELECT 1").fetchone()
        return "ok"

    def _writable_now(self) -> bool:
        return os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK)

    def _probe(self) -> str:  # ok if the write lock can be taken this instant (taken and let go)
        db = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
        except sqlite3.OperationalError:
            return "busy"
        finally:
            db.close()
        self.last_error = None
        return "ok"

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
                if v == 3:
                    self._rekey(tx)
                tx.execute(f"PRAGMA user_version = {v}")
        return max(version, upto)

    def _rekey(self, tx) -> None:
        """Schema 3: give every item a random key and rename its media files to match (earlier
        keys were sha256(test/set/source), which anyone knowing a set's name could recompute)."""
        media = self.path.parent / "media"
        for row in tx.execute("SELECT test_id, idx, key, media FROM items").fetchall():
            key, files = new_key(), json.loads(row["media"])
            for ext in ("wav", "svg", "png"):
                name = files.get(ext)
                if name:
                    old, new = media / row["test_id"] / name, media / row["test_id"] / f"{key}.{ext}"
                    if old.exists():
                        os.replace(old, new)
                    files[ext] = new.name
            tx.execute(
                "UPDATE items SET key = ?, media = ? WHERE test_id = ? AND idx = ?",
                (key, json.dumps(files), row["test_id"], row["idx"]),
            )

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
                if self._stored_answer(db, listener_id, position, steps[position]) != (
                    ratings,
                    chosen,
                    comment,
                ):
                    raise Conflict(f"step {position} was answered already, with other values")
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
                    (listener_id, position, a, b, {"A": a, "B": b}.get(chosen, -1)),
                )
            db.execute("UPDATE listeners SET next_position = ? WHERE id = ?", (nxt + 1, listener_id))
        return "stored"

    @staticmethod
    def _stored_answer(db, listener_id: str, position: int, step: dict) -> tuple:
        """(ratings, choice, comment) as stored for a step, in :meth:`respond`'s terms."""
        comment = db.execute(
            "SELECT comment FROM responses WHERE listener_id = ? AND position = ?", (listener_id, position)
        ).fetchone()["comment"]
        if step["kind"] == "rate":
            rows = db.execute(
                "SELECT scale, value FROM ratings WHERE listener_id = ? AND position = ?",
                (listener_id, position),
            )
            return {r["scale"]: r["value"] for r in rows}, None, comment
        c = db.execute(
            "SELECT a_idx, b_idx, chosen_idx FROM choices WHERE listener_id = ? AND position = ?",
            (listener_id, position),
        ).fetchone()
        return None, {c["a_idx"]: "A", c["b_idx"]: "B"}.get(c["chosen_idx"], "none"), comment

    def mark_served(self, listener_id: str, position: int, slot: str, at: float) -> None:
        """Record the first time (``at``, epoch seconds) a step's medium (``slot``: x, a or b)
        was sent to its listener; later times are ignored."""
        with self.tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO served (listener_id, position, slot, served_at) VALUES (?, ?, ?, ?)",
                (listener_id, position, slot, at),
            )

    def served(self, listener_id: str, position: int) -> dict[str, float]:
        """slot -> when the step's medium was first served."""
        rows = self.connect().execute(
            "SELECT slot, served_at FROM served WHERE listener_id = ? AND position = ?",
            (listener_id, position),
        )
        return {r["slot"]: r["served_at"] for r in rows}

    def close(self, test_id: str) -> bool:
        """Close a test to new listeners and answers; False if it was closed already."""
        with self.tx() as db:
            done = db.execute(
                "UPDATE tests SET closed = 1, closed_at = ? WHERE id = ? AND closed = 0",
                (time.time(), test_id),
            )
            return done.rowcount == 1

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
        """One row per A/B answer: listener (number), expertise, the two items' sets (A as shown
        first) and indices, the chosen index (-1: no preference), played time, comment, time."""
        rows = self.connect().execute(
            """SELECT l.number AS listener, l.expertise, c.position, ia.set_name AS a_set, ib.set_name AS b_set,
                      c.a_idx, c.b_idx, c.chosen_idx, p.played_s, p.comment, p.created
               FROM choices c JOIN listeners l ON l.id = c.listener_id
               JOIN responses p ON p.listener_id = c.listener_id AND p.position = c.position
               JOIN items ia ON ia.test_id = l.test_id AND ia.idx = c.a_idx
               JOIN items ib ON ib.test_id = l.test_id AND ib.idx = c.b_idx
               WHERE l.test_id = ? ORDER BY l.number, c.position""",
            (test_id,),
        )
        return [dict(r) for r in rows]

    def counts(self, test_id: str) -> dict:
        query = """SELECT (SELECT COUNT(*) FROM listeners WHERE test_id = ?1),
            (SELECT COUNT(*) FROM responses p JOIN listeners l ON l.id = p.listener_id WHERE l.test_id = ?1),
            (SELECT COUNT(*) FROM listeners WHERE test_id = ?1 AND next_position >= json_array_length(steps))"""
        row = self.connect().execute(query, (test_id,)).fetchone()
        return {"listeners": row[0], "responses": row[1], "finished": row[2]}


def _private(path: Path) -> None:
    """Create ``path`` (mode 0600) if missing; take away group and other access if not."""
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    with contextlib.suppress(OSError):  # not ours: SQLite will say what it can do with it
        os.chmod(path, path.stat().st_mode & 0o700)
