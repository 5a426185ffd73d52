"""`distillguard serve` and `distillguard demo`.

Heavy imports (uvicorn, aiohttp, the parts) stay inside the commands so that
`distillguard --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

events_app = typer.Typer(help="The gateway's RequestEvent log.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("demo")(demo)
    app.command("sync-screening")(sync_screening)
    app.add_typer(events_app, name="events")


def sync_screening(
    config: Path | None = typer.Option(None, "--config", "-c", help="Gateway TOML config."),
    home: Path | None = typer.Option(None, help="Data directory (overrides [store] home)."),
) -> None:
    """Set every customer's screening status to the current denied-party verdict (after
    `distillguard lists import`, or when lists went stale); screen the never-screened.
    `[screening] sync_interval_s` makes `serve` do this (and import changed list files)
    on a schedule."""
    from distillguard.errors import DistillguardError
    from distillguard.gateway.config import load_config
    from distillguard.gateway.wiring import ScreeningLink
    from distillguard.identity import IdentityService
    from distillguard.screening import ScreeningService
    from distillguard.store.db import open_database
    from distillguard.store.locks import singleton

    cfg = load_config(config)
    if home is not None:
        cfg.store.home = str(home)
    db = open_database(cfg.database_url())
    ids = IdentityService(db, notify_url=cfg.store.redis_url or None)
    try:
        # the lock of `serve`'s scheduled sync ([screening] sync_interval_s): never both
        with singleton(db, "screening-sync") as held:
            if not held:
                raise DistillguardError(
                    "a screening sync is running now (a gateway's scheduled sync); "
                    "try again in a moment"
                )
            sync = ScreeningLink(ids, ScreeningService(db)).reconcile()
    finally:
        ids.close()
        db.close()
    for sid, old, new in sync.propagated:
        typer.echo(f"{sid}: {old} -> {new}")
    for sid, status in sync.screened.items():
        typer.echo(f"{sid}: first screen -> {status or 'no names to screen'}")
    typer.echo(
        f"{len(sync.propagated)} status change(s), {len(sync.screened)} first screen(s)", err=True
    )


@events_app.command("export")
def export_events(
    output: Path = typer.Argument(..., help="JSONL file to write ('-' for stdout)."),
    config: Path | None = typer.Option(None, "--config", "-c", help="Gateway TOML config."),
    home: Path | None = typer.Option(None, help="Data directory (overrides [store] home)."),
    account: str | None = typer.Option(None, help="Only this account's events."),
) -> None:
    """Write the stored RequestEvents (with decision and context) as JSONL, for
    `distillguard detect`, `distillguard rules replay` and the reports."""
    import sys

    import orjson

    from distillguard.errors import DistillguardError
    from distillguard.gateway.config import load_config
    from distillguard.gateway.sink import SCHEMA, iter_stored_events
    from distillguard.store.db import open_database

    cfg = load_config(config)
    if home is not None:
        cfg.store.home = str(home)
    db = open_database(cfg.database_url())
    db.migrate("gateway_events", SCHEMA)
    try:
        fh = sys.stdout.buffer if str(output) == "-" else output.open("wb")
    except OSError as exc:
        raise DistillguardError(f"cannot write {output}: {exc.strerror or exc}") from None
    n = 0
    try:
        for ev in iter_stored_events(db, account=account):
            fh.write(orjson.dumps(ev) + b"\n")
            n += 1
    finally:
        if fh is not sys.stdout.buffer:
            fh.close()
        db.close()
    if str(output) != "-":
        typer.echo(f"{n} events written to {output}", err=True)


def serve(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="TOML config (else DISTILLGUARD_CONFIG; see docs/gateway.md)."
    ),
    host: str | None = typer.Option(None, help="Listen address (overrides [server] host)."),
    port: int | None = typer.Option(None, help="Listen port (overrides [server] port)."),
    home: Path | None = typer.Option(None, help="Data directory (overrides [store] home)."),
) -> None:
    """Run the OpenAI-compatible enforcement gateway (uvicorn, uvloop, httptools)."""
    from distillguard.errors import DistillguardError
    from distillguard.gateway.config import load_config
    from distillguard.gateway.server import serve as run

    cfg = load_config(config)
    if host:
        cfg.server.host = host
    if port is not None:
        cfg.server.port = port
    if home is not None:
        cfg.store.home = str(home)
    if not cfg.models:
        raise DistillguardError(
            'no models configured: add [models."NAME"] url = "http://host:port/v1" to the '
            "config (see docs/gateway.md), or run `distillguard demo` to try it with a stand-in"
        )
    run(cfg)


def demo(
    home: Path | None = typer.Option(
        None, help="Data directory (default: a fresh temporary directory)."
    ),
    port: int = typer.Option(0, help="Gateway port (default: a free port)."),
    no_serve: bool = typer.Option(
        False, "--no-serve", help="Exit after the replay instead of serving on."
    ),
    campaign_accounts: int = typer.Option(12, help="Accounts in the simulated campaign."),
    seed: int = typer.Option(7, help="Random seed of the simulated traffic."),
) -> None:
    """Show the whole system on the embedded default: orgs, accounts, a campaign, decisions."""
    from distillguard.gateway.demo import run_demo

    run_demo(
        home=home,
        port=port,
        serve=not no_serve,
        campaign_accounts=campaign_accounts,
        seed=seed,
    )
