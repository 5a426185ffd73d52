"""Pairwise name scoring: `score_pair` and the `screen pairs` CSV contract.

Why: labelled name-pair sets (ours, OpenSanctions', a customer's) are how matchers are
compared and tuned; the contract (ARCHITECTURE.md) is input `name1,name2[,schema]`, output
the same columns plus `score` (0..1) and `is_match` (true/false).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from distillguard.errors import DistillguardError
from distillguard.screening.model import canonical_schema
from distillguard.screening.normalize import InvalidNameError, normalize
from distillguard.screening.ofac import ofac_score, ofac_tokens
from distillguard.screening.score import DEFAULT_CONFIG, MatchConfig, name_similarity


def score_pair(
    name1: str,
    name2: str,
    schema: str | None = None,
    *,
    mode: str = "best",
    config: MatchConfig = DEFAULT_CONFIG,
) -> float:
    """Similarity of two names in [0, 1] (0.0 when either is not a usable name)."""
    if mode == "ofac":
        return ofac_score(ofac_tokens(name1), ofac_tokens(name2))[0]
    sch = canonical_schema(schema)
    try:
        return name_similarity(normalize(name1, sch), normalize(name2, sch), config)
    except InvalidNameError:
        return 0.0


def score_pairs_file(
    src: Path,
    dst: Path,
    *,
    mode: str = "best",
    config: MatchConfig = DEFAULT_CONFIG,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Score every row of `src` into `dst`; return (rows, matches)."""
    threshold = config.threshold if mode == "best" else config.ofac_threshold
    try:
        fh = src.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DistillguardError(f"cannot read {src}: {exc.strerror or exc}") from None
    rows = matches = 0
    with fh, dst.open("w", newline="", encoding="utf-8") as out:
        reader = csv.DictReader(fh)
        fields = [f.strip() for f in reader.fieldnames or []]
        if "name1" not in fields or "name2" not in fields:
            raise DistillguardError(f"{src}: header must have name1,name2[,schema]; got {fields}")
        writer = csv.DictWriter(out, fieldnames=[*fields, "score", "is_match"])
        writer.writeheader()
        try:
            for row in reader:
                row = {(k or "").strip(): v for k, v in row.items()}
                s = score_pair(
                    row.get("name1") or "",
                    row.get("name2") or "",
                    row.get("schema") or None,
                    mode=mode,
                    config=config,
                )
                is_match = s >= threshold
                matches += is_match
                rows += 1
                writer.writerow({**row, "score": f"{s:.4f}", "is_match": str(is_match).lower()})
                if progress is not None:
                    progress(1)
        except csv.Error as exc:
            raise DistillguardError(
                f"{src}: malformed CSV at line {reader.line_num}: {exc}"
            ) from None
    return rows, matches
