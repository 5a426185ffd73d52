"""A PostgreSQL ledger that cannot be reached fails with one clear error, password masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillguard.errors import DistillguardError
from distillguard.ledger import open_ledger


def test_unreachable_postgres_ledger(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(DistillguardError) as err:
        open_ledger("postgresql://postgres:s3cret@127.0.0.1:1/test", tmp_path / "k")
    msg = str(err.value)
    assert "postgres:***@127.0.0.1:1" in msg and "refused" in msg
    assert "s3cret" not in msg and "\n" not in msg
