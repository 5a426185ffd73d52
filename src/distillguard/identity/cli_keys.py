"""`distillguard keys ...`: API keys, shown once at issue and stored only as hashes."""

from __future__ import annotations

import typer

from distillguard.identity.cli_common import (
    DbOpt,
    JsonOpt,
    keys_table,
    open_ids,
    print_json,
)

keys_app = typer.Typer(help="API keys: issue (shown once), list, revoke.")


@keys_app.command("issue")
def keys_issue(
    account_id: str = typer.Argument(...),
    name: str | None = typer.Option(None, "--name", help="A label, e.g. 'ci' or 'laptop'."),
    expires: str | None = typer.Option(
        None, "--expires", help="RFC 3339 time, e.g. 2027-01-01T00:00:00Z."
    ),
    test: bool = typer.Option(False, "--test", help="Issue a dg_test_ key."),
    db: str | None = DbOpt,
) -> None:
    """Issue an API key. The key is printed once and never stored: copy it now."""
    key_id, plaintext = open_ids(db).issue_key(
        account_id, name=name, expires_at=expires, env="test" if test else "live"
    )
    typer.secho(
        f"issued {key_id} for {account_id}. This is the only time the key is shown; "
        "only its hash is stored:",
        err=True,
        fg=typer.colors.YELLOW,
    )
    typer.echo(plaintext)


@keys_app.command("list")
def keys_list(
    account: str | None = typer.Option(None, "--account", help="Only this account's keys."),
    db: str | None = DbOpt,
    as_json: bool = JsonOpt,
) -> None:
    """List keys (prefix only; keys themselves are never stored)."""
    keys = open_ids(db).list_keys(account)
    if as_json:
        print_json([k.to_dict() for k in keys])
        return
    keys_table(keys)


@keys_app.command("revoke")
def keys_revoke(
    key_id: str = typer.Argument(...),
    reason: str | None = typer.Option(None, "--reason"),
    db: str | None = DbOpt,
) -> None:
    """Revoke a key (other gateway replicas stop accepting it within 1 s)."""
    k = open_ids(db).revoke_key(key_id, reason)
    typer.echo(f"revoked {k.id} ({k.display_prefix}...) at {k.revoked_at}")
