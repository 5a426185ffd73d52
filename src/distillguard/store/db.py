"""A small SQL layer over sqlite3 and psycopg 3, with one placeholder style (`?`).

Why not an ORM: the parts need a few tables each and exact control over transactions;
an ORM engine would be the largest dependency of the project for no gain.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from distillguard.errors import DistillguardError

Row = dict[str, Any]

_PG_TYPES = (
    (re.compile(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b"), "BIGSERIAL PRIMARY KEY"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
)


def _to_pg(sql: str) -> str:
    """Translate `?` placeholders (outside string literals) to `%s`, escape literal `%`."""
    out: list[str] = []
    in_str = False
    for ch in sql:
        if ch == "'":
            in_str = not in_str
            out.append(ch)
        elif ch == "?" and not in_str:
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


def redact_url(url: str) -> str:
    """The URL with the password (if any) masked, for error messages."""
    return re.sub(r"^(\w+://[^:/@]*):[^@/]*@", r"\1:***@", url)


class Database:
    """A connection to SQLite or PostgreSQL; thread-safe; use `transaction()` for atomic work."""

    dialect: str

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        self._lock = threading.RLock()
        if url.startswith(("postgresql://", "postgres://")):
            self.dialect = "postgres"
            self._pool = self._open_pool(url)
        elif url.startswith("sqlite:///") or url == "sqlite://:memory:":
            self.dialect = "sqlite"
            path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ":memory:"
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            try:
                self._conn = sqlite3.connect(
                    path, check_same_thread=False, isolation_level=None, timeout=30
                )
                self._conn.row_factory = sqlite3.Row
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
                self._conn.execute("PRAGMA foreign_keys=ON")
            except sqlite3.DatabaseError as exc:
                raise DistillguardError(f"cannot open SQLite database {path}: {exc}") from None
        else:
            raise DistillguardError(
                f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://..."
            )

    @staticmethod
    def _open_pool(url: str) -> Any:
        """A connection pool, after one direct connection has proven the server reachable.

        Without that check an unreachable server would make the pool retry in the
        background, logging a warning every 0.5 s, until its 10 s timeout ran out with a
        vague "couldn't get a connection"; instead the caller gets the server's own reason
        at once, as one error (with any password in the URL masked).
        """
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            raise DistillguardError(f"PostgreSQL support is not installed: {exc}") from None
        try:
            psycopg.connect(url, connect_timeout=10).close()
        except Exception as exc:
            reason = "; ".join(x.strip() for x in str(exc).splitlines() if x.strip())
            raise DistillguardError(
                f"cannot connect to PostgreSQL at {redact_url(url)}: {reason}"
            ) from None
        pool = ConnectionPool(url, min_size=1, max_size=8, open=True, timeout=10)
        try:
            with pool.connection() as c:
                c.execute("SELECT 1")
        except Exception as exc:
            pool.close()
            raise DistillguardError(
                f"cannot connect to PostgreSQL at {redact_url(url)}: {exc}"
            ) from None
        return pool

    # -- transactions -------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """Run the block atomically; nested use joins the outer transaction."""
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield self
            finally:
                self._local.depth = depth
            return
        if self.dialect == "sqlite":
            with self._lock:
                self._local.depth = 1
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                else:
                    self._conn.execute("COMMIT")
                finally:
                    self._local.depth = 0
        else:
            with self._pool.connection() as conn, conn.transaction():
                self._local.conn = conn
                self._local.depth = 1
                try:
                    yield self
                finally:
                    self._local.depth = 0
                    self._local.conn = None

    # -- statements ---------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows changed."""
        if self.dialect == "sqlite":
            with self._lock:
                return self._conn.execute(sql, tuple(params)).rowcount
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return int(conn.execute(_to_pg(sql), tuple(params)).rowcount)
        with self._pool.connection() as c:
            return int(c.execute(_to_pg(sql), tuple(params)).rowcount)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        if self.dialect == "sqlite":
            with self._lock:
                self._conn.executemany(sql, [tuple(r) for r in rows])
            return
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            with conn.cursor() as cur:
                cur.executemany(_to_pg(sql), [tuple(r) for r in rows])
            return
        with self._pool.connection() as c, c.cursor() as cur:
            cur.executemany(_to_pg(sql), [tuple(r) for r in rows])

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        if self.dialect == "sqlite":
            with self._lock:
                return [dict(r) for r in self._conn.execute(sql, tuple(params)).fetchall()]
        from psycopg.rows import dict_row

        conn = getattr(self._local, "conn", None)
        if conn is not None:
            with conn.cursor(row_factory=dict_row) as cur:
                cur.execute(_to_pg(sql), tuple(params))
                return list(cur.fetchall())
        with self._pool.connection() as c, c.cursor(row_factory=dict_row) as cur:
            cur.execute(_to_pg(sql), tuple(params))
            return list(cur.fetchall())

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    # -- schema -------------------------------------------------------------------------
    def migrate(self, part: str, statements: Sequence[str]) -> None:
        """Apply a part's schema statements once, in order, tracked by version number.

        Types are written in upper case (BLOB, REAL, INTEGER PRIMARY KEY AUTOINCREMENT) and
        translated for PostgreSQL. Statements are append-only: to change a schema, add a
        statement; never edit one.
        """
        with self.transaction():
            self.execute(
                "CREATE TABLE IF NOT EXISTS schema_versions "
                "(part TEXT PRIMARY KEY, version INTEGER)"
            )
            row = self.query_one("SELECT version FROM schema_versions WHERE part = ?", (part,))
            have = int(row["version"]) if row else 0
            for stmt in statements[have:]:
                if self.dialect == "postgres":
                    for pattern, repl in _PG_TYPES:
                        stmt = pattern.sub(repl, stmt)
                self.execute(stmt)
            if len(statements) > have:
                if row:
                    self.execute(
                        "UPDATE schema_versions SET version = ? WHERE part = ?",
                        (len(statements), part),
                    )
                else:
                    self.execute(
                        "INSERT INTO schema_versions (part, version) VALUES (?, ?)",
                        (part, len(statements)),
                    )

    def close(self) -> None:
        if self.dialect == "sqlite":
            self._conn.close()
        else:
            self._pool.close()


def open_database(url: str | None = None) -> Database:
    """Open the configured database; default: `sqlite:///<data dir>/distillguard.db`."""
    if url is None:
        from distillguard.paths import data_dir

        url = f"sqlite:///{data_dir() / 'distillguard.db'}"
    return Database(url)
