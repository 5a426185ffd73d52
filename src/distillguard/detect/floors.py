"""Verdict floors: what a restarted detector must not lower (fail closed).

A detector keeps its state in memory, so after a restart (the gateway's own detector, or
`detect-follow` after its bounded replay) it knows less about an account than identity
does, and would push a milder verdict than the one identity holds. A floor keeps
identity's verdict until the detector's own verdict reaches it again; then the account is
back to normal. A reviewer's disposition (identity's `set_review`) is how a verdict is
lifted for good.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

RANK = {"benign": 0, "suspicious": 1, "distillation": 2}


class VerdictFloors(dict[str, int]):
    """Account -> rank of the verdict not to push below (a dict, so it reads as one)."""

    @classmethod
    def from_identity(
        cls, identity: Any, rebuilt: Callable[[str], str | None] | None = None
    ) -> VerdictFloors:
        """Floors at the verdicts identity holds (its `risk_states`), for the accounts whose
        rebuilt verdict (`rebuilt(account)`, None: nothing rebuilt) is milder. An identity
        that cannot list its risk states gives no floors."""
        floors = cls()
        states = getattr(identity, "risk_states", None)
        if states is None:
            return floors
        for acct, (verdict, _campaign, _score) in states().items():
            held = RANK.get(verdict, 0)
            now = rebuilt(acct) if rebuilt is not None else None
            if RANK.get(now or "benign", 0) < held:
                floors[acct] = held
        return floors

    def holds_back(self, account: str, verdict: str) -> bool:
        """Whether `verdict` is milder than the account's floor (do not push it). A verdict
        that reaches the floor lifts it."""
        floor = self.get(account)
        if floor is None:
            return False
        if RANK.get(verdict, 0) < floor:
            return True
        del self[account]
        return False
