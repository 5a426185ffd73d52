"""PostgreSQL backend: the same tables and behaviour as SQLite, for production.

Batches are written with COPY inside one transaction that first locks the head row
(`SELECT ... FOR UPDATE`), so concurrent appenders from several hosts serialise on it
and indices stay dense. A batch is acknowledged only after COMMIT returns, which with
PostgreSQL's default `synchronous_commit=on` means it is in the WAL on disk.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from distillguard.errors import DistillguardError

from .merkle import NodeKey
from .storage import (
    _INSERT_PAYLOAD,
    SCHEMA,
    Batch,
    NodeRow,
    PayloadRow,
    RecordRow,
    Storage,
    StoredCheckpoint,
)


def _pg(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresStorage(Storage):
    """Two connections (writes, reads), each guarded by a lock."""

    def __init__(self, url: str, *, create: bool) -> None:
        import psycopg

        self.url = url
        self._psycopg = psycopg
        self._wlock = threading.Lock()
        self._rlock = threading.Lock()
        try:
            self._w = psycopg.connect(url, connect_timeout=10)
            self._r = psycopg.connect(url, connect_timeout=10, autocommit=True)
        except psycopg.Error as exc:
            raise DistillguardError(f"cannot connect to PostgreSQL ledger {url}: {exc}") from None

    def _err(self, exc: Exception) -> DistillguardError:
        return DistillguardError(f"PostgreSQL ledger error: {str(exc).splitlines()[0]}")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._rlock:
            try:
                return self._r.execute(_pg(sql), params).fetchall()  # type: ignore[arg-type]
            except self._psycopg.Error as exc:
                raise self._err(exc) from None

    def _write(self, fn: Callable[[Any], Any]) -> Any:
        with self._wlock:
            try:
                with self._w.transaction():
                    return fn(self._w)
            except self._psycopg.Error as exc:
                raise self._err(exc) from None

    def initialise(self) -> None:
        schema = SCHEMA.format(without_rowid="", idx_type="BIGINT").replace("BLOB", "BYTEA")

        def run(c: Any) -> None:
            c.execute("SELECT pg_advisory_xact_lock(7152243)")
            for stmt in schema.split(";"):
                if stmt.strip():
                    c.execute(stmt)

        self._write(run)

    def exists(self) -> bool:
        rows = self._read(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_name LIKE 'ledger_%'"
        )
        return int(rows[0][0]) >= 6

    def meta(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self._read("SELECT key, value FROM ledger_meta")}

    def set_meta_if_absent(self, values: dict[str, str]) -> dict[str, str]:
        def run(c: Any) -> None:
            with c.cursor() as cur:
                cur.executemany(
                    "INSERT INTO ledger_meta (key, value) VALUES (%s, %s) "
                    "ON CONFLICT (key) DO NOTHING",
                    list(values.items()),
                )

        self._write(run)
        return self.meta()

    def head_size(self) -> int:
        rows = self._read("SELECT size FROM ledger_head WHERE id = 1")
        if not rows:
            raise DistillguardError(f"ledger {self.url} has no head row")
        return int(rows[0][0])

    def append(self, build: Callable[[int], Batch]) -> int:
        def run(c: Any) -> int:
            size = int(
                c.execute("SELECT size FROM ledger_head WHERE id = 1 FOR UPDATE").fetchone()[0]
            )
            batch = build(size)
            with c.cursor() as cur:
                if batch.records:
                    with cur.copy("COPY ledger_records (idx, leaf, body) FROM STDIN") as cp:
                        for row in batch.records:
                            cp.write_row(row)
                if batch.nodes:
                    with cur.copy("COPY ledger_nodes (level, idx, hash) FROM STDIN") as cp:
                        for node in batch.nodes:
                            cp.write_row(node)
                if batch.payloads:
                    cur.executemany(_pg(_INSERT_PAYLOAD), batch.payloads)
            new_size = size + len(batch.records)
            c.execute("UPDATE ledger_head SET size = %s WHERE id = 1", (new_size,))
            return new_size

        return int(self._write(run))

    def add_payloads(self, rows: Sequence[PayloadRow]) -> None:
        def run(c: Any) -> None:
            with c.cursor() as cur:
                cur.executemany(_pg(_INSERT_PAYLOAD), list(rows))

        self._write(run)

    def get_nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        leaves = [i for lvl, i in keys if lvl == 0]
        inner = [(lvl, i) for lvl, i in keys if lvl > 0]
        out: dict[NodeKey, bytes] = {}
        if leaves:
            for i, h in self._read(
                "SELECT idx, leaf FROM ledger_records WHERE idx = ANY(?)", (leaves,)
            ):
                out[(0, int(i))] = bytes(h)
        if inner:
            rows = self._read(
                "SELECT n.level, n.idx, n.hash FROM ledger_nodes n "
                "JOIN unnest(?::int[], ?::bigint[]) AS k(level, idx) "
                "ON n.level = k.level AND n.idx = k.idx",
                ([k[0] for k in inner], [k[1] for k in inner]),
            )
            for lvl, i, h in rows:
                out[(int(lvl), int(i))] = bytes(h)
        return out

    def get_record(self, idx: int) -> tuple[bytes, bytes] | None:
        rows = self._read("SELECT leaf, body FROM ledger_records WHERE idx = ?", (idx,))
        return (bytes(rows[0][0]), bytes(rows[0][1])) if rows else None

    def _scan(self, sql: str, params: Sequence[Any], chunk: int) -> Iterator[list[Any]]:
        psycopg = self._psycopg
        try:
            with psycopg.connect(self.url) as conn, conn.cursor(name="ledger_scan") as cur:
                cur.itersize = chunk
                cur.execute(_pg(sql), params)
                while rows := cur.fetchmany(chunk):
                    yield rows
        except psycopg.Error as exc:
            raise self._err(exc) from None

    def iter_records(self, start: int, chunk: int) -> Iterator[list[RecordRow]]:
        for rows in self._scan(
            "SELECT idx, leaf, body FROM ledger_records WHERE idx >= ? ORDER BY idx",
            (start,),
            chunk,
        ):
            yield [(int(i), bytes(lf), bytes(b)) for i, lf, b in rows]

    def iter_nodes(self, chunk: int) -> Iterator[list[NodeRow]]:
        for rows in self._scan(
            "SELECT level, idx, hash FROM ledger_nodes ORDER BY level, idx", (), chunk
        ):
            yield [(int(lv), int(i), bytes(h)) for lv, i, h in rows]

    def count_records(self) -> int:
        return int(self._read("SELECT count(*) FROM ledger_records")[0][0])

    def add_checkpoint(self, cp: StoredCheckpoint) -> None:
        self._write(
            lambda c: c.execute(
                "INSERT INTO ledger_checkpoints (size, root, note, created) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (size) DO NOTHING",
                (cp.size, cp.root, cp.note, cp.created),
            )
        )

    def checkpoints(self) -> list[StoredCheckpoint]:
        rows = self._read("SELECT size, root, note, created FROM ledger_checkpoints ORDER BY size")
        return [StoredCheckpoint(int(s), bytes(r), str(n), float(t)) for s, r, n, t in rows]

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        rows = self._read(
            "SELECT size, root, note, created FROM ledger_checkpoints ORDER BY size DESC LIMIT 1"
        )
        if not rows:
            return None
        s, r, n, t = rows[0]
        return StoredCheckpoint(int(s), bytes(r), str(n), float(t))

    def get_payload(self, payload_id: str) -> tuple[str, bytes, bytes] | None:
        rows = self._read(
            "SELECT kind, salt, payload FROM ledger_payloads WHERE payload_id = ?", (payload_id,)
        )
        return (str(rows[0][0]), bytes(rows[0][1]), bytes(rows[0][2])) if rows else None

    def delete_payloads(self, payload_id: str | None, expired_before: float | None) -> int:
        def run(c: Any) -> int:
            if payload_id is not None:
                cur = c.execute("DELETE FROM ledger_payloads WHERE payload_id = %s", (payload_id,))
            else:
                cur = c.execute(
                    "DELETE FROM ledger_payloads WHERE expires IS NOT NULL AND expires < %s",
                    (expired_before,),
                )
            return int(cur.rowcount)

        return int(self._write(run))

    def close(self) -> None:
        with self._wlock, self._rlock:
            self._w.close()
            self._r.close()
