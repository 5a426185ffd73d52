"""Gateway configuration: one TOML file, overridable by DISTILLGUARD_* environment variables.

Why TOML + env: operators keep the model routing table in a reviewed file, while secrets
and per-replica settings (ports, Redis, PostgreSQL) come from the environment of the
container. Every scalar `[section] key` can be overridden by `DISTILLGUARD_SECTION_KEY`
(for example `DISTILLGUARD_SERVER_PORT=9000`, `DISTILLGUARD_STORE_REDIS_URL=redis://...`).
Defaults are the embedded mode: SQLite in the data directory, in-process quotas and state.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from distillguard.errors import DistillguardError

ENDPOINTS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
EMBEDDINGS_ONLY = ("/v1/embeddings",)


@dataclass(slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 4 * 1024 * 1024
    graceful_shutdown_s: float = 30.0
    access_log: bool = False
    # Request country: read from this header only when it is set (put the gateway behind a
    # proxy that sets it, e.g. "cf-ipcountry"); otherwise `default_country` (may be empty).
    country_header: str = ""
    default_country: str = ""
    # Client IP: the first X-Forwarded-For address when `trust_forwarded_for` is on.
    trust_forwarded_for: bool = False
    log_level: str = "info"


@dataclass(slots=True)
class StoreConfig:
    home: str = ""  # data directory; default DISTILLGUARD_HOME or ~/.distillguard
    database_url: str = ""  # default sqlite:///<home>/distillguard.db
    redis_url: str = ""  # set for several replicas: quotas become atomic in Redis
    events_jsonl: str = ""  # optional JSONL copy of every RequestEvent
    events_table: bool = True  # RequestEvents in the `gateway_events` table
    ledger: bool = True  # decisions to the tamper-evident ledger
    ledger_url: str = ""  # default: the ledger's own default (sqlite in <home>)
    # "thread": detector and ledger run in a thread of the gateway process; "process": in
    # a worker process (another core, no GIL sharing; risk reaches identity within ~1 s).
    consumers: str = "thread"
    batch_size: int = 256
    flush_interval_s: float = 0.2


@dataclass(slots=True)
class RulesConfig:
    pack: str = ""  # default: the rules part's default pack
    guard: bool = True  # run distillguard.guard's InputGuard on every prompt
    detector: bool = True  # feed the online distillation detector (off the hot path)
    # "local": each process runs its own detector on its own events (embedded default);
    # "shared": replicas run none; one `distillguard detect follow` tails the shared events
    # table and writes risk back to identity, so a campaign spread over replicas is seen whole
    detector_mode: str = "local"
    shadow_pack: str = ""  # candidate pack decided alongside the live one, never enforced
    reload_poll_s: float = 0.0  # > 0: hot-reload the pack when its file changes
    require_tests: bool = True  # a pack (live, reloaded or shadow) must pass its own tests


@dataclass(slots=True)
class QuotaConfig:
    rpm: int = 600
    tpm: int = 400_000
    concurrency: int = 64
    org_rpm: int = 6_000
    org_tpm: int = 4_000_000
    org_concurrency: int = 512
    window_s: float = 60.0
    shadow: bool = False  # admit everything, count what would have been refused
    default_max_tokens: int = 512  # reserved when a request names no max_tokens
    throttle_factor: float = 0.25  # a "throttle" decision scales the caller's limits by this


@dataclass(slots=True)
class UpstreamConfig:
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 120.0  # between bytes of the upstream response
    total_timeout_s: float = 600.0
    pool_size: int = 512
    pool_size_per_host: int = 256
    connect_retries: int = 2


@dataclass(slots=True)
class ScreeningConfig:
    # > 0: `serve` imports changed list files and reconciles every customer's screening
    # status this often (one replica at a time); 0: off (`distillguard sync-screening`)
    sync_interval_s: float = 0.0
    sources: str = ""  # "ofac=/lists/sdn.csv,un=/lists/un.xml,csl=...,internal=..."


@dataclass(slots=True)
class AdminConfig:
    token: str = ""  # admin API under /admin is mounted only when a token is set


@dataclass(slots=True)
class ModelRoute:
    """Where one public model name goes."""

    name: str
    url: str  # base URL ending in /v1, e.g. http://127.0.0.1:8000/v1
    upstream_model: str = ""  # name at the upstream; default: the public name
    api_key_env: str = ""  # env var holding the upstream key (never put keys in the file)
    classification: str = ""  # override of the rule pack's model class
    # Run the input guard on this model's prompts (off only for models without hidden
    # reasoning to protect, e.g. embedding or small non-reasoning models).
    guard: bool = True
    endpoints: tuple[str, ...] = ENDPOINTS
    api_key: str = field(default="", repr=False)


@dataclass(slots=True)
class GatewayConfig:
    server: ServerConfig = field(default_factory=ServerConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)
    quotas: QuotaConfig = field(default_factory=QuotaConfig)
    upstream: UpstreamConfig = field(default_factory=UpstreamConfig)
    admin: AdminConfig = field(default_factory=AdminConfig)
    screening: ScreeningConfig = field(default_factory=ScreeningConfig)
    models: dict[str, ModelRoute] = field(default_factory=dict)

    def home(self) -> Path:
        if self.store.home:
            p = Path(self.store.home)
            p.mkdir(parents=True, exist_ok=True)
            return p
        from distillguard.paths import data_dir

        return data_dir()

    def local_detector(self) -> bool:
        """Whether this process runs the online detector itself (not in shared mode)."""
        return self.rules.detector and self.rules.detector_mode == "local"

    def database_url(self) -> str:
        return self.store.database_url or f"sqlite:///{self.home() / 'distillguard.db'}"


_SECTIONS = ("server", "store", "rules", "quotas", "upstream", "admin", "screening")


def _coerce(value: Any, default: Any, where: str) -> Any:
    """Convert a TOML or env value to the type of the field's default."""
    try:
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            s = str(value).strip().lower()
            if s in ("1", "true", "yes", "on"):
                return True
            if s in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(value)
        if isinstance(default, int):
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, str):
            if not isinstance(value, str | int | float):
                raise ValueError(value)
            return str(value)
    except (TypeError, ValueError):
        raise DistillguardError(
            f"config {where}: {value!r} is not a valid {type(default).__name__}"
        ) from None
    return value


def _apply(section: Any, values: dict[str, Any], where: str) -> None:
    known = {f.name: getattr(section, f.name) for f in fields(section)}
    for key, value in values.items():
        if key not in known:
            raise DistillguardError(
                f"config [{where}]: unknown key {key!r} (known: {', '.join(sorted(known))})"
            )
        setattr(section, key, _coerce(value, known[key], f"[{where}] {key}"))


def _route(name: str, spec: Any, env: dict[str, str]) -> ModelRoute:
    if not isinstance(spec, dict) or not isinstance(spec.get("url"), str):
        raise DistillguardError(f'config [models."{name}"]: needs url = "http://host:port/v1"')
    allowed = {f.name for f in fields(ModelRoute)} - {"name", "api_key"}
    unknown = set(spec) - allowed
    if unknown:
        raise DistillguardError(f'config [models."{name}"]: unknown key(s) {sorted(unknown)}')
    eps = spec.get("endpoints", list(ENDPOINTS))
    if not isinstance(eps, list) or not all(e in ENDPOINTS for e in eps):
        raise DistillguardError(f'config [models."{name}"]: endpoints must be among {ENDPOINTS}')
    r = ModelRoute(
        name=name,
        url=spec["url"].rstrip("/"),
        upstream_model=str(spec.get("upstream_model", "")),
        api_key_env=str(spec.get("api_key_env", "")),
        classification=str(spec.get("classification", "")),
        guard=_coerce(spec.get("guard", True), True, f'[models."{name}"] guard'),
        endpoints=tuple(eps),
    )
    if not r.url.startswith(("http://", "https://")):
        raise DistillguardError(f'config [models."{name}"]: url must start with http(s)://')
    if r.api_key_env:
        r.api_key = env.get(r.api_key_env, "")
    return r


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None) -> GatewayConfig:
    """Load TOML (if given or named by DISTILLGUARD_CONFIG), then apply env overrides."""
    env = dict(os.environ) if env is None else env
    cfg = GatewayConfig()
    if path is None and env.get("DISTILLGUARD_CONFIG"):
        path = env["DISTILLGUARD_CONFIG"]
    if path is not None:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise DistillguardError(f"cannot read config {p}: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise DistillguardError(f"config {p} is not valid TOML: {exc}") from None
        for key, value in data.items():
            if key == "models":
                if not isinstance(value, dict):
                    raise DistillguardError("config [models]: must be a table of model tables")
                cfg.models = {n: _route(n, s, env) for n, s in value.items()}
            elif key in _SECTIONS:
                if not isinstance(value, dict):
                    raise DistillguardError(f"config [{key}]: must be a table")
                _apply(getattr(cfg, key), value, key)
            else:
                raise DistillguardError(
                    f"config {p}: unknown section [{key}] (known: {', '.join(_SECTIONS)}, models)"
                )
    for section in _SECTIONS:
        obj = getattr(cfg, section)
        prefix = f"DISTILLGUARD_{section.upper()}_"
        overrides = {
            k[len(prefix) :].lower(): v
            for k, v in env.items()
            if k.startswith(prefix) and k[len(prefix) :].lower() in obj.__slots__
        }
        _apply(obj, overrides, section)
    if cfg.store.consumers not in ("thread", "process"):
        raise DistillguardError(
            f"config [store] consumers: {cfg.store.consumers!r} is not 'thread' or 'process'"
        )
    if cfg.rules.detector_mode not in ("local", "shared"):
        raise DistillguardError(
            f"config [rules] detector_mode: {cfg.rules.detector_mode!r} is not 'local' or 'shared'"
        )
    if cfg.rules.detector_mode == "shared" and not cfg.store.events_table:
        raise DistillguardError(
            "config [rules] detector_mode = 'shared' needs [store] events_table = true "
            "(the shared detector reads the events table)"
        )
    if not cfg.admin.token and env.get("DISTILLGUARD_ADMIN_TOKEN"):
        cfg.admin.token = env["DISTILLGUARD_ADMIN_TOKEN"]
    if not cfg.store.home and env.get("DISTILLGUARD_HOME"):
        cfg.store.home = env["DISTILLGUARD_HOME"]
    return cfg
