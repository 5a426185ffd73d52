"""`distillguard orgs|accounts|keys ...`: administration of identities from the shell.

Thin shell over `IdentityService`; every command takes `--db URL` (env DISTILLGUARD_DB;
default SQLite in the data directory) and list/show commands take `--json`. One module
per command group: `cli_orgs`, `cli_accounts`, `cli_keys` (shared pieces in `cli_common`).
"""

from __future__ import annotations

import typer

from distillguard.identity.cli_accounts import accounts_app
from distillguard.identity.cli_keys import keys_app
from distillguard.identity.cli_orgs import orgs_app


def register(app: typer.Typer) -> None:
    app.add_typer(orgs_app, name="orgs")
    app.add_typer(accounts_app, name="accounts")
    app.add_typer(keys_app, name="keys")
