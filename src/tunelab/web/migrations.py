"""The listening-test database's schema, version by version: ``MIGRATIONS[v]`` takes a database
from version v - 1 to v (``PRAGMA user_version``). :class:`tunelab.web.store.Store` applies the
missing ones in order when it opens a file, each in one transaction; version 3 also re-keys the
media (see ``Store._rekey``)."""

SCHEMA = 3
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
    # 3: the server records when it served each step's media (listening evidence); tests record when
    # they were closed; items get random keys (see _rekey: keys derived from names were guessable).
    3: """
        CREATE TABLE served (
            listener_id TEXT NOT NULL REFERENCES listeners(id), position INTEGER NOT NULL,
            slot TEXT NOT NULL, served_at REAL NOT NULL,
            PRIMARY KEY (listener_id, position, slot)
        );
        ALTER TABLE tests ADD COLUMN closed_at REAL;
    """,
}
