"""The demo's last act: the reports built from what the demo just did.

Runs the offline detector over the events the gateway wrote, opens an incident for the
largest campaign (its reporting clocks start at discovery), builds the campaign's evidence
package (with ledger inclusion proofs and a STIX 2.1 bundle) and the next BIS 702.7
quarterly notice, each signed and recorded in the ledger, and writes them as JSON, HTML
and PDF. Kept apart from demo.py and report.py: it only calls the reports part's API.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def build_demo_reports(console: Console, parts: Any, events_jsonl: Path, out_dir: Path) -> None:
    """Print what was built; a failure is reported, never raised (the demo goes on)."""
    try:
        _build(console, parts, events_jsonl, out_dir)
    except Exception as exc:  # another part: report, do not crash the demo
        console.print(f"[red]reports not built: {type(exc).__name__}: {exc}[/]")


def _build(console: Console, parts: Any, events_jsonl: Path, out_dir: Path) -> None:
    from distillguard.detect.offline import scan_files
    from distillguard.events import read_events
    from distillguard.reports import api, render
    from distillguard.reports.clocks import due_items
    from distillguard.reports.incidents import open_campaign_incident

    led, db, engine = parts.ledger, parts.db, parts.engine
    if led is None:
        console.print("[yellow]reports skipped: no ledger[/]")
        return
    parts.ledger_writer.flush()
    report = scan_files([events_jsonl], timelines=False).report
    campaigns = sorted(report["campaigns"], key=lambda c: -len(c["accounts"]))
    written: list[Path] = []
    if campaigns:
        cid = campaigns[0]["id"]
        incident = open_campaign_incident(db, engine.reference, report, cid)
        env, bundle = api.evidence_package(
            db, led, report, cid, read_events(events_jsonl), engine=engine
        )
        written += render.write(env, out_dir)
        stix = out_dir / f"stix-{cid}.json"
        stix.write_text(json.dumps(bundle, indent=2, default=str))
        written.append(stix)
        kinds = Counter(o.get("type") for o in bundle.get("objects", []))
        console.print(
            f"campaign {cid}: incident [bold]{incident}[/] opened; evidence package signed and "
            f"recorded in the ledger; STIX 2.1 bundle: "
            + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
            + (
                ""
                if kinds.get("indicator")
                else " (no indicator: no subnet or user agent is used by this campaign alone)"
            )
        )
    notice = api.quarterly_notice(db, engine, led)
    written += render.write(notice, out_dir)
    console.print(
        f"BIS 702.7 quarterly notice {notice['report_id']} signed and recorded in the ledger"
    )
    now = datetime.now(UTC)
    t = Table(title="reporting deadlines (distillguard reports due)")
    for col in ("regime", "event", "due (UTC)", "status", "verification"):
        t.add_column(col)
    for d in due_items(db, engine.reference, now):
        row = d.to_dict(now)
        t.add_row(row["regime"], row["event"], row["due"], row["status"], row["verification"])
    console.print(t)
    console.print("reports written:\n  " + "\n  ".join(str(p) for p in written), highlight=False)
