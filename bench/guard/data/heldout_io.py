"""Shared writer for the held-out prompt scripts in this folder."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path


def write(out: Path, attacks: Sequence[object], benign: Sequence[object]) -> None:
    """One JSON line per prompt: {"label", "prompt"} or {"label", "messages"}."""
    with out.open("w", encoding="utf-8") as f:
        for label, items in (("attack", attacks), ("benign", benign)):
            for p in items:
                key = "prompt" if isinstance(p, str) else "messages"
                f.write(json.dumps({"label": label, key: p}, ensure_ascii=False) + "\n")
    print(f"wrote {len(attacks)} attacks and {len(benign)} benign prompts to {out}")
