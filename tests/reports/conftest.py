"""Fixtures for the reports tests: a fresh SQLite database and the shipped rule pack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from distillguard.rules import RuleEngine, default_pack_path
from distillguard.store import Database


@pytest.fixture(scope="session")
def engine() -> RuleEngine:
    return RuleEngine.from_path(default_pack_path())


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Database]:
    d = Database(f"sqlite:///{tmp_path / 'dg.db'}")
    yield d
    d.close()
