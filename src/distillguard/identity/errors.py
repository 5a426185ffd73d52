"""Errors of the identity part, so callers (gateway, admin API) can map them to statuses."""

from __future__ import annotations

from distillguard.errors import DistillguardError


class NotFoundError(DistillguardError):
    """No such organisation, account or key (the admin API answers 404)."""


class ConflictError(DistillguardError):
    """A name or id is already taken (the admin API answers 409)."""


class IdentityUnavailable(DistillguardError):
    """The identity store cannot be reached and the cache is too old to trust."""

    exit_code = 3
