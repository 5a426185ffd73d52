"""The in-gateway detector hook after a restart: identity's verdict is a floor (fail closed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distillguard.gateway.server import make_detect_hook


@dataclass
class Sig:
    verdict: str
    score: float
    campaign: str | None = None


@dataclass
class Ev:
    account: str


class FakeIdentity:
    def __init__(self, held: dict[str, tuple[str, str | None, float]]) -> None:
        self.held = held
        self.pushed: list[tuple[str, float, str, str | None]] = []

    def risk_states(self) -> dict[str, tuple[str, str | None, float]]:
        return dict(self.held)

    def set_risk(self, acct: str, score: float, verdict: str, campaign: str | None) -> None:
        self.pushed.append((acct, score, verdict, campaign))


class ScriptedDetector:
    """Returns the next scripted signal for each account."""

    def __init__(self, script: dict[str, list[Sig]]) -> None:
        self.script = {a: list(s) for a, s in script.items()}

    def observe(self, ev: Any) -> Sig:
        return self.script[ev.account].pop(0)


def test_a_flagged_account_is_not_downgraded_by_a_fresh_detector() -> None:
    ids = FakeIdentity({"flagged": ("distillation", "c1", 0.97)})
    det = ScriptedDetector(
        {
            "flagged": [
                Sig("benign", 0.1),
                Sig("suspicious", 0.6),
                Sig("distillation", 0.95),
                Sig("suspicious", 0.6),
            ],
            "fresh": [Sig("benign", 0.1), Sig("suspicious", 0.6), Sig("benign", 0.2)],
        }
    )
    hook = make_detect_hook(det, ids, None)
    for acct in ["flagged", "fresh", "flagged", "fresh", "flagged", "fresh", "flagged"]:
        hook(Ev(acct))
    assert [(a, v) for a, _, v, _ in ids.pushed] == [
        ("fresh", "suspicious"),  # no floor: pushed as it comes
        ("flagged", "distillation"),  # milder verdicts held back until it reached the floor
        ("fresh", "benign"),
        ("flagged", "suspicious"),  # floor lifted: normal from here on
    ]


def test_without_risk_states_nothing_is_floored() -> None:
    class Plain:
        def __init__(self) -> None:
            self.pushed: list[str] = []

        def set_risk(self, acct: str, score: float, verdict: str, campaign: str | None) -> None:
            self.pushed.append(verdict)

    ids = Plain()
    hook = make_detect_hook(ScriptedDetector({"a": [Sig("suspicious", 0.6)]}), ids, None)
    hook(Ev("a"))
    assert ids.pushed == ["suspicious"]
