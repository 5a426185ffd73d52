"""Shared fixtures: real PostgreSQL and Redis where available.

On a machine without the servers these tests skip with a message saying how to run them;
in CI (CI=true) a missing server is a failure, never a silent skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_DSN = os.environ.get("DISTILLGUARD_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("DISTILLGUARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(what: str, how: str, err: Exception) -> None:
    msg = f"{what} not reachable ({err}); {how}"
    if IN_CI:
        pytest.fail(f"CI=true but {msg}")
    pytest.skip(msg)


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """A DSN to a real PostgreSQL server (skips, or fails in CI, where there is none)."""
    try:
        import psycopg

        with psycopg.connect(PG_DSN, connect_timeout=3) as c:
            c.execute("SELECT 1")
    except Exception as exc:
        _unavailable(
            "PostgreSQL",
            "start one on 127.0.0.1:5432 (trust auth, database 'test') or set "
            "DISTILLGUARD_TEST_PG_DSN",
            exc,
        )
    return PG_DSN


@pytest.fixture()
def pg_schema(pg_dsn: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for one test; the DSN returned has it on its search_path."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_dsn, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{name}"')
    sep = "&" if "?" in pg_dsn else "?"
    try:
        yield f"{pg_dsn}{sep}options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as c:
            c.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A URL to a real Redis server (skips, or fails in CI, where there is none)."""
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:
        _unavailable(
            "Redis",
            "start one on 127.0.0.1:6379 or set DISTILLGUARD_TEST_REDIS_URL",
            exc,
        )
    return REDIS_URL


@pytest.fixture()
def dg_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated DISTILLGUARD_HOME for one test."""
    home = tmp_path / "dghome"
    monkeypatch.setenv("DISTILLGUARD_HOME", str(home))
    return home


def shared_data_or_skip(*parts: str) -> Path:
    """A path in ../shared/data; skips (fails in CI) when the shared folder is absent."""
    from distillguard.paths import shared_data

    p = shared_data(*parts)
    if p is None:
        msg = f"shared data {'/'.join(parts)} not found (set DISTILLGUARD_SHARED)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return p


@pytest.fixture(scope="session")
def shared_data_path():  # type: ignore[no-untyped-def]
    """`shared_data_path("distill", "gsm8k_train.jsonl")` -> Path, or skip (fail in CI)."""
    return shared_data_or_skip
