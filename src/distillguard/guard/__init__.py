"""Reasoning protection: keep a model's hidden reasoning hidden.

Two halves, no HTTP: an input guard that scores requests for attempts to extract the
hidden reasoning (`InputGuard`, `GuardVerdict`) and output transforms that strip, summarise
and leak-check reasoning in whole and streamed responses (`distillguard.guard.transforms`).
`InputGuard` is imported lazily so that importing the transforms stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distillguard.guard.inputguard import GuardVerdict, InputGuard

__all__ = ["GuardVerdict", "InputGuard"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from distillguard.guard import inputguard

        return getattr(inputguard, name)
    raise AttributeError(name)
