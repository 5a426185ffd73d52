"""Scheduled screening sync inside `distillguard serve`: list files in, customers' statuses out.

Why in the gateway: `distillguard sync-screening` had to be run by hand (or from cron), and
a customer a new list names kept working until someone did. With `[screening]
sync_interval_s > 0` every replica runs a background task that, when a sync is due, takes a
cluster-wide lock, imports the configured source files whose content changed (screening
part), then reconciles every customer's status with the current verdicts
(`ScreeningLink.reconcile`: stale lists become `stale`, which the rules hold). The work runs
in a worker thread, never on the request path.

- One replica at a time: `distillguard.store.locks.singleton` (a PostgreSQL advisory lock,
  or an exclusive `flock` beside a SQLite database; both die with their holder). The time
  of the last success is shared in the database, so N replicas sync once per interval,
  not N times.
- An unchanged file is never re-imported: an import re-stamps the snapshot, and for a list
  without a publication date that would make an old list look fresh (fail open). Stale
  lists keep failing closed.
- A failed import (missing or malformed file) is counted and logged; the reconcile still
  runs, so lists that age past their maximum still turn customers `stale`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from distillguard.errors import DistillguardError
from distillguard.gateway.wiring import ScreeningLink, SyncReport
from distillguard.store.locks import lock_kind, singleton

log = logging.getLogger("distillguard.gateway.screening_sync")

SOURCES = ("ofac", "un", "csl", "internal")
SCHEMA = [
    "CREATE TABLE IF NOT EXISTS gateway_screening_sync ("
    " name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL)",
]
RETRY_S = 300.0  # after a failed sync, the next attempt waits at most this long


@dataclass(frozen=True, slots=True)
class Source:
    """One list file the sync imports when its content changes."""

    source: str
    path: Path


def parse_sources(spec: str) -> list[Source]:
    """`"ofac=/lists/sdn.csv, un=/lists/consolidated.xml"` -> sources (one per list)."""
    out: list[Source] = []
    for item in (x.strip() for x in spec.split(",")):
        if not item:
            continue
        name, sep, path = item.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or name not in SOURCES or not path:
            raise DistillguardError(
                f"config [screening] sources: {item!r} is not SOURCE=PATH "
                f"(SOURCE one of {', '.join(SOURCES)})"
            )
        if any(s.source == name for s in out):
            raise DistillguardError(f"config [screening] sources: {name} named twice")
        out.append(Source(name, Path(path)))
    return out


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


class ScreeningSync:
    """The scheduled sync of one gateway process (start/stop with the app)."""

    def __init__(
        self,
        link: ScreeningLink,
        db: Any,
        *,
        interval_s: float = 0.0,
        sources: list[Source] | None = None,
        registry: Any = None,
    ) -> None:
        from prometheus_client import Counter, Gauge

        self.link = link
        self.db = db
        self.interval_s = max(0.0, float(interval_s))
        self.sources = sources or []
        self.lock_kind = lock_kind(db)
        self.last_run: dict[str, Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._inflight: asyncio.Future[dict[str, Any]] | None = None
        self._migrated = False
        kw: dict[str, Any] = {"registry": registry}
        self.m_runs = Counter(
            "distillguard_screening_sync_runs",
            "Screening sync runs of this process by result (failed: an import or the "
            "reconcile raised; locked: another replica was syncing)",
            ["result"],
            **kw,
        )
        self.m_last_ok = Gauge(
            "distillguard_screening_sync_last_success_timestamp_seconds",
            "Unix time of the last successful screening sync by any replica (0: never)",
            **kw,
        )

    @classmethod
    def from_config(cls, cfg: Any, link: ScreeningLink, db: Any, registry: Any) -> ScreeningSync:
        sc = cfg.screening
        return cls(
            link,
            db,
            interval_s=sc.sync_interval_s,
            sources=parse_sources(sc.sources),
            registry=registry,
        )

    # -- shared state (in the database) ---------------------------------------------------
    def _migrate(self) -> None:
        if not self._migrated:
            self.db.migrate("gateway_screening_sync", SCHEMA)
            self._migrated = True

    def _get(self, name: str) -> dict[str, Any]:
        self._migrate()
        row = self.db.query_one("SELECT value FROM gateway_screening_sync WHERE name = ?", (name,))
        return dict(orjson.loads(row["value"])) if row else {}

    def _put(self, name: str, value: dict[str, Any]) -> None:
        self._migrate()
        now = datetime.now(UTC).isoformat()
        data = orjson.dumps(value).decode()
        with self.db.transaction():
            if self.db.execute(
                "UPDATE gateway_screening_sync SET value = ?, updated_at = ? WHERE name = ?",
                (data, now, name),
            ):
                return
            self.db.execute(
                "INSERT INTO gateway_screening_sync (name, value, updated_at) VALUES (?, ?, ?)",
                (name, data, now),
            )

    # -- one run ----------------------------------------------------------------------------
    def due(self, state: dict[str, Any], now: float) -> bool:
        last_ok = float(state.get("last_success", 0.0))
        last_try = float(state.get("last_attempt", 0.0))
        retry = min(self.interval_s, RETRY_S) if self.interval_s else 0.0
        return now - last_ok >= self.interval_s and now - last_try >= retry

    def run_once(self, *, force: bool = False) -> dict[str, Any]:
        """One sync if due (always when `force`) and the lock is free; blocking."""
        with singleton(self.db, "screening-sync") as held:
            if not held:
                self.m_runs.labels("locked").inc()
                return self._record({"result": "locked"})
            state = self._get("state")
            now = time.time()
            self.m_last_ok.set(float(state.get("last_success", 0.0)))
            if not force and not self.due(state, now):
                return {"result": "recent", "at": _iso(now)}
            return self._sync(state, now)

    def _sync(self, state: dict[str, Any], started: float) -> dict[str, Any]:
        state["last_attempt"] = started
        self._put("state", state)
        errors: list[str] = []
        imported: list[str] = []
        changes = screened = 0
        for src in self.sources:
            try:
                res = self._import_if_changed(src)
            except Exception as exc:  # the others and the reconcile still run
                errors.append(f"{src.source} ({src.path}): {exc}")
                continue
            if res is not None:
                imported.append(src.source)
                changes, screened = changes + len(res.propagated), screened + len(res.screened)
        try:
            sync = self.link.reconcile()
            changes, screened = changes + len(sync.propagated), screened + len(sync.screened)
        except Exception as exc:
            log.exception("screening reconcile failed")
            errors.append(f"reconcile: {exc}")
        took = time.time() - started
        run = {
            "imported": imported,
            "changes": changes,
            "screened": screened,
            "error": "; ".join(errors) or None,
        }
        extra = {**run, "duration_s": round(took, 3)}
        if errors:
            state.update(last_failure=time.time(), last_error=run["error"])
            self._put("state", state)
            self.m_runs.labels("failed").inc()
            log.error("screening sync failed: %s", run["error"], extra=extra)
            return self._record({"result": "failed", **run})
        state.update(last_success=time.time(), last_error=None)
        self._put("state", state)
        self.m_runs.labels("ok").inc()
        self.m_last_ok.set(state["last_success"])
        log.info(
            "screening sync ok: %d list(s) imported (%s), %d status change(s), "
            "%d first screen(s) in %.1f s",
            len(imported),
            ", ".join(imported) or "none changed",
            changes,
            screened,
            took,
            extra=extra,
        )
        return self._record({"result": "ok", **run})

    def _import_if_changed(self, src: Source) -> SyncReport | None:
        """Import the file when its content changed since the last import (else None)."""
        try:
            digest = hashlib.sha256(src.path.read_bytes()).hexdigest()
        except OSError as exc:
            raise DistillguardError(f"cannot read: {exc.strerror or exc}") from None
        name = f"file:{src.source}"
        if self._get(name).get("sha256") == digest:
            return None
        kw: dict[str, Any] = {}
        if src.source == "ofac":  # OFAC publishes aliases and addresses beside sdn.csv
            for opt, fname in (("alt", "alt.csv"), ("add", "add.csv")):
                extra = src.path.with_name(fname)
                if extra.is_file():
                    kw[opt] = extra
        report, sync = self.link.import_list(src.path, src.source, **kw)
        self._put(name, {"sha256": digest, "path": str(src.path), "snapshot": report.snapshot.id})
        return sync

    def _record(self, run: dict[str, Any]) -> dict[str, Any]:
        run["at"] = _iso(time.time())
        self.last_run = run
        return run

    def status(self) -> dict[str, Any]:
        state = self._get("state")
        return {
            "interval_s": self.interval_s,
            "sources": [{"source": s.source, "path": str(s.path)} for s in self.sources],
            "lock": self.lock_kind,
            "last_success_at": _iso(state.get("last_success")),
            "last_failure_at": _iso(state.get("last_failure")),
            "last_error": state.get("last_error"),
            "last_run": self.last_run,
        }

    # -- the schedule -------------------------------------------------------------------------
    def tick_s(self) -> float:
        """How often a replica checks whether a sync is due (cheap: one row read)."""
        return min(max(self.interval_s / 10.0, 1.0), 60.0)

    def start(self) -> None:
        if self.interval_s > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())
            log.info(
                "screening sync scheduled every %g s (%d source file(s), lock: %s)",
                self.interval_s,
                len(self.sources),
                self.lock_kind,
            )

    async def stop(self) -> None:
        """Cancel the schedule; a sync in progress is waited for (it holds the database)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._inflight is not None:
            with contextlib.suppress(Exception):
                await self._inflight
            self._inflight = None

    async def _loop(self) -> None:
        await asyncio.sleep(1.0)  # let the server finish starting
        while True:
            try:
                self._inflight = asyncio.ensure_future(asyncio.to_thread(self.run_once))
                await asyncio.shield(self._inflight)
            except Exception:  # e.g. the database is down: counted, retried next tick
                self.m_runs.labels("failed").inc()
                log.exception("screening sync could not run")
            await asyncio.sleep(self.tick_s())
