"""Export-control rules as versioned data: rule packs, fast decisions with reasons,
explain, replay, hot reload and shadow mode.

Public API (see docs/rules.md and the shared INTERFACES.md):
    load_pack, default_pack_path, RuleEngine, Decision, Reason, PackManager, classify_model
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
