"""The one place where the gateway touches the other parts (identity, quotas, rules,
guard, detect, ledger).

Why one adapter module: the parts were built in parallel against the agreed interfaces
(notes/INTERFACES.md); keeping every call here means an interface change is a one-file
change, and the request path sees small, typed callables. Security-relevant parts fail
closed: without identity or rules the gateway refuses to start. Optional signal producers
(guard, detector, ledger) are switched off with a logged warning when absent or disabled,
and `/readyz` reports which ones are active.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from distillguard.errors import DistillguardError
from distillguard.gateway.config import GatewayConfig

log = logging.getLogger("distillguard.gateway")


class Snapshot(Protocol):
    def to_context(self) -> dict[str, Any]: ...


class IdentityPort(Protocol):
    async def authenticate_async(self, plaintext: str) -> Any: ...

    def set_risk(
        self, account_id: str, score: float, verdict: str, campaign: str | None
    ) -> Any: ...


class QuotaPort(Protocol):
    async def acquire_async(
        self,
        account_id: str,
        org_id: str | None,
        est_tokens: int,
        *,
        account_limits: Any = None,
        org_limits: Any = None,
    ) -> Any: ...

    async def release_async(self, lease: Any, actual_tokens: int | None = None) -> None: ...


class RulesPort(Protocol):
    def decide(self, kind: str, ctx: Any) -> Any: ...


@dataclass(slots=True)
class Parts:
    """Everything the request path calls, already constructed."""

    identity: IdentityPort
    quotas: QuotaPort
    rules: RulesPort
    model_classes: dict[str, str] = field(default_factory=dict)  # model name -> class
    guard_check: Any = None  # (messages) -> verdict with .verdict/.family, or None
    request_transforms: Any = None  # (body, transforms) -> body
    response_transforms: Any = None  # (body, transforms) -> body
    stream_transformer: Any = None  # class (transforms) with feed(chunk)/finish()
    detector: Any = None  # OnlineDetector or None
    ledger: Any = None  # ledger object (commit_payload, checkpoint) or None
    ledger_writer: Any = None  # its writer() (enqueue/flush/close) or None
    db: Any = None  # distillguard.store.Database
    admin_app: Any = None  # ASGI app mounted under /admin, or None
    screening: Any = None  # gateway.wiring.ScreeningLink (screening -> identity), or None
    active: dict[str, bool] = field(default_factory=dict)
    closers: list[Any] = field(default_factory=list)

    @property
    def engine(self) -> Any:
        """The live RuleEngine (the manager's current one): reference data, pack hash."""
        return getattr(self.rules, "engine", self.rules)

    def close(self) -> None:
        for fn in reversed(self.closers):
            try:
                fn()
            except Exception:
                log.exception("error while closing %r", fn)
        self.closers.clear()


def model_classes(engine: Any, cfg: GatewayConfig) -> dict[str, str]:
    """Model name -> classification: the config's override, else the pack's reference data."""
    ref = engine.reference
    return {
        name: route.classification or str(ref.model_class(name))
        for name, route in cfg.models.items()
    }


def load_parts(cfg: GatewayConfig) -> Parts:
    """Open the store and construct every part from the configuration."""
    from distillguard.store.db import open_database

    try:
        from distillguard.identity import IdentityService
        from distillguard.rules import PackManager, default_pack_path
        from distillguard.store.quotas import MemoryQuotas, QuotaPolicy, RedisQuotas
    except ImportError as exc:  # fail closed: no identity or rules, no gateway
        raise DistillguardError(f"the gateway needs the {exc.name} part, which is missing") from exc

    db = open_database(cfg.database_url())
    closers: list[Any] = [db.close]
    # with Redis, identity changes reach the other replicas by pub/sub in milliseconds
    # (the change-feed poll stays the bound if a message is lost)
    ids = IdentityService(db, notify_url=cfg.store.redis_url or None)
    closers.append(ids.close)
    q = cfg.quotas
    policy = QuotaPolicy.from_mapping(
        {
            "rpm": q.rpm,
            "tpm": q.tpm,
            "concurrency": q.concurrency,
            "org_rpm": q.org_rpm,
            "org_tpm": q.org_tpm,
            "org_concurrency": q.org_concurrency,
            "window_s": q.window_s,
            "shadow": q.shadow,
        }
    )
    quotas: Any
    if cfg.store.redis_url:
        quotas = RedisQuotas(cfg.store.redis_url, policy)
    else:
        quotas = MemoryQuotas(policy)
    if hasattr(quotas, "close"):
        closers.append(quotas.close)
    # the manager holds the live pack (hot reload) and an optional shadow pack; a pack that
    # fails validation or its own tests refuses the start, as a failed reload keeps the old
    rules = PackManager.from_path(
        cfg.rules.pack or default_pack_path(), require_tests=cfg.rules.require_tests
    )
    if cfg.rules.shadow_pack:
        rules.set_shadow(cfg.rules.shadow_pack, require_tests=cfg.rules.require_tests)
    closers.append(rules.stop)
    parts = Parts(
        identity=ids,
        quotas=quotas,
        rules=rules,
        model_classes=model_classes(rules.engine, cfg),
        db=db,
        closers=closers,
    )
    parts.active = {
        "identity": True,
        "rules": True,
        "shadow_pack": rules.shadow is not None,
        "redis_quotas": bool(cfg.store.redis_url),
        "consumer_process": cfg.store.consumers == "process",
    }
    _load_guard(parts, cfg)
    _load_detector(parts, cfg)
    _load_ledger(parts, cfg)
    _load_screening(parts, ids, db)
    if cfg.admin.token:
        from distillguard.gateway.admin import build_admin_app
        from distillguard.gateway.admin_reports import ReportsContext

        live = ReportsContext(db, lambda: rules.engine.reference)  # the pack being served
        parts.admin_app = build_admin_app(ids, cfg.admin.token, live)
    parts.active["admin"] = parts.admin_app is not None
    return parts


def _load_guard(parts: Parts, cfg: GatewayConfig) -> None:
    try:
        from distillguard.guard.transforms import (
            StreamTransformer,
            apply_request_transforms,
            apply_response_transforms,
        )
    except ImportError:
        log.warning("distillguard.guard.transforms missing: degrade decisions cannot be applied")
        parts.active["transforms"] = False
    else:
        parts.request_transforms = apply_request_transforms
        parts.response_transforms = apply_response_transforms
        parts.stream_transformer = StreamTransformer
        parts.active["transforms"] = True
    parts.active["guard"] = False
    if cfg.rules.guard:
        try:
            from distillguard.guard import InputGuard
        except ImportError:
            log.warning("distillguard.guard.InputGuard missing: guard verdicts are 'allow'")
        else:
            try:
                guard = InputGuard.default()
            except DistillguardError as exc:  # configured but broken: refuse to start
                raise DistillguardError(
                    f"the input guard failed to load ({exc}); fix it, or set [rules] guard = "
                    "false (DISTILLGUARD_RULES_GUARD=false) to run without it"
                ) from None
            parts.guard_check = guard.check
            parts.active["guard"] = True


def _load_detector(parts: Parts, cfg: GatewayConfig) -> None:
    parts.active["detector"] = False
    parts.active["detector_shared"] = cfg.rules.detector and not cfg.local_detector()
    if not cfg.local_detector():  # off, or one shared `distillguard detect follow`
        return
    try:
        from distillguard.detect import OnlineDetector
    except ImportError:
        log.warning("distillguard.detect.OnlineDetector missing: no online detection")
        return
    if cfg.store.consumers != "process":  # else it runs in the worker process
        parts.detector = OnlineDetector()
    parts.active["detector"] = True


def _load_screening(parts: Parts, ids: Any, db: Any) -> None:
    """Screening on the identity database, linked to identity (gateway/wiring.py)."""
    parts.active["screening"] = False
    try:
        from distillguard.screening import ScreeningService
    except ImportError:
        log.warning("distillguard.screening missing: list imports do not reach identity")
        return
    from distillguard.gateway.wiring import ScreeningLink

    parts.screening = ScreeningLink(ids, ScreeningService(db))
    parts.active["screening"] = True


def ledger_location(cfg: GatewayConfig) -> tuple[str, str]:
    """(ledger URL, signing key path) from the configuration."""
    url = cfg.store.ledger_url or f"sqlite:///{cfg.home() / 'ledger.db'}"
    return url, str(cfg.home() / "ledger.key")


def _load_ledger(parts: Parts, cfg: GatewayConfig) -> None:
    parts.active["ledger"] = False
    if not cfg.store.ledger:
        return
    try:
        from distillguard.ledger import open_ledger
    except ImportError:
        log.warning("distillguard.ledger missing: decisions are not written to a ledger")
        return
    if cfg.store.consumers == "process":  # the worker process owns the ledger
        parts.active["ledger"] = True
        return
    url, key_path = ledger_location(cfg)
    led = open_ledger(url=url, key_path=key_path)
    parts.ledger = led
    parts.ledger_writer = led.writer()
    parts.closers.append(parts.ledger_writer.close)
    if hasattr(led, "close"):
        parts.closers.append(led.close)
    parts.active["ledger"] = True
