"""`distillguard orgs ...`: organisations, their limits, allowlists and KYC records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from distillguard.errors import DistillguardError
from distillguard.identity.cli_common import (
    DbOpt,
    JsonOpt,
    fmt_limits,
    limits_of,
    load_record,
    open_ids,
    print_json,
    print_table,
    record_summary,
    short_ts,
)

orgs_app = typer.Typer(help="Organisations (headquarters, ultimate parent, allowlists).")


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
    org = open_ids(db).create_org(
        name, hq, parent_name=parent, parent_hq_country=parent_hq, allowlists=allowlist,
        limits=limits_of(rpm, tpm, concurrency), id=org_id,
    )  # fmt: skip
    typer.echo(f"created organisation {org.id} ({org.name}, HQ {org.hq_country})")


@orgs_app.command("list")
def orgs_list(db: str | None = DbOpt, as_json: bool = JsonOpt) -> None:
    """List organisations."""
    orgs = open_ids(db).list_orgs()
    if as_json:
        print_json([o.to_dict() for o in orgs])
        return
    print_table(
        f"{len(orgs)} organisation(s)",
        ["id", "name", "hq", "parent hq", "status", "screening", "allowlists", "limits"],
        [[o.id, o.name, o.hq_country, o.parent_hq_country, o.status, o.screening_status,
          ",".join(o.allowlists), fmt_limits(o)] for o in orgs],
    )  # fmt: skip


@orgs_app.command("show")
def orgs_show(
    ref: str = typer.Argument(..., help="Organisation id or name."),
    db: str | None = DbOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show an organisation, its KYC record and its member accounts."""
    ids = open_ids(db)
    org = ids.get_org(ref)
    rec = ids.get_kyc_record(org.id)
    members = ids.list_accounts(org_id=org.id)
    if as_json:
        print_json({**org.to_dict(), "kyc_record": rec.to_dict() if rec else None,
                    "accounts": [a.id for a in members]})  # fmt: skip
        return
    print_table(
        f"organisation {org.id}",
        ["field", "value"],
        [["name", org.name], ["hq_country", org.hq_country], ["parent", org.parent_name],
         ["parent_hq_country", org.parent_hq_country], ["allowlists", ",".join(org.allowlists)],
         ["status", org.status + (f" ({org.status_reason})" if org.status_reason else "")],
         ["screening", f"{org.screening_status} {org.screening_ref or ''}".strip()],
         ["limits", fmt_limits(org)],
         ["kyc record", record_summary(rec, organisation=True)],
         ["accounts", ", ".join(a.id for a in members)], ["created", short_ts(org.created_at)]],
    )  # fmt: skip


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
    limits = limits_of(rpm, tpm, concurrency)
    if limits:
        changes["limits"] = limits
    if not changes:
        raise DistillguardError("nothing to change: give at least one option")
    org = open_ids(db).update_org(ref, **changes)
    typer.echo(f"updated {org.id}: {', '.join(sorted(changes))}")


@orgs_app.command("suspend")
def orgs_suspend(
    ref: str = typer.Argument(..., help="Organisation id or name."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail)."),
    db: str | None = DbOpt,
) -> None:
    """Suspend an organisation: every member account stops working."""
    org = open_ids(db).suspend_org(ref, reason)
    typer.echo(f"suspended {org.id}: {reason}")


@orgs_app.command("reactivate")
def orgs_reactivate(
    ref: str = typer.Argument(..., help="Organisation id or name."),
    reason: str | None = typer.Option(None, "--reason"),
    db: str | None = DbOpt,
) -> None:
    """Reactivate a suspended organisation."""
    org = open_ids(db).reactivate_org(ref, reason)
    typer.echo(f"reactivated {org.id}")


@orgs_app.command("set-record")
def orgs_set_record(
    ref: str = typer.Argument(..., help="Organisation id or name."),
    path: Path = typer.Argument(..., help="KYC record as JSON or YAML (docs/identity.md)."),
    db: str | None = DbOpt,
) -> None:
    """Store the organisation's KYC customer record (replaces the previous one)."""
    ids = open_ids(db)
    org = ids.get_org(ref)
    rec = ids.set_kyc_record(org.id, load_record(path))
    typer.echo(f"KYC record of {org.id}: {record_summary(rec, organisation=True)}")


# -- accounts -------------------------------------------------------------------------
