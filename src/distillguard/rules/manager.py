"""Live pack changes: hot reload with a safety net, and shadow mode.

`PackManager.reload()` loads, validates, compiles and tests the new pack completely
*before* one reference assignment makes it live, so a concurrent `decide` sees either the
old engine or the new one, never a mix; a pack that fails any step never replaces the
live one, and the error (kept in `last_error`) says which file, line, rule or test.
A shadow pack decides alongside the live one; differences are counted and logged (logger
`distillguard.rules.shadow`, optional callback) and never enforced.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillguard.errors import DistillguardError
from distillguard.rules.engine import Decision, RuleEngine
from distillguard.rules.instants import AtLike
from distillguard.rules.pack import load_pack
from distillguard.rules.testing import require_passing

log = logging.getLogger("distillguard.rules")
shadow_log = logging.getLogger("distillguard.rules.shadow")


@dataclass(slots=True)
class ShadowStats:
    """Counts of live-vs-shadow disagreements since the shadow pack was set."""

    decisions: int = 0
    differences: int = 0
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)  # "+id": only shadow, "-id": only live
    accounts: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decisions": self.decisions,
            "differences": self.differences,
            "transitions": {f"{a}->{b}": c for (a, b), c in self.transitions.items()},
            "rules": dict(self.rules),
            "accounts": dict(self.accounts.most_common(50)),
        }


def build_engine(path: str | Path, *, require_tests: bool = True) -> RuleEngine:
    """Load, validate, compile and (if asked) test a pack; raises PackError on any failure."""
    engine = RuleEngine(load_pack(path))
    if require_tests:
        require_passing(engine, require_cases=True)
    return engine


class PackManager:
    """Holds the live engine (and an optional shadow engine) for a long-running process."""

    def __init__(
        self,
        engine: RuleEngine,
        *,
        path: str | Path | None = None,
        require_tests: bool = True,
        on_difference: Callable[[Decision, Decision, dict[str, Any]], None] | None = None,
    ) -> None:
        self._engine = engine
        self._shadow: RuleEngine | None = None
        self.path = Path(path) if path is not None else None
        self.require_tests = require_tests
        self.on_difference = on_difference
        self.shadow_stats = ShadowStats()
        self.last_error: str | None = None
        self.reloads = 0
        self._reload_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._watch_stop: threading.Event | None = None

    @classmethod
    def from_path(cls, path: str | Path, *, require_tests: bool = True) -> PackManager:
        return cls(
            build_engine(path, require_tests=require_tests), path=path, require_tests=require_tests
        )

    @property
    def engine(self) -> RuleEngine:
        return self._engine

    @property
    def shadow(self) -> RuleEngine | None:
        return self._shadow

    def reload(self, path: str | Path | None = None) -> RuleEngine:
        """Replace the live pack with `path` (default: the current path) if it passes
        every check; otherwise keep the live pack and raise DistillguardError saying why."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise DistillguardError("no pack path to reload from")
        with self._reload_lock:
            try:
                new = build_engine(target, require_tests=self.require_tests)
            except DistillguardError as exc:
                self.last_error = (
                    f"reload rejected, live pack {self._engine.pack_hash[:12]} kept: {exc}"
                )
                log.error(self.last_error)
                raise DistillguardError(self.last_error) from None
            old = self._engine
            self._engine = new  # the one atomic swap
            self.path = target
            self.reloads += 1
            self.last_error = None
            log.info(
                "rule pack %s %s (%s) replaces %s",
                new.pack.name,
                new.pack.version,
                new.pack_hash[:12],
                old.pack_hash[:12],
            )
            return new

    def reload_if_changed(self) -> bool:
        """Reload when the pack file's content hash differs from the live one."""
        if self.path is None:
            return False
        import hashlib

        try:
            digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError as exc:
            self.last_error = f"cannot read {self.path}: {exc.strerror or exc}"
            return False
        if digest == self._engine.pack_hash:
            return False
        try:
            self.reload()
        except DistillguardError:
            return False
        return True

    def watch(self, interval_s: float = 5.0) -> None:
        """Poll the pack file in a daemon thread and hot-reload on change (stop with stop())."""
        if self._watch_stop is not None:
            return
        stop = threading.Event()
        self._watch_stop = stop

        def loop() -> None:
            while not stop.wait(interval_s):
                self.reload_if_changed()

        threading.Thread(target=loop, name="rules-pack-watch", daemon=True).start()

    def stop(self) -> None:
        if self._watch_stop is not None:
            self._watch_stop.set()
            self._watch_stop = None

    def set_shadow(self, path: str | Path | None, *, require_tests: bool = True) -> None:
        """Decide with a candidate pack alongside the live one (None switches shadow off)."""
        self._shadow = None if path is None else build_engine(path, require_tests=require_tests)
        with self._stats_lock:
            self.shadow_stats = ShadowStats()

    def decide(self, domain: str, ctx: dict[str, Any], at: AtLike = None) -> Decision:
        """The live decision; the shadow pack (if any) is consulted and only logged."""
        engine, shadow = self._engine, self._shadow
        decision = engine.decide(domain, ctx, at)
        if shadow is not None:
            try:
                other = shadow.decide(domain, ctx, at=decision.at)
            except Exception as exc:  # the shadow must never affect live traffic
                shadow_log.error("shadow pack failed: %s", exc)
                return decision
            self._count(decision, other, ctx)
        return decision

    def _count(self, live: Decision, cand: Decision, ctx: dict[str, Any]) -> None:
        differs = live.action != cand.action or live.transforms != cand.transforms
        with self._stats_lock:
            st = self.shadow_stats
            st.decisions += 1
            if not differs:
                return
            st.differences += 1
            st.transitions[(live.action, cand.action)] += 1
            lo, co = set(live.rule_ids), set(cand.rule_ids)
            st.rules.update([f"+{r}" for r in co - lo] + [f"-{r}" for r in lo - co])
            acct = ctx.get("account")
            account = acct.get("id") if isinstance(acct, dict) else None
            if account:
                st.accounts[str(account)] += 1
        shadow_log.info(
            json.dumps(
                {
                    "event": "shadow_difference",
                    "account": account,
                    "live": live.action,
                    "shadow": cand.action,
                    "live_rules": live.rule_ids,
                    "shadow_rules": cand.rule_ids,
                    "live_pack": live.pack_hash[:12],
                    "shadow_pack": cand.pack_hash[:12],
                }
            )
        )
        if self.on_difference is not None:
            self.on_difference(live, cand, ctx)
