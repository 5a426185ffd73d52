"""Score name pairs with nomenklatura's logic-v2 (run ONLY inside bench/.venv-nomenklatura).

Input (stdin): JSON lines {"name1", "name2", "schema" | "schema1"/"schema2", "dob1"?, ...}.
Output (stdout): one JSON line per pair {"score": float}, then a final line
{"timing": {"pairs", "seconds", "us_per_pair", "cpu_us_per_pair"}} over the compare calls only.
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


def _schema(value: str | None) -> str:
    ok = ("Person", "Organization", "Company", "Vessel", "Airplane", "LegalEntity")
    if value == "Aircraft":
        return "Airplane"
    return value if value in ok else "LegalEntity"


def main() -> None:
    algo_name = sys.argv[1] if len(sys.argv) > 1 else "logic-v2"
    algo = get_algorithm(algo_name)
    if algo is None:
        raise SystemExit(f"no algorithm {algo_name}")
    config = ScoringConfig.defaults()
    pairs = []
    for i, line in enumerate(sys.stdin):
        d = json.loads(line)
        s1 = _schema(d.get("schema1") or d.get("schema"))
        s2 = _schema(d.get("schema2") or d.get("schema"))
        # unique ids: nomenklatura caches name analysis per entity id
        q = _entity(f"q{i}", s1, d["name1"], d.get("dob1"), d.get("country1"))
        r = _entity(f"r{i}", s2, d["name2"], d.get("dob2"), d.get("country2"))
        pairs.append((q, r))
    warm = [
        (
            _entity("wq", "Person", "Warm Up", None, None),
            _entity("wr", "Person", "Warm Upp", None, None),
        )
    ]
    for q, r in warm * 3:  # warm-up: the first call loads rigour/nomenklatura data files
        algo.compare(q, r, config)
    scores = []
    t0, c0 = time.perf_counter(), time.thread_time()
    for q, r in pairs:
        scores.append(algo.compare(q, r, config).score)
    dt = time.perf_counter() - t0
    cpu = time.thread_time() - c0
    out = sys.stdout
    for s in scores:
        out.write(json.dumps({"score": s}) + "\n")
    n = max(len(pairs), 1)
    timing = {
        "pairs": len(pairs),
        "seconds": dt,
        "us_per_pair": dt / n * 1e6,
        "cpu_us_per_pair": cpu / n * 1e6,
    }
    out.write(json.dumps({"timing": timing}) + "\n")


if __name__ == "__main__":
    main()
