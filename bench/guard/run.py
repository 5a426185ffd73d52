"""Reasoning-guard benchmark: `.venv/bin/python bench/guard/run.py` (about 4 minutes).

Runs `distillguard.guard.evaluate.run` (the same code as `distillguard guard eval`) with
the held-out wordings in bench/guard/data/heldout.jsonl, writes bench/guard/results.json
and bench/guard/results.md, and prints the markdown.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from distillguard.guard import evaluate

HERE = Path(__file__).resolve().parent


def main() -> None:
    res = evaluate.run(
        heldout=HERE / "data" / "heldout.jsonl",
        progress=lambda s: print(f"  {s}", file=sys.stderr, flush=True),
    )
    (HERE / "results.json").write_text(json.dumps(res, indent=2, ensure_ascii=False))
    md = evaluate.markdown(res)
    (HERE / "results.md").write_text(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
