"""`distillguard serve` and `distillguard demo`.

Heavy imports (uvicorn, aiohttp, the parts) stay inside the commands so that
`distillguard --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("demo")(demo)


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
