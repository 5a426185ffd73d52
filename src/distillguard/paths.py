"""Where distillguard keeps its files and where it finds the shared data sets.

`DISTILLGUARD_HOME` overrides the data directory (default `~/.distillguard`).
`DISTILLGUARD_SHARED` points at the shared data folder; otherwise we look for a
`shared/` folder beside the repository, as laid out on the development machines and CI.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The data directory (created on first use)."""
    root = Path(os.environ.get("DISTILLGUARD_HOME", Path.home() / ".distillguard"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def shared_dir() -> Path | None:
    """The shared data folder (`../shared` beside the checkout), or None where absent."""
    env = os.environ.get("DISTILLGUARD_SHARED")
    if env:
        p = Path(env)
        return p if p.is_dir() else None
    here = Path(__file__).resolve()
    for parent in [Path.cwd(), *Path.cwd().parents, *here.parents]:
        cand = parent / "shared" / "data"
        if cand.is_dir() and (parent / "shared" / "docs").is_dir():
            return parent / "shared"
        cand = parent.parent / "shared" / "data"
        if cand.is_dir():
            return parent.parent / "shared"
    return None


def shared_data(*parts: str) -> Path | None:
    """A path inside shared/data, or None when the shared folder is not present."""
    root = shared_dir()
    if root is None:
        return None
    p = root.joinpath("data", *parts)
    return p if p.exists() else None
