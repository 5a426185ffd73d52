"""`distillguard orgs|accounts|keys ...`: administration of identities from the shell.

Thin shell over `IdentityService`; every command takes `--db URL` (env DISTILLGUARD_DB;
default SQLite in the data directory) and list/show commands take `--json`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from distillguard.errors import DistillguardError

if TYPE_CHECKING:
    from distillguard.identity import Account, IdentityService, Org

DbOpt = typer.Option(None, "--db", envvar="DISTILLGUARD_DB", help="Database URL.")
JsonOpt = typer.Option(False, "--json", help="Print JSON instead of a table.")

orgs_app = typer.Typer(help="Organisations (headquarters, ultimate parent, allowlists).")
accounts_app = typer.Typer(help="Accounts: individuals and organisation members, KYC.")
keys_app = typer.Typer(help="API keys: issue (shown once), list, revoke.")


def register(app: typer.Typer) -> None:
    app.add_typer(orgs_app, name="orgs")
    app.add_typer(accounts_app, name="accounts")
    app.add_typer(keys_app, name="keys")


def _ids(db: str | None) -> IdentityService:
    import getpass

    from distillguard.identity import IdentityService
    from distillguard.identity.records import ACTOR
    from distillguard.store.db import open_database

    try:
        ACTOR.set(f"cli:{getpass.getuser()}")
    except (KeyError, OSError):  # no user name in this environment
        ACTOR.set("cli")
    return IdentityService(open_database(db))


def _json(data: Any) -> None:
    import orjson

    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for i, c in enumerate(columns):
        t.add_column(c, overflow="fold", no_wrap=i == 0)
    for r in rows:
        t.add_row(*["-" if x is None or x == "" else str(x) for x in r])
    Console().print(t)


def _ts(ts: str | None) -> str | None:
    """A compact UTC timestamp for tables (`2026-11-28 00:07`)."""
    return ts[:16].replace("T", " ") if ts else None


def _limits(rpm: int | None, tpm: int | None, concurrency: int | None) -> dict[str, int] | None:
    given = {"rpm": rpm, "tpm": tpm, "concurrency": concurrency}
    return {k: v for k, v in given.items() if v is not None} or None


def _fmt_limits(obj: Org | Account) -> str:
    lim = obj.limits
    parts = [f"{k}={v}" for k, v in (("rpm", lim.rpm), ("tpm", lim.tpm),
             ("conc", lim.concurrency)) if v is not None]  # fmt: skip
    return " ".join(parts) or "defaults"


def _load_record(path: Path) -> Any:
    import yaml

    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise DistillguardError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)  # YAML is a superset of JSON
    except yaml.YAMLError as exc:
        raise DistillguardError(f"{path} is not valid JSON/YAML: {exc}") from None


# -- orgs -----------------------------------------------------------------------------
@orgs_app.command("create")
def orgs_create(
    name: str = typer.Argument(..., help="Legal name (unique)."),
    hq: str = typer.Option(..., "--hq", help="Headquarters country (ISO 3166-1 alpha-2)."),
    parent: str | None = typer.Option(None, "--parent", help="Ultimate parent's name."),
    parent_hq: str | None = typer.Option(None, "--parent-hq", help="Ultimate parent's HQ."),
    allowlist: list[str] = typer.Option([], "--allowlist", help="Allowlist name (repeat)."),
    rpm: int | None = typer.Option(None, help="Requests per minute (org-wide)."),
    tpm: int | None = typer.Option(None, help="Tokens per minute (org-wide)."),
    concurrency: int | None = typer.Option(None, help="Concurrent requests (org-wide)."),
    org_id: str | None = typer.Option(None, "--id", help="Choose the id (default: random)."),
    db: str | None = DbOpt,
) -> None:
    """Register an organisation."""
    org = _ids(db).create_org(
        name, hq, parent_name=parent, parent_hq_country=parent_hq, allowlists=allowlist,
        limits=_limits(rpm, tpm, concurrency), id=org_id,
    )  # fmt: skip
    typer.echo(f"created organisation {org.id} ({org.name}, HQ {org.hq_country})")


@orgs_app.command("list")
def orgs_list(db: str | None = DbOpt, as_json: bool = JsonOpt) -> None:
    """List organisations."""
    orgs = _ids(db).list_orgs()
    if as_json:
        _json([o.to_dict() for o in orgs])
        return
    _table(
        f"{len(orgs)} organisation(s)",
        ["id", "name", "hq", "parent hq", "status", "screening", "allowlists", "limits"],
        [[o.id, o.name, o.hq_country, o.parent_hq_country, o.status, o.screening_status,
          ",".join(o.allowlists), _fmt_limits(o)] for o in orgs],
    )  # fmt: skip


@orgs_app.command("show")
def orgs_show(
    ref: str = typer.Argument(..., help="Organisation id or name."),
    db: str | None = DbOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show an organisation, its KYC record and its member accounts."""
    ids = _ids(db)
    org = ids.get_org(ref)
    rec = ids.get_kyc_record(org.id)
    members = ids.list_accounts(org_id=org.id)
    if as_json:
        _json({**org.to_dict(), "kyc_record": rec.to_dict() if rec else None,
               "accounts": [a.id for a in members]})  # fmt: skip
        return
    _table(
        f"organisation {org.id}",
        ["field", "value"],
        [["name", org.name], ["hq_country", org.hq_country], ["parent", org.parent_name],
         ["parent_hq_country", org.parent_hq_country], ["allowlists", ",".join(org.allowlists)],
         ["status", org.status + (f" ({org.status_reason})" if org.status_reason else "")],
         ["screening", f"{org.screening_status} {org.screening_ref or ''}".strip()],
         ["limits", _fmt_limits(org)],
         ["kyc record", _record_summary(rec, organisation=True)],
         ["accounts", ", ".join(a.id for a in members)], ["created", _ts(org.created_at)]],
    )  # fmt: skip


def _compact(detail: dict[str, Any] | None) -> str:
    return " ".join(f"{k}={v}" for k, v in (detail or {}).items() if v is not None)


@orgs_app.command("update")
def orgs_update(
    ref: str = typer.Argument(..., help="Organisation id or name."),
    hq: str | None = typer.Option(None, "--hq", help="New headquarters country."),
    parent: str | None = typer.Option(None, "--parent", help="New ultimate parent's name."),
    parent_hq: str | None = typer.Option(None, "--parent-hq", help="New ultimate parent's HQ."),
    allowlist: list[str] | None = typer.Option(None, "--allowlist", help="Replace allowlists."),
    rpm: int | None = typer.Option(None, help="Requests per minute (org-wide)."),
    tpm: int | None = typer.Option(None, help="Tokens per minute (org-wide)."),
    concurrency: int | None = typer.Option(None, help="Concurrent requests (org-wide)."),
    db: str | None = DbOpt,
) -> None:
    """Change an organisation's headquarters, parent, allowlists or limits."""
    changes: dict[str, Any] = {k: v for k, v in (("hq_country", hq), ("parent_name", parent),
                               ("parent_hq_country", parent_hq)) if v is not None}  # fmt: skip
    if allowlist is not None:
        changes["allowlists"] = allowlist
    limits = _limits(rpm, tpm, concurrency)
    if limits:
        changes["limits"] = limits
    if not changes:
        raise DistillguardError("nothing to change: give at least one option")
    org = _ids(db).update_org(ref, **changes)
    typer.echo(f"updated {org.id}: {', '.join(sorted(changes))}")


@orgs_app.command("suspend")
def orgs_suspend(
    ref: str = typer.Argument(..., help="Organisation id or name."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail)."),
    db: str | None = DbOpt,
) -> None:
    """Suspend an organisation: every member account stops working."""
    org = _ids(db).suspend_org(ref, reason)
    typer.echo(f"suspended {org.id}: {reason}")


@orgs_app.command("reactivate")
def orgs_reactivate(
    ref: str = typer.Argument(..., help="Organisation id or name."),
    reason: str | None = typer.Option(None, "--reason"),
    db: str | None = DbOpt,
) -> None:
    """Reactivate a suspended organisation."""
    org = _ids(db).reactivate_org(ref, reason)
    typer.echo(f"reactivated {org.id}")


def _record_summary(rec: Any, *, organisation: bool) -> str:
    if rec is None:
        return "missing"
    gaps = rec.missing(organisation=organisation)
    return "complete" if not gaps else "incomplete: missing " + ", ".join(gaps)


@orgs_app.command("set-record")
def orgs_set_record(
    ref: str = typer.Argument(..., help="Organisation id or name."),
    path: Path = typer.Argument(..., help="KYC record as JSON or YAML (docs/identity.md)."),
    db: str | None = DbOpt,
) -> None:
    """Store the organisation's KYC customer record (replaces the previous one)."""
    ids = _ids(db)
    org = ids.get_org(ref)
    rec = ids.set_kyc_record(org.id, _load_record(path))
    typer.echo(f"KYC record of {org.id}: {_record_summary(rec, organisation=True)}")


# -- accounts -------------------------------------------------------------------------
@accounts_app.command("create")
def accounts_create(
    name: str = typer.Argument(..., help="Display name."),
    org: str | None = typer.Option(None, "--org", help="Organisation id or name (member)."),
    nationality: str | None = typer.Option(None, help="ISO 3166-1 alpha-2 (individuals)."),
    kyc_level: str = typer.Option("none", help="none | basic | verified | enhanced."),
    rpm: int | None = typer.Option(None, help="Requests per minute."),
    tpm: int | None = typer.Option(None, help="Tokens per minute."),
    concurrency: int | None = typer.Option(None, help="Concurrent requests."),
    account_id: str | None = typer.Option(None, "--id", help="Choose the id (default: random)."),
    db: str | None = DbOpt,
) -> None:
    """Create an account: an individual, or (with --org) an organisation member."""
    acct = _ids(db).create_account(
        name, type="organization" if org else "individual", org_id=org,
        nationality=nationality, kyc_level=kyc_level, limits=_limits(rpm, tpm, concurrency),
        id=account_id,
    )  # fmt: skip
    where = f" in {acct.org_id}" if acct.org_id else ""
    typer.echo(f"created account {acct.id} ({acct.type}{where}, KYC {acct.kyc_level})")


@accounts_app.command("list")
def accounts_list(
    org: str | None = typer.Option(None, "--org", help="Only members of this organisation."),
    status: str | None = typer.Option(None, help="active | suspended."),
    db: str | None = DbOpt,
    as_json: bool = JsonOpt,
) -> None:
    """List accounts."""
    accts = _ids(db).list_accounts(org_id=org, status=status)
    if as_json:
        _json([a.to_dict() for a in accts])
        return
    _table(
        f"{len(accts)} account(s)",
        ["id", "name", "type", "org", "nat.", "status", "kyc", "screening", "risk"],
        [[a.id, a.name, a.type, a.org_id, a.nationality, a.status, a.kyc_level,
          a.screening_status, f"{a.risk_verdict} {a.risk_score:.2f}"] for a in accts],
    )  # fmt: skip


@accounts_app.command("show")
def accounts_show(
    account_id: str = typer.Argument(...),
    db: str | None = DbOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show an account with the access context the rules see, its keys and its history."""
    ids = _ids(db)
    snap = ids.snapshot(account_id)
    a = snap.account
    keys = ids.list_keys(a.id)
    history = ids.changes(a.id, limit=10)
    if as_json:
        rec = ids.get_kyc_record(a.id)
        _json({**a.to_dict(), "context": snap.to_context(), "keys": [k.to_dict() for k in keys],
               "kyc_record": rec.to_dict() if rec else None, "changes": history})  # fmt: skip
        return
    ctx = snap.to_context()
    kyc = (
        "complete"
        if ctx["account"]["kyc_record_complete"]
        else (
            "incomplete: missing " + ", ".join(snap.kyc_missing) if snap.kyc_record else "missing"
        )
    )
    _table(
        f"account {a.id}",
        ["field", "value"],
        [["name", a.name], ["type", a.type], ["organisation", a.org_id],
         ["nationality", a.nationality],
         ["status", snap.status + (f" ({a.status_reason})" if a.status_reason else "")],
         ["kyc level", a.kyc_level], ["kyc record", kyc],
         ["screening", f"{ctx['screening']['status']} {ctx['screening']['ref'] or ''}".strip()],
         ["risk", f"{a.risk_verdict} {a.risk_score:.2f} {a.risk_campaign or ''}".strip()],
         ["limits", _fmt_limits(a)], ["created", _ts(a.created_at)]],
    )  # fmt: skip
    _keys_table(keys)
    _table("recent changes", ["version", "at", "by", "action", "detail"],
           [[c["version"], _ts(c["at"]), c["actor"], c["action"], _compact(c["detail"])]
            for c in history])  # fmt: skip


@accounts_app.command("update")
def accounts_update(
    account_id: str = typer.Argument(...),
    name: str | None = typer.Option(None, help="New display name."),
    nationality: str | None = typer.Option(None, help="New nationality (ISO 3166-1 alpha-2)."),
    rpm: int | None = typer.Option(None, help="Requests per minute."),
    tpm: int | None = typer.Option(None, help="Tokens per minute."),
    concurrency: int | None = typer.Option(None, help="Concurrent requests."),
    db: str | None = DbOpt,
) -> None:
    """Change an account's name, nationality or limits."""
    changes: dict[str, Any] = {k: v for k, v in (("name", name), ("nationality", nationality))
                               if v is not None}  # fmt: skip
    limits = _limits(rpm, tpm, concurrency)
    if limits:
        changes["limits"] = limits
    if not changes:
        raise DistillguardError("nothing to change: give at least one option")
    a = _ids(db).update_account(account_id, **changes)
    typer.echo(f"updated {a.id}: {', '.join(sorted(changes))}")


@accounts_app.command("suspend")
def accounts_suspend(
    account_id: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail)."),
    db: str | None = DbOpt,
) -> None:
    """Suspend an account: its keys stop working (other replicas: within 1 s)."""
    a = _ids(db).suspend_account(account_id, reason)
    typer.echo(f"suspended {a.id}: {reason}")


@accounts_app.command("reactivate")
def accounts_reactivate(
    account_id: str = typer.Argument(...),
    reason: str | None = typer.Option(None, "--reason"),
    db: str | None = DbOpt,
) -> None:
    """Reactivate a suspended account."""
    a = _ids(db).reactivate_account(account_id, reason)
    typer.echo(f"reactivated {a.id}")


@accounts_app.command("set-kyc")
def accounts_set_kyc(
    account_id: str = typer.Argument(...),
    level: str = typer.Argument(..., help="none | basic | verified | enhanced."),
    reason: str | None = typer.Option(None, "--reason"),
    db: str | None = DbOpt,
) -> None:
    """Set an account's KYC level."""
    a = _ids(db).set_kyc_level(account_id, level, reason)
    typer.echo(f"{a.id}: KYC level {a.kyc_level}")


@accounts_app.command("set-record")
def accounts_set_record(
    account_id: str = typer.Argument(...),
    path: Path = typer.Argument(..., help="KYC record as JSON or YAML (docs/identity.md)."),
    db: str | None = DbOpt,
) -> None:
    """Store the account's KYC customer record (replaces the previous one)."""
    ids = _ids(db)
    rec = ids.set_kyc_record(ids.get_account(account_id).id, _load_record(path))
    typer.echo(f"KYC record of {account_id}: {_record_summary(rec, organisation=False)}")


# -- keys -----------------------------------------------------------------------------
def _keys_table(keys: list[Any]) -> None:
    _table(
        f"{len(keys)} key(s)",
        ["key id", "account", "prefix", "name", "created", "expires", "last used", "state"],
        [[k.id, k.account_id, k.display_prefix + "...", k.name, _ts(k.created_at),
          _ts(k.expires_at), _ts(k.last_used_at),
          f"revoked {_ts(k.revoked_at)}" if k.revoked_at else "active"] for k in keys],
    )  # fmt: skip


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
    key_id, plaintext = _ids(db).issue_key(
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
    keys = _ids(db).list_keys(account)
    if as_json:
        _json([k.to_dict() for k in keys])
        return
    _keys_table(keys)


@keys_app.command("revoke")
def keys_revoke(
    key_id: str = typer.Argument(...),
    reason: str | None = typer.Option(None, "--reason"),
    db: str | None = DbOpt,
) -> None:
    """Revoke a key (other gateway replicas stop accepting it within 1 s)."""
    k = _ids(db).revoke_key(key_id, reason)
    typer.echo(f"revoked {k.id} ({k.display_prefix}...) at {k.revoked_at}")
