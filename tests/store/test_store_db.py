"""The SQL layer behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from distillguard.errors import DistillguardError
from distillguard.store.db import Database, _to_pg

SCHEMA = [
    "CREATE TABLE things (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, "
    "blob BLOB, score REAL)",
    "CREATE INDEX things_score ON things (score)",
]


def _exercise(db: Database) -> None:
    db.migrate("test", SCHEMA)
    db.migrate("test", SCHEMA)  # idempotent
    db.execute("INSERT INTO things (name, blob, score) VALUES (?, ?, ?)", ("a", b"\x00\x01", 1.5))
    db.executemany("INSERT INTO things (name, score) VALUES (?, ?)", [("b", 2.0), ("c%", 3.0)])
    rows = db.query("SELECT name, score FROM things WHERE name LIKE 'c%' ORDER BY name")
    assert rows == [{"name": "c%", "score": 3.0}]
    assert (
        bytes(db.query_one("SELECT blob FROM things WHERE name = ?", ("a",))["blob"]) == b"\x00\x01"
    )
    with pytest.raises(RuntimeError), db.transaction():
        db.execute("INSERT INTO things (name) VALUES (?)", ("d",))
        raise RuntimeError("roll back")
    assert db.query_one("SELECT name FROM things WHERE name = ?", ("d",)) is None
    with db.transaction(), db.transaction():
        db.execute("INSERT INTO things (name) VALUES (?)", ("e",))
    assert db.query_one("SELECT count(*) AS n FROM things")["n"] == 4


def test_sqlite(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    _exercise(db)
    assert db.query_one("PRAGMA journal_mode")["journal_mode"] == "wal"


@pytest.mark.postgres
def test_postgres(pg_schema):
    _exercise(Database(pg_schema))


def test_placeholders_outside_strings_only():
    assert _to_pg("SELECT '?' , ? WHERE x LIKE 'a%'") == "SELECT '?' , %s WHERE x LIKE 'a%%'"


def test_bad_urls(tmp_path):
    with pytest.raises(DistillguardError, match="unsupported database URL"):
        Database("mysql://x")
    bad = tmp_path / "corrupt.db"
    bad.write_bytes(b"not a database" * 100)
    with pytest.raises(DistillguardError, match="cannot open SQLite"):
        Database(f"sqlite:///{bad}")


def test_unreachable_postgres_fails_fast_with_one_clear_error(caplog):
    """No pool retry loop (a warning every 0.5 s for 10 s): one error at once, no password."""
    import time

    pytest.importorskip("psycopg_pool")
    t = time.monotonic()
    with caplog.at_level("WARNING"), pytest.raises(DistillguardError) as err:
        Database("postgresql://postgres:s3cret@127.0.0.1:1/test")  # nothing listens on port 1
    assert time.monotonic() - t < 5
    msg = str(err.value)
    assert msg.startswith("cannot connect to PostgreSQL at postgresql://postgres:***@127.0.0.1:1/")
    assert "refused" in msg and "s3cret" not in msg and "\n" not in msg
    assert not [r for r in caplog.records if r.name.startswith("psycopg")]
