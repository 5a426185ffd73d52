"""`distillguard reports build ...` and `reports evidence`: report builders (see builders)."""

from __future__ import annotations

import typer


def register_build(app: typer.Typer) -> None:
    """Add the builder commands to the reports group."""
