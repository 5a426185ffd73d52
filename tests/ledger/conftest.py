"""Ledger fixtures: one ledger per backend, raw SQL access for tampering, CLI runner."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from distillguard.ledger import Ledger, open_ledger


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_schema"))
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture()
def make_ledger(ledger_url: str, tmp_path: Path) -> Iterator[Callable[..., Ledger]]:
    opened: list[Ledger] = []

    def make(**kw: Any) -> Ledger:
        led = open_ledger(ledger_url, tmp_path / "ledger.key", **kw)
        opened.append(led)
        return led

    yield make
    for led in opened:
        with contextlib.suppress(Exception):
            led.close()


class RawDB:
    """Direct SQL on the ledger tables, as an attacker with database access would do."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            import sqlite3

            self.conn: Any = sqlite3.connect(url[len("sqlite:///") :], isolation_level=None)
            self.pg = False
        else:
            import psycopg

            self.conn = psycopg.connect(url, autocommit=True)
            self.pg = True

    def q(self, sql: str, *params: Any) -> list[Any]:
        if self.pg:
            sql = sql.replace("?", "%s")
        cur = self.conn.execute(sql, params)
        try:
            return [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
                for r in cur.fetchall()
            ]
        except Exception:
            return []

    def close(self) -> None:
        self.conn.close()


@pytest.fixture()
def raw(ledger_url: str) -> Iterator[RawDB]:
    db = RawDB(ledger_url)
    yield db
    db.close()


@pytest.fixture()
def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """Run `distillguard ARGS...` in-process through the real entry point."""
    from distillguard.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["distillguard", *args])
        capsys.readouterr()
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run
