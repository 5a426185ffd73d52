"""Export-control rules as versioned data: rule packs, fast decisions with reasons,
explain, replay, hot reload and shadow mode (user doc: docs/rules.md).

API as agreed in INTERFACES.md, with these additions and differences:
- `RuleEngine.decide(domain, ctx, at=None)`: `at` (date, datetime, epoch or RFC 3339)
  fixes the decision instant; otherwise `request.time`, otherwise now. It never raises for
  a bad context (fail closed: block / prohibited with reason code `rule_error`).
- `Decision` also has `domain`, `exception` (transfer: e.g. "AIA"), `errors`, `at`,
  `rule_ids`, `reason_codes`, `to_dict()`; `Reason` also has `action`, `verification`,
  `detail` (the error text for `rule_error`).
- Classification is the helper `classify_model(engine, facts, at=None)` -> per-regime
  `RegimeResult` (us_4e091, eu_systemic_risk, sb53_frontier, raise_frontier,
  bis_702_7_reporting), not a third decide() domain; the one implementation (weights
  and reports use it or the pack's comparisons).
- Every threshold has `compare: gte | gt` (the law's wording at exactly the value);
  `threshold()` conditions must use its operator, `threshold_met(name, x, at)` applies it.
- `engine.reference`: `tier(code, at)`, `in_group(code, group, at)`, `threshold(name, at)`,
  `flag(name)`, `model_class(name)`, `allowlist(model, at)`, `licence_exceptions`,
  `clocks(regime)` -> `IncidentClock(event, deadline | every | dates, meta).due(t0)`,
  `unverified()`.
- `PackManager` (hot reload, `watch()`, shadow mode) for long-running processes.
- `model.classification` may be omitted from the access context: it is filled from the
  pack's `models` table (a value given in the context wins).
"""

from __future__ import annotations

from distillguard.rules.classify import RegimeResult, classify_model
from distillguard.rules.engine import Decision, Explanation, Reason, RuleEngine
from distillguard.rules.manager import PackManager, ShadowStats
from distillguard.rules.pack import Pack, Rule, default_pack_path, load_pack, load_pack_text
from distillguard.rules.packerror import PackError
from distillguard.rules.reference import Reference
from distillguard.rules.schema import ACTIONS, AccessContext, TransferContext

__all__ = [
    "ACTIONS",
    "AccessContext",
    "Decision",
    "Explanation",
    "Pack",
    "PackError",
    "PackManager",
    "Reason",
    "Reference",
    "RegimeResult",
    "Rule",
    "RuleEngine",
    "ShadowStats",
    "TransferContext",
    "classify_model",
    "default_pack_path",
    "load_pack",
    "load_pack_text",
]
