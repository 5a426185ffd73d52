"""distillguard: export-control enforcement and distillation defence for model providers.

One package, one folder per part (see docs/concepts.md). The engines (ledger, rules,
detect, guard, screening) know nothing of HTTP; the gateway and the CLI are thin shells.
"""

__version__ = "0.1.0"
