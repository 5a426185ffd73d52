"""Reasoning-guard benchmark: `.venv/bin/python bench/guard/run.py` (about 4 minutes).

Runs `distillguard.guard.evaluate.run` (the same code as `distillguard guard eval`) with
the held-out sets in bench/guard/data: heldout.jsonl (`heldout_dev`, looked at during
development), heldout2.jsonl (scored once, then informed a last round of general
changes) and heldout3.jsonl (`heldout3_final`, written after the last change: the clean
check of that round) and heldout4.jsonl (`heldout4_blind`, written and committed before
the multilingual/indirect lexicon round, scored once before and once after it).
Writes bench/guard/results.json and results.md, and prints the markdown.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from distillguard.guard import evaluate

HERE = Path(__file__).resolve().parent


def main() -> None:
    res = evaluate.run(
        heldout={
            "heldout_dev": HERE / "data" / "heldout.jsonl",
            "heldout2": HERE / "data" / "heldout2.jsonl",
            "heldout3_final": HERE / "data" / "heldout3.jsonl",
            "heldout4_blind": HERE / "data" / "heldout4.jsonl",
        },
        progress=lambda s: print(f"  {s}", file=sys.stderr, flush=True),
    )
    (HERE / "results.json").write_text(json.dumps(res, indent=2, ensure_ascii=False))
    md = evaluate.markdown(res)
    (HERE / "results.md").write_text(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
