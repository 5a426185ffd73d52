"""`distillguard accounts ...`: accounts, their status, KYC level and records, and what the
rules see of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from distillguard.errors import DistillguardError
from distillguard.identity.cli_common import (
    DbOpt,
    JsonOpt,
    compact,
    fmt_limits,
    keys_table,
    limits_of,
    load_record,
    open_ids,
    print_json,
    print_table,
    record_summary,
    short_ts,
)

accounts_app = typer.Typer(help="Accounts: individuals and organisation members, KYC.")


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
    acct = open_ids(db).create_account(
        name, type="organization" if org else "individual", org_id=org,
        nationality=nationality, kyc_level=kyc_level, limits=limits_of(rpm, tpm, concurrency),
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
    accts = open_ids(db).list_accounts(org_id=org, status=status)
    if as_json:
        print_json([a.to_dict() for a in accts])
        return
    print_table(
        f"{len(accts)} account(s)",
        ["id", "name", "type", "org", "nat.", "status", "kyc", "screening", "risk", "review"],
        [[a.id, a.name, a.type, a.org_id, a.nationality, a.status, a.kyc_level,
          a.screening_status, f"{a.risk_verdict} {a.risk_score:.2f}",
          a.review.state(a.risk_score, a.risk_campaign) if a.review else None]
         for a in accts],
    )  # fmt: skip


@accounts_app.command("show")
def accounts_show(
    account_id: str = typer.Argument(...),
    db: str | None = DbOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show an account with the access context the rules see, its keys and its history."""
    ids = open_ids(db)
    snap = ids.snapshot(account_id)
    a = snap.account
    keys = ids.list_keys(a.id)
    history = ids.changes(a.id, limit=10)
    if as_json:
        rec = ids.get_kyc_record(a.id)
        print_json({**a.to_dict(), "context": snap.to_context(),
                    "keys": [k.to_dict() for k in keys],
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
    print_table(
        f"account {a.id}",
        ["field", "value"],
        [["name", a.name], ["type", a.type], ["organisation", a.org_id],
         ["nationality", a.nationality],
         ["status", snap.status + (f" ({a.status_reason})" if a.status_reason else "")],
         ["kyc level", a.kyc_level], ["kyc record", kyc],
         ["screening", f"{ctx['screening']['status']} {ctx['screening']['ref'] or ''}".strip()],
         ["risk", f"{a.risk_verdict} {a.risk_score:.2f} {a.risk_campaign or ''}".strip()],
         ["review", review_summary(a)],
         ["limits", fmt_limits(a)], ["created", short_ts(a.created_at)]],
    )  # fmt: skip
    keys_table(keys)
    print_table(
        "recent changes",
        ["version", "at", "by", "action", "detail"],
        [[c["version"], short_ts(c["at"]), c["actor"], c["action"], compact(c["detail"])]
         for c in history],
    )  # fmt: skip


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
    limits = limits_of(rpm, tpm, concurrency)
    if limits:
        changes["limits"] = limits
    if not changes:
        raise DistillguardError("nothing to change: give at least one option")
    a = open_ids(db).update_account(account_id, **changes)
    typer.echo(f"updated {a.id}: {', '.join(sorted(changes))}")


@accounts_app.command("suspend")
def accounts_suspend(
    account_id: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail)."),
    db: str | None = DbOpt,
) -> None:
    """Suspend an account: its keys stop working (other replicas: within 1 s)."""
    a = open_ids(db).suspend_account(account_id, reason)
    typer.echo(f"suspended {a.id}: {reason}")


@accounts_app.command("reactivate")
def accounts_reactivate(
    account_id: str = typer.Argument(...),
    reason: str | None = typer.Option(None, "--reason"),
    db: str | None = DbOpt,
) -> None:
    """Reactivate a suspended account."""
    a = open_ids(db).reactivate_account(account_id, reason)
    typer.echo(f"reactivated {a.id}")


@accounts_app.command("set-kyc")
def accounts_set_kyc(
    account_id: str = typer.Argument(...),
    level: str = typer.Argument(..., help="none | basic | verified | enhanced."),
    reason: str | None = typer.Option(None, "--reason"),
    db: str | None = DbOpt,
) -> None:
    """Set an account's KYC level."""
    a = open_ids(db).set_kyc_level(account_id, level, reason)
    typer.echo(f"{a.id}: KYC level {a.kyc_level}")


@accounts_app.command("review")
def accounts_review(
    account_id: str = typer.Argument(...),
    disposition: str = typer.Argument(
        ..., help="cleared (reviewed benign) | confirmed (reviewed distillation) | withdraw."
    ),
    reason: str = typer.Option(..., "--reason", help="Why (kept with the review and audited)."),
    reviewer: str | None = typer.Option(
        None, "--reviewer", help="Reviewer id (default: your user name)."
    ),
    ttl_days: float | None = typer.Option(
        None, "--ttl-days", help="Lapses after this many days (cleared default: 90)."
    ),
    expires_at: str | None = typer.Option(
        None, "--expires-at", help="Lapses at this RFC 3339 time (instead of --ttl-days)."
    ),
    margin: float | None = typer.Option(
        None, "--margin", help="cleared: lapses once the detector's score rises by this (0.15)."
    ),
    db: str | None = DbOpt,
) -> None:
    """Record a reviewer's disposition of the detector's verdict; detector updates keep it."""
    import getpass

    ids = open_ids(db)
    if reviewer is None:
        try:
            reviewer = getpass.getuser()
        except (KeyError, OSError):
            raise DistillguardError("name the reviewer with --reviewer") from None
    if disposition == "withdraw":
        a = ids.remove_review(account_id, reviewer=reviewer, reason=reason)
        typer.echo(f"{a.id}: review withdrawn; the detector's verdict ({a.risk_verdict}) applies")
        return
    a = ids.set_review(
        account_id, disposition, reviewer=reviewer, reason=reason, ttl_days=ttl_days,
        expires_at=expires_at, margin=margin,
    )  # fmt: skip
    typer.echo(f"{a.id}: {review_summary(a)}")


def review_summary(a: Any) -> str:
    """One line on an account's review: disposition, who, when, until when, and its state."""
    r = a.review
    if r is None:
        return "not reviewed"
    lapse = r.lapse(a.risk_score, a.risk_campaign)
    until = f" until {short_ts(r.expires_at)}" if r.expires_at else ""
    rise = f", ends if the score reaches {r.score + r.margin:.2f}" if r.margin else ""
    state = f" [lapsed: {lapse}]" if lapse else ""
    return (
        f"{r.disposition} by {r.reviewer} at {short_ts(r.at)}{until} (detector then: "
        f"{r.verdict} {r.score:.2f}{rise}){state}: {r.reason}"
    )


@accounts_app.command("set-record")
def accounts_set_record(
    account_id: str = typer.Argument(...),
    path: Path = typer.Argument(..., help="KYC record as JSON or YAML (docs/identity.md)."),
    db: str | None = DbOpt,
) -> None:
    """Store the account's KYC customer record (replaces the previous one)."""
    ids = open_ids(db)
    rec = ids.set_kyc_record(ids.get_account(account_id).id, load_record(path))
    typer.echo(f"KYC record of {account_id}: {record_summary(rec, organisation=False)}")


# -- keys -----------------------------------------------------------------------------
