"""Build and run the gateway: wire the parts, the event sink and uvicorn together.

Why here and not in app.py: the app only serves requests; this module owns the process
life cycle (JSON logs, uvloop + httptools, graceful shutdown that drains in-flight
requests and then the event queue) and the off-hot-path consumers of each RequestEvent:
the online detector (whose signals go back to identity through `set_risk`) and the ledger
(a decision record with the prompt as a salted commitment, never the raw text).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from distillguard.events import RequestEvent, format_ts
from distillguard.gateway.adapters import Parts, load_parts
from distillguard.gateway.app import GatewayApp
from distillguard.gateway.config import GatewayConfig
from distillguard.gateway.metrics import Metrics
from distillguard.gateway.sink import EventSink, Outcome

log = logging.getLogger("distillguard.gateway")

_STD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        d: dict[str, Any] = {
            "ts": format_ts(datetime.fromtimestamp(record.created, UTC)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in record.__dict__.items():
            if k not in _STD_ATTRS and not k.startswith("_"):
                d[k] = v
        if record.exc_info:
            d["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(d, default=str).decode()


def setup_logging(level: str = "info", stream: Any = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("distillguard")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    for name in ("uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers[:] = [handler]
        lg.setLevel("WARNING")
        lg.propagate = False


def make_detect_hook(det: Any, identity: Any, metrics: Metrics | None) -> Any:
    """RequestEvent -> detector; verdict changes go back to identity (`set_risk`).

    A detector starts empty on every gateway start, so it would soon push a milder verdict
    than the one identity holds from before the restart (the earlier evidence is not in its
    memory). Fail closed: such accounts keep identity's verdict as a floor
    (`detect.floors`, as `detect-follow` after its bounded replay).
    """
    from distillguard.detect.floors import VerdictFloors

    last: dict[str, tuple[str, str | None, float]] = {}
    floor = VerdictFloors.from_identity(identity)

    def hook(ev: RequestEvent) -> None:
        sig = det.observe(ev)
        if sig is None:
            return
        # Push to identity only on a change (verdict, campaign, or score by >= 0.1): each
        # push invalidates the account's cached snapshot.
        state = (str(sig.verdict), sig.campaign, round(float(sig.score), 1))
        prev = last.get(ev.account)
        if prev != state:
            last[ev.account] = state
            if prev is not None or state[0] != "benign":
                if floor and floor.holds_back(ev.account, state[0]):
                    return  # identity's harsher verdict (older evidence) stands
                identity.set_risk(ev.account, float(sig.score), state[0], sig.campaign)
                if metrics is not None and (prev is None or prev[0] != state[0]):
                    metrics.detector_flags.labels(state[0]).inc()

    return hook


def make_ledger_hook(led: Any, writer: Any) -> Any:
    """Decided request -> one ledger `decision` record (the prompt only as a commitment)."""

    def hook(o: Outcome) -> None:
        ev, d = o.event, o.decision
        writer.enqueue(
            {
                "type": "decision",
                "ts": format_ts(ev.ts),
                "request_id": ev.request_id,
                "account": ev.account,
                "org": ev.org,
                "country": ev.country,
                "endpoint": ev.endpoint,
                "model": ev.model,
                "action": d["action"],
                "rule_ids": d["rule_ids"],
                "reason_codes": d["reason_codes"],
                "pack_hash": d["pack_hash"],
                "transforms": d["transforms"],
                "status": d["status"],
                "prompt": led.commit_payload("prompt", ev.text()),
            }
        )

    return hook


def build_gateway(cfg: GatewayConfig, parts: Parts | None = None) -> GatewayApp:
    """Construct the ASGI app with every part and the event sink (not yet started)."""
    from distillguard.store.db import Database

    parts = parts or load_parts(cfg)
    metrics = Metrics()
    events_db = Database(cfg.database_url()) if cfg.store.events_table else None
    if events_db is not None:
        parts.closers.append(events_db.close)
    detect = ledger = forward = None
    if cfg.store.consumers == "process":
        from distillguard.gateway.adapters import ledger_location
        from distillguard.gateway.worker import ConsumerProcess

        led_url, key_path = ledger_location(cfg) if cfg.store.ledger else (None, None)
        worker = ConsumerProcess(
            cfg.database_url(), led_url, key_path, str(cfg.home()), cfg.local_detector()
        )
        forward = worker.forward
        parts.closers.append(worker.close)  # closers run in reverse: after the sink drained
    else:
        if parts.detector is not None:
            detect = make_detect_hook(parts.detector, parts.identity, metrics)
        if parts.ledger is not None and parts.ledger_writer is not None:
            ledger = make_ledger_hook(parts.ledger, parts.ledger_writer)
    sink = EventSink(
        events_db,
        Path(cfg.store.events_jsonl) if cfg.store.events_jsonl else None,
        detect=detect,
        ledger=ledger,
        forward=forward,
        batch_size=cfg.store.batch_size,
        flush_interval_s=cfg.store.flush_interval_s,
        on_error=metrics.events_dropped.inc,
    )
    return GatewayApp(cfg, parts, sink=sink, metrics=metrics)


class _HeldHead:
    """One response's transport, holding the status line and headers back until the first
    body bytes, so that a whole answer leaves in one `write` (one send syscall, one wake-up
    of the client) instead of two. Everything else goes straight to the real transport."""

    __slots__ = ("_head", "_t")

    def __init__(self, transport: Any) -> None:
        self._t = transport
        self._head: bytes | None = b""  # b"": nothing written yet; None: passing through

    def write(self, data: bytes) -> None:
        head = self._head
        if head is None:
            self._t.write(data)
        elif not head:  # the first write of a response is its head (uvicorn's send) ...
            if data.startswith(b"HTTP/1.1 100 "):  # ... unless it is a 100 Continue
                self._t.write(data)
            else:
                self._head = bytes(data)
        else:
            self._head = None
            self._t.write(head + data)

    def close(self) -> None:
        self.flush()
        self._t.close()

    def flush(self) -> None:
        head, self._head = self._head, None
        if head:
            self._t.write(head)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._t, name)


def _http_protocol() -> type:
    """uvicorn's httptools protocol, each response's head written with its first body.

    Why: uvicorn writes the head as soon as the app sends `http.response.start` and the
    body on `http.response.body`: two sends on the socket and two wake-ups of the client
    for every answer, measured at about a quarter of the gateway's socket-write time
    (py-spy, bench/gateway). The gateway sends both back to back (a stream: its head with
    the first events), so holding the head costs no latency. HEAD requests (no body is
    ever written) and protocol upgrades are left alone.
    """
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class Protocol(HttpToolsProtocol):  # type: ignore[misc]
        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            cycle = self.cycle
            if (
                cycle is not None
                and not isinstance(cycle.transport, _HeldHead)
                and cycle.scope.get("method") != "HEAD"
                and not cycle.response_started
            ):
                cycle.transport = _HeldHead(cycle.transport)  # type: ignore[assignment]

    return Protocol


def uvicorn_config(app: Any, cfg: GatewayConfig, *, port: int | None = None) -> Any:
    import uvicorn

    return uvicorn.Config(
        app,
        host=cfg.server.host,
        port=cfg.server.port if port is None else port,
        loop="uvloop",
        http=_http_protocol(),
        lifespan="on",
        access_log=False,
        log_config=None,
        # The client address comes from the connection; `[server] trust_forwarded_for`
        # alone decides whether X-Forwarded-For is believed (uvicorn's own rewriting
        # trusted it from any local peer, and cost a middleware call per request).
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=int(cfg.server.graceful_shutdown_s),
        timeout_keep_alive=30,
        backlog=2048,
    )


def tune_gc() -> None:
    """Garbage-collector settings for a long-running serving process (call after start-up).

    Why: measured under load (bench/gateway), the default collector cost the event loop
    about 40 µs per request: a young-generation pass every 700 allocations (a request
    makes dozens) and, every few thousand requests, a full pass over everything loaded at
    start-up (rule pack, guard lexicon, caches: ~50 ms of CPU in one stall). Freezing
    the start-up objects takes them out of every future pass; a larger young generation
    makes passes rarer (total CPU about 6x lower; each pass a few ms). Reference counting
    still frees almost everything at once; only cyclic garbage waits a little longer.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def serve(cfg: GatewayConfig) -> None:
    """Run until SIGINT/SIGTERM; then drain in-flight requests and the event queue."""
    import uvicorn

    setup_logging(cfg.server.log_level)
    app = build_gateway(cfg)
    tune_gc()
    server = uvicorn.Server(uvicorn_config(app, cfg))
    log.info(
        "serving", extra={"host": cfg.server.host, "port": cfg.server.port, "home": str(cfg.home())}
    )
    server.run()


class ServerThread:
    """A real uvicorn server of an ASGI app in a background thread (demo and tests)."""

    def __init__(self, app: Any, cfg: GatewayConfig, port: int = 0) -> None:
        import socket

        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((cfg.server.host, port))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn_config(app, cfg, port=self.port))
        self.thread = threading.Thread(target=self._run, name="dg-uvicorn", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        import uvloop

        try:
            uvloop.run(self.server.serve(sockets=[self.sock]))
        except BaseException as exc:  # reported by start()/stop()
            self.error = exc

    def start(self, timeout: float = 20.0) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if self.error is not None or not self.thread.is_alive():
                raise RuntimeError(f"server failed to start: {self.error}")
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start in time")
            time.sleep(0.01)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 30.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()


async def serve_in_loop(app: Any, cfg: GatewayConfig, port: int) -> tuple[Any, asyncio.Task[Any]]:
    """Start uvicorn on the current event loop (the demo drives it from the same loop)."""
    import uvicorn

    server = uvicorn.Server(uvicorn_config(app, cfg, port=port))
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped during startup")
        await asyncio.sleep(0.01)
    return server, task
