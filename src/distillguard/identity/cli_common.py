"""Shared pieces of the identity CLI (`cli_orgs`, `cli_accounts`, `cli_keys`): options,
opening the service with the operator recorded as actor, tables, JSON and record files.
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


def open_ids(db: str | None) -> IdentityService:
    import getpass

    from distillguard.identity import IdentityService
    from distillguard.identity.records import ACTOR
    from distillguard.store.db import open_database

    try:
        ACTOR.set(f"cli:{getpass.getuser()}")
    except (KeyError, OSError):  # no user name in this environment
        ACTOR.set("cli")
    return IdentityService(open_database(db))


def print_json(data: Any) -> None:
    import orjson

    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for i, c in enumerate(columns):
        t.add_column(c, overflow="fold", no_wrap=i == 0)
    for r in rows:
        t.add_row(*["-" if x is None or x == "" else str(x) for x in r])
    Console().print(t)


def short_ts(ts: str | None) -> str | None:
    """A compact UTC timestamp for tables (`2026-11-28 00:07`)."""
    return ts[:16].replace("T", " ") if ts else None


def limits_of(rpm: int | None, tpm: int | None, concurrency: int | None) -> dict[str, int] | None:
    given = {"rpm": rpm, "tpm": tpm, "concurrency": concurrency}
    return {k: v for k, v in given.items() if v is not None} or None


def fmt_limits(obj: Org | Account) -> str:
    lim = obj.limits
    parts = [f"{k}={v}" for k, v in (("rpm", lim.rpm), ("tpm", lim.tpm),
             ("conc", lim.concurrency)) if v is not None]  # fmt: skip
    return " ".join(parts) or "defaults"


def load_record(path: Path) -> Any:
    """A KYC record file (JSON or YAML); any problem is a one-line error with the line."""
    import yaml

    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise DistillguardError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DistillguardError(f"{path}: not UTF-8 text") from None
    try:
        return yaml.safe_load(text)  # YAML is a superset of JSON
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}" if mark is not None else ""
        raise DistillguardError(
            f"{path}{where} is not valid JSON/YAML: {exc.problem or exc.context}"
        ) from None
    except yaml.YAMLError as exc:
        raise DistillguardError(f"{path} is not valid JSON/YAML: {exc}") from None


def compact(detail: dict[str, Any] | None) -> str:
    return " ".join(f"{k}={v}" for k, v in (detail or {}).items() if v is not None)


def record_summary(rec: Any, *, organisation: bool) -> str:
    if rec is None:
        return "missing"
    gaps = rec.missing(organisation=organisation)
    return "complete" if not gaps else "incomplete: missing " + ", ".join(gaps)


def keys_table(keys: list[Any]) -> None:
    print_table(
        f"{len(keys)} key(s)",
        ["key id", "account", "prefix", "name", "created", "expires", "last used", "state"],
        [[k.id, k.account_id, k.display_prefix + "...", k.name, short_ts(k.created_at),
          short_ts(k.expires_at), short_ts(k.last_used_at),
          f"revoked {short_ts(k.revoked_at)}" if k.revoked_at else "active"] for k in keys],
    )  # fmt: skip
