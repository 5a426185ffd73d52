"""Identity fixtures: the same tests run on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from distillguard.identity import IdentityService
from distillguard.store.db import Database


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ids.db'}"
    return str(request.getfixturevalue("pg_schema"))


@pytest.fixture()
def make_ids(db_url: str) -> Iterator[Callable[..., IdentityService]]:
    """Factory of services on one database: each call is a separate 'replica'."""
    dbs: list[Database] = []

    def make(**kwargs: float) -> IdentityService:
        db = Database(db_url)
        dbs.append(db)
        return IdentityService(db, **kwargs)  # type: ignore[arg-type]

    yield make
    for db in dbs:
        db.close()


@pytest.fixture()
def ids(make_ids: Callable[..., IdentityService]) -> IdentityService:
    return make_ids()
