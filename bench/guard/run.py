"""Reasoning-guard benchmark: `.venv/bin/python bench/guard/run.py` (about 4 minutes).

Runs `distillguard.guard.evaluate.run` (the same code as `distillguard guard eval`) with
the two held-out sets in bench/guard/data (heldout.jsonl was looked at during development
and is reported as `heldout_dev`; heldout2.jsonl was written after all tuning and is the
clean check, `heldout_final`), writes bench/guard/results.json and results.md, and prints
the markdown.
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
            "heldout_final": HERE / "data" / "heldout2.jsonl",
        },
        progress=lambda s: print(f"  {s}", file=sys.stderr, flush=True),
    )
    (HERE / "results.json").write_text(json.dumps(res, indent=2, ensure_ascii=False))
    md = evaluate.markdown(res)
    (HERE / "results.md").write_text(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
