"""Live rule packs in the gateway: hot reload (SIGHUP, admin endpoint, file polling) and
shadow-pack metrics, on top of `distillguard.rules.PackManager`.

Why a module of its own: the manager (rules part) already guarantees the safety property
(a pack is loaded, validated, compiled and tested completely before one reference swap
makes it live; a broken pack never replaces the live one). What the gateway adds is the
process plumbing: the triggers, running the reload off the event loop, refreshing the
model classes the pack's reference data defines, and counting reloads and shadow
differences in Prometheus so an operator can watch a candidate pack before promoting it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
from pathlib import Path
from typing import Any

from distillguard.errors import DistillguardError
from distillguard.gateway.adapters import Parts, model_classes
from distillguard.gateway.config import GatewayConfig
from distillguard.gateway.metrics import Metrics

log = logging.getLogger("distillguard.gateway")


class LiveRules:
    """Reload triggers and metrics around the parts' PackManager (`parts.rules`)."""

    def __init__(self, cfg: GatewayConfig, parts: Parts, metrics: Metrics) -> None:
        self.cfg = cfg
        self.parts = parts
        self.metrics = metrics
        rules: Any = parts.rules
        self.manager: Any = rules if hasattr(rules, "reload") else None
        self._lock = asyncio.Lock()
        self._poll: asyncio.Task[None] | None = None
        self._rejected_digest: str | None = None  # a broken file is reported once, not per poll
        self._sighup = False
        if self.manager is not None:
            self.manager.on_difference = self._count_difference

    def _count_difference(self, live: Any, shadow: Any, ctx: dict[str, Any]) -> None:
        self.metrics.shadow_differences.labels(str(live.action), str(shadow.action)).inc()

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Install SIGHUP (main thread only) and the file poll, if configured."""
        if self.manager is None:
            return
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
            self._sighup = True
        except (RuntimeError, ValueError, NotImplementedError, AttributeError):
            pass  # not the main thread (tests, demo) or no SIGHUP on this platform
        if self.cfg.rules.reload_poll_s > 0:
            self._poll = loop.create_task(self._poll_loop(self.cfg.rules.reload_poll_s))

    async def stop(self) -> None:
        if self._sighup:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._sighup = False
        if self._poll is not None:
            self._poll.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll
            self._poll = None

    def _on_sighup(self) -> None:
        log.info("SIGHUP: reloading the rule pack")
        asyncio.get_running_loop().create_task(self._reload_logged())

    async def _reload_logged(self) -> None:
        with contextlib.suppress(DistillguardError):  # logged by the manager, kept live
            await self.reload()

    async def _poll_loop(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                digest = await asyncio.to_thread(self._file_digest)
            except OSError as exc:
                log.warning("cannot read the rule pack %s: %s", self.manager.path, exc)
                continue
            if digest in (self.manager.engine.pack_hash, self._rejected_digest):
                continue
            try:
                await self.reload()
            except DistillguardError:
                self._rejected_digest = digest

    def _file_digest(self) -> str:
        return hashlib.sha256(Path(self.manager.path).read_bytes()).hexdigest()

    # -- reload and status -------------------------------------------------------------------
    async def reload(self) -> dict[str, Any]:
        """Reload the configured pack file; raises DistillguardError (live pack kept)."""
        if self.manager is None:
            raise DistillguardError("the rules part offers no hot reload")
        async with self._lock:  # one reload at a time; requests keep deciding meanwhile
            try:
                engine = await asyncio.to_thread(self.manager.reload)
            except DistillguardError:
                self.metrics.rule_reloads.labels("rejected").inc()
                raise
            self.parts.model_classes = model_classes(engine, self.cfg)
            self._rejected_digest = None
            self.metrics.rule_reloads.labels("ok").inc()
        return self.status()

    def status(self) -> dict[str, Any]:
        if self.manager is None:
            return {"hot_reload": False}
        live, shadow = self.manager.engine, self.manager.shadow
        return {
            "hot_reload": True,
            "path": str(self.manager.path),
            "live": {"name": live.pack.name, "version": live.pack.version, "hash": live.pack_hash},
            "shadow": None
            if shadow is None
            else {
                "name": shadow.pack.name,
                "version": shadow.pack.version,
                "hash": shadow.pack_hash,
            },
            "shadow_stats": self.manager.shadow_stats.to_dict() if shadow is not None else None,
            "reloads": self.manager.reloads,
            "last_error": self.manager.last_error,
            "poll_s": self.cfg.rules.reload_poll_s,
        }
