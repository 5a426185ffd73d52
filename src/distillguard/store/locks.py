"""One holder at a time across processes and machines: `singleton(db, name)`.

Why two mechanisms: on PostgreSQL (several replicas on several machines) a session-level
advisory lock on a connection of its own; on SQLite (one machine) an exclusive `flock` on a
file beside the database. Both are released by the operating system or the server when the
holder dies, so a crashed holder never blocks the others and no lease time needs tuning.
The PostgreSQL key includes the current schema, so two deployments sharing one database
(or two test schemas) do not block each other.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from typing import Any


def lock_kind(db: Any) -> str:
    return "postgres_advisory" if db.dialect == "postgres" else "file"


@contextlib.contextmanager
def singleton(db: Any, name: str) -> Iterator[bool]:
    """Try to take the lock `name` for the block; yields whether this process holds it."""
    if db.dialect == "postgres":
        import psycopg

        with psycopg.connect(db.url, autocommit=True, connect_timeout=10) as conn:
            row = conn.execute("SELECT current_schema()").fetchone()
            schema = row[0] if row else ""
            digest = hashlib.sha256(f"distillguard:{name}:{schema}".encode()).digest()
            key = int.from_bytes(digest[:8], "big", signed=True)
            got = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            held = bool(got and got[0])
            try:
                yield held
            finally:
                if held:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        return
    path = db.url[len("sqlite:///") :] if db.url.startswith("sqlite:///") else ""
    if not path:  # an in-memory database belongs to one process by definition
        yield True
        return
    fd = os.open(f"{path}.{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
