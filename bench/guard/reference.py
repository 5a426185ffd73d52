"""Load the guard package as it was at a git revision, for before/after comparisons.

Why: speed work on the input guard must keep every verdict, family and score; the
equivalence check and the cost comparison import the old code side by side with the new.
The old tree is extracted with `git archive` into a temporary directory and its imports
of `distillguard.guard` are renamed, so both versions live in one process.
"""

from __future__ import annotations

import atexit
import importlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load(rev: str, name: str = "dg_guard_ref") -> ModuleType:
    """The `distillguard.guard` package at `rev`, importable as `name`."""
    raw = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src/distillguard/guard"],
        check=True,
        capture_output=True,
    ).stdout
    tmp = Path(tempfile.mkdtemp(prefix="dg-guard-ref-"))
    atexit.register(shutil.rmtree, tmp, True)
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        tar.extractall(tmp, filter="data")
    src = tmp / "src" / "distillguard" / "guard"
    pkg = tmp / name
    src.rename(pkg)
    for f in pkg.rglob("*.py"):
        f.write_text(f.read_text(encoding="utf-8").replace("distillguard.guard", name))
    sys.path.insert(0, str(tmp))
    return importlib.import_module(name)


def input_guard(rev: str) -> object:
    """`InputGuard.default()` of revision `rev`."""
    mod = load(rev)
    ig = importlib.import_module(f"{mod.__name__}.inputguard")
    return ig.InputGuard.default()
