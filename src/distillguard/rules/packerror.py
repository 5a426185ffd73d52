"""The error every pack problem raises (file, line and rule in the message)."""

from __future__ import annotations

from distillguard.errors import DistillguardError


class PackError(DistillguardError):
    """A pack that fails to load: the message names file, line and (where known) rule id."""
