"""Shared detection: can one `detect-follow` keep up with the replicas' events?

Measures, on the same labelled week of traffic (bench/detect/traffic.py, prompts from
../shared/data):
- detector only: `OnlineDetector.observe` over events already parsed in memory (the floor);
- follow: `Follower.catch_up()` over the same events stored in `gateway_events`, reading
  the table in batches, parsing, detecting and writing risk to identity (real accounts);
- restart: a new follower rebuilding its state by replay up to the stored cursor.

Usage: .venv/bin/python bench/gateway/follow.py [--store postgresql://...] [--scale 0.1]
Default store: a fresh schema in postgresql://postgres@127.0.0.1:5432/test (dropped after).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "detect"))


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _detector_only(parsed: list[object]) -> float:
    from distillguard.detect import OnlineDetector

    det = OnlineDetector()
    t0 = time.perf_counter()
    for ev in parsed:
        det.observe(ev)  # type: ignore[arg-type]
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    import psycopg
    import traffic

    from distillguard.detect.follow import Follower
    from distillguard.events import RequestEvent, format_ts
    from distillguard.gateway.sink import SCHEMA
    from distillguard.identity import IdentityService
    from distillguard.store.db import Database

    events, labels = traffic.generate(args.seed, "tune", args.scale)
    print(f"load average at start {_load()}; {len(events)} events, {len(labels)} accounts")

    store, schema = args.store, None
    if store.startswith("postgres"):
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(store, autocommit=True) as c:
            c.execute(f'CREATE SCHEMA "{schema}"')
        store += f"{'&' if '?' in store else '?'}options=-csearch_path%3D{schema}"
    db = Database(store)
    try:
        db.migrate("gateway_events", SCHEMA)
        ids = IdentityService(db)
        for acct in sorted({e["account"] for e in events}):
            ids.create_account(acct, id=acct)
        rows = [
            (format_ts(RequestEvent.from_dict(e).ts), e["account"], "/v1/chat/completions",
             orjson.dumps(e).decode())
            for e in events
        ]  # fmt: skip
        with db.transaction():
            db.executemany(
                "INSERT INTO gateway_events (ts, account, endpoint, event) VALUES (?, ?, ?, ?)",
                rows,
            )

        parsed: list[object] = [RequestEvent.from_dict(e) for e in events]
        t_det_before = _detector_only(parsed)  # before and after: the machine's load drifts

        f = Follower(db, ids, batch=1000)
        t0 = time.perf_counter()
        n = f.catch_up()
        t_follow = time.perf_counter() - t0
        assert n == len(events), n

        g = Follower(db, ids, batch=1000)
        t0 = time.perf_counter()
        replayed = g.start()
        t_replay = time.perf_counter() - t0
        assert replayed == len(events)

        t_det = (t_det_before + _detector_only(parsed)) / 2
        flagged = sum(1 for v in f._pushed.values() if v[0] == "distillation")
        print(f"store: {db.dialect}; load average at end {_load()}")
        print(
            f"detector only (parsed, in memory; mean of a run before and after): "
            f"{len(events) / t_det:,.0f} events/s"
        )
        print(
            f"follow (read + parse + detect + set_risk): {n / t_follow:,.0f} events/s "
            f"({t_follow / t_det:.2f}x the detector's time); {f.stats.pushes} risk "
            f"updates, {flagged} accounts flagged distillation"
        )
        print(f"restart replay: {replayed / t_replay:,.0f} events/s ({t_replay:.1f} s)")
        ids.close()
    finally:
        db.close()
        if schema is not None:
            with psycopg.connect(args.store, autocommit=True) as c:
                c.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
