"""What the demo prints: decisions, refusals, degradations, detector flags, ledger proof.

Kept apart from demo.py so the replay logic and the presentation stay readable; every
figure shown is read back from the running system (response headers, the event sink,
the detector's state, the ledger), not from what the demo intended to happen.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from rich.console import Console
from rich.table import Table


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return 0.0
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))]


def print_report(
    console: Console,
    app: Any,
    parts: Any,
    actors: list[Any],
    results: list[Any],
    examples: dict[str, tuple[Any, dict[str, Any] | None]],
) -> None:
    phase1 = [r for r in results if r.phase == 1]
    phase2 = [r for r in results if r.phase == 2]
    label_of = {a.kind: a.label for a in actors}

    t = Table(title=f"Phase 1: {len(phase1)} requests, decisions by action")
    t.add_column("action")
    t.add_column("requests", justify="right")
    t.add_column("share", justify="right")
    for action, n in Counter(r.decision for r in phase1).most_common():
        t.add_row(action, str(n), f"{100 * n / max(1, len(phase1)):.0f}%")
    console.print(t)

    t = Table(title="Who got what (phase 1)")
    for col in ("customer", "accounts", "requests", "decisions", "error codes"):
        t.add_column(col)
    by_label: dict[str, list[Any]] = defaultdict(list)
    for r in phase1:
        by_label[label_of[r.actor]].append(r)
    for label, rs in by_label.items():
        n_acc = len({r.actor for r in rs})
        dec = ", ".join(f"{k} {v}" for k, v in Counter(r.decision for r in rs).most_common())
        codes = ", ".join(
            f"{k} {v}" for k, v in Counter(r.code for r in rs if r.code).most_common()
        )
        t.add_row(label, str(n_acc), str(len(rs)), dec, codes or "-")
    console.print(t)

    t = Table(title="Refused requests: one example per customer type and code")
    for col in ("customer", "model", "HTTP", "code", "deciding rule", "pack reason", "+rules"):
        t.add_column(col, no_wrap=True)
    for res, err in examples.values():
        if res.status in (401, 403, 429) and err:
            rules = list(err.get("rule_ids") or [])
            t.add_row(
                label_of[res.actor],
                res.model,
                str(res.status),
                str(err.get("code")),
                rules[0] if rules else "-",
                str(err.get("reason_code") or "-"),
                str(len(rules) - 1) if rules else "-",
            )
    console.print(t)

    deg = [r for r in results if r.status == 200 and r.transforms]
    t = Table(title=f"Degraded answers ({len(deg)}): transforms applied to the real responses")
    for col in ("customer", "decision", "rule ids", "transforms", "reasoning reached client"):
        t.add_column(col, overflow="fold", max_width=44)
    seen: set[tuple[str, str]] = set()
    for r in deg:
        k = (label_of[r.actor], r.transforms)
        if k in seen:
            continue
        seen.add(k)
        t.add_row(k[0], r.decision, r.rules, r.transforms, "yes" if r.reasoning_visible else "no")
    console.print(t)
    stripped = [r for r in deg if "strip_reasoning" in r.transforms]
    leaked = sum(r.reasoning_visible for r in stripped)
    console.print(
        f"strip_reasoning: {len(stripped)} answers; the stand-in sent reasoning in all of "
        f"them; it reached the client in {leaked}."
    )

    det = parts.detector
    if det is not None:
        t = Table(title="Online detector (fed off the hot path; verdicts flow back as risk)")
        widths = {"account": 14, "customer": 21, "requests": 8, "score": 5, "verdict": 12}
        widths.update(campaign=14)
        for col, w in widths.items():
            t.add_column(col, no_wrap=True, min_width=w)
        t.add_column("strongest reason", no_wrap=True, max_width=44, overflow="ellipsis")
        campaigns: dict[str, list[str]] = defaultdict(list)
        for a in actors:
            sig = det.account_state(a.account_id)
            if sig is None:
                continue
            if sig.campaign:
                campaigns[sig.campaign].append(a.kind)
            if sig.verdict != "benign" or a.label != "campaign account":
                t.add_row(
                    a.kind,
                    a.label,
                    str(sig.requests),
                    f"{sig.score:.2f}",
                    sig.verdict,
                    sig.campaign or "-",
                    (sig.reasons or ["-"])[0][:60],
                )
        console.print(t)
        camp_acc = [a for a in actors if a.label == "campaign account"]
        flagged = sum(
            1
            for a in camp_acc
            if (s := det.account_state(a.account_id)) is not None and s.verdict != "benign"
        )
        for style, what in (("overt", "ask for reasoning"), ("stealth", "plain wrappers")):
            group = [a for a in camp_acc if a.style == style]
            if not group:
                continue
            kinds = {a.kind for a in group}
            n_flag = sum(
                1
                for a in group
                if (s := det.account_state(a.account_id)) is not None and s.verdict != "benign"
            )
            mine = [r for r in phase1 if r.actor in kinds]
            by_guard = sum(1 for r in mine if "guard." in r.rules)
            console.print(
                f"{style} campaign accounts ({what}): {n_flag}/{len(group)} flagged by the "
                f"detector; the input guard matched {by_guard} of their {len(mine)} requests"
            )
        others = [a for a in actors if a.label != "campaign account"]
        fp = sum(
            1
            for a in others
            if (s := det.account_state(a.account_id)) is not None and s.verdict != "benign"
        )
        console.print(
            f"campaign accounts flagged: {flagged}/{len(camp_acc)}; other accounts flagged: "
            f"{fp}/{len(others)}; campaigns linked: "
            + (", ".join(f"{c} ({len(m)} accounts)" for c, m in campaigns.items()) or "none")
        )
    else:
        console.print("[yellow]online detector not available: no risk signals[/]")

    if phase2:
        dec = ", ".join(f"{k} {v}" for k, v in Counter(r.decision for r in phase2).most_common())
        codes = ", ".join(f"{k} {v}" for k, v in Counter(r.code for r in phase2 if r.code).items())
        console.print(
            f"phase 2, the campaign accounts again after detection: {dec}"
            + (f" (codes: {codes})" if codes else "")
        )

    ok = [r.overhead_ms for r in results if r.status == 200]
    console.print(
        f"gateway overhead (x-distillguard-overhead-ms, {len(ok)} answered requests): "
        f"p50 {_pct(ok, 0.5):.2f} ms, p99 {_pct(ok, 0.99):.2f} ms "
        "(shared demo process: client, gateway and stand-in in one event loop)"
    )
    console.print(
        f"events written: {app.sink.written} (table gateway_events + {app.cfg.store.events_jsonl})"
    )
    _ledger(console, parts)


def _ledger(console: Console, parts: Any) -> None:
    led, writer = parts.ledger, parts.ledger_writer
    if led is None or writer is None:
        console.print("[yellow]ledger not available: decisions were not logged[/]")
        return
    try:
        writer.flush()
        cp = led.checkpoint()
        from distillguard.ledger.verify import verify_log

        rep = verify_log(led.storage, led.public_key, led.origin)
        last = led.size - 1
        proof = led.prove_inclusion(last)
        from distillguard.ledger.verify import verify_inclusion_proof

        verify_inclusion_proof(proof, proof["record"], proof["checkpoint"], led.public_key)
    except Exception as exc:  # the ledger is another part: report, do not crash the demo
        console.print(f"[red]ledger check failed: {type(exc).__name__}: {exc}[/]")
        return
    status = "[green]verified[/]" if not rep.problems else f"[red]{len(rep.problems)} problems[/]"
    console.print(
        f"ledger: {led.size} decision records, full log {status}; inclusion proof of record "
        f"{last} verified against the signed checkpoint:"
    )
    console.print("  " + "\n  ".join(cp.strip().splitlines()[:4]), highlight=False)
