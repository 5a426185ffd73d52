"""Score name pairs with nomenklatura's logic-v2 (run ONLY inside bench/.venv-nomenklatura).

Input (stdin): JSON lines {"name1", "name2", "schema"?, "dob1"?, "dob2"?, "country1"?, "country2"?}.
Output (stdout): one JSON line per pair {"score": float}, then a final line
{"timing": {"pairs": n, "seconds": s, "us_per_pair": x}} measured over the compare calls only.
Why a subprocess: distillguard must never import nomenklatura; this keeps the baseline apart.
"""

from __future__ import annotations

import json
import sys
import time

from followthemoney import EntityProxy, model
from nomenklatura.matching import get_algorithm
from nomenklatura.matching.types import ScoringConfig


def _entity(eid: str, schema: str, name: str, dob: str | None, country: str | None) -> EntityProxy:
    ent = model.make_entity(schema)
    ent.id = eid
    ent.add("name", name)
    if dob and ent.schema.get("birthDate") is not None:
        ent.add("birthDate", dob)
    if country:
        prop = "nationality" if ent.schema.get("nationality") is not None else "country"
        ent.add(prop, country)
    return ent


def main() -> None:
    algo_name = sys.argv[1] if len(sys.argv) > 1 else "logic-v2"
    algo = get_algorithm(algo_name)
    if algo is None:
        raise SystemExit(f"no algorithm {algo_name}")
    config = ScoringConfig.defaults()
    pairs = []
    for line in sys.stdin:
        d = json.loads(line)
        schema = d.get("schema") or "LegalEntity"
        if schema not in ("Person", "Organization", "Company", "Vessel", "LegalEntity"):
            schema = "LegalEntity"
        q = _entity("q", schema, d["name1"], d.get("dob1"), d.get("country1"))
        r = _entity("r", schema, d["name2"], d.get("dob2"), d.get("country2"))
        pairs.append((q, r))
    for q, r in pairs[:50]:  # warm-up: first calls load rigour/nomenklatura data files
        algo.compare(q, r, config)
    scores = []
    t0 = time.perf_counter()
    for q, r in pairs:
        scores.append(algo.compare(q, r, config).score)
    dt = time.perf_counter() - t0
    out = sys.stdout
    for s in scores:
        out.write(json.dumps({"score": s}) + "\n")
    n = max(len(pairs), 1)
    out.write(
        json.dumps({"timing": {"pairs": len(pairs), "seconds": dt, "us_per_pair": dt / n * 1e6}})
        + "\n"
    )


if __name__ == "__main__":
    main()
