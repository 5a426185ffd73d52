"""Distillation detection: request features, account state, campaigns (reads RequestEvents).

Public API (see /work/notes/INTERFACES.md, detect section)::

    from distillguard.detect import OnlineDetector
    det = OnlineDetector()
    sig = det.observe(event)          # -> AccountSignal(account, score, verdict, campaign, reasons)
    det.account_state(account)        # -> AccountSignal | None

`distillguard.detect.offline.scan` runs the same detector over a JSONL log and builds the
report of the `distillguard detect` command.
"""

from __future__ import annotations

from distillguard.detect.account import BENIGN, DISTILLATION, SUSPICIOUS, Thresholds
from distillguard.detect.campaigns import LinkConfig
from distillguard.detect.features import RequestFeatures, extract
from distillguard.detect.online import AccountSignal, OnlineDetector

__all__ = [
    "BENIGN",
    "DISTILLATION",
    "SUSPICIOUS",
    "AccountSignal",
    "LinkConfig",
    "OnlineDetector",
    "RequestFeatures",
    "Thresholds",
    "extract",
]
