"""The one exception type users see.

Every part raises `DistillguardError` (or a subclass) for bad input, bad files and bad
state. The CLI turns it into a one-line message and a non-zero exit, never a traceback;
the gateway turns it into an OpenAI-style error object.
"""

from __future__ import annotations


class DistillguardError(Exception):
    """A user-facing error: the message must say what is wrong and, if possible, what to do."""

    exit_code: int = 2

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class VerificationError(DistillguardError):
    """Something failed a cryptographic or integrity check (exit code 1: 'not verified')."""

    exit_code = 1
