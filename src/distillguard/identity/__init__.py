"""Identity: organisations, accounts, API keys, KYC customer records and account snapshots.

The gateway calls `IdentityService.authenticate(key)` on every request and passes
`snapshot.to_context()` to the rules; everything else here is administration (CLI,
admin HTTP API). See docs/identity.md.

Names are imported on first use, so that `distillguard --help` (which imports this
package's `cli` module) does not pay for the database and quota modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distillguard.identity.errors import ConflictError, IdentityUnavailable, NotFoundError
    from distillguard.identity.models import (
        Account,
        Address,
        ApiKey,
        BeneficialOwner,
        KycRecord,
        Org,
        Payment,
        Reseller,
        Review,
    )
    from distillguard.identity.records import IdentityRecords
    from distillguard.identity.service import IdentityService
    from distillguard.identity.snapshot import AccountSnapshot, combined_screening
    from distillguard.identity.targets import ScreeningTarget, screening_targets

_WHERE = {
    "ConflictError": "errors",
    "IdentityUnavailable": "errors",
    "NotFoundError": "errors",
    "Account": "models",
    "Address": "models",
    "ApiKey": "models",
    "BeneficialOwner": "models",
    "KycRecord": "models",
    "Org": "models",
    "Payment": "models",
    "Reseller": "models",
    "Review": "models",
    "IdentityRecords": "records",
    "IdentityService": "service",
    "AccountSnapshot": "snapshot",
    "combined_screening": "snapshot",
    "ScreeningTarget": "targets",
    "screening_targets": "targets",
}

__all__ = [
    "Account",
    "AccountSnapshot",
    "Address",
    "ApiKey",
    "BeneficialOwner",
    "ConflictError",
    "IdentityRecords",
    "IdentityService",
    "IdentityUnavailable",
    "KycRecord",
    "NotFoundError",
    "Org",
    "Payment",
    "Reseller",
    "Review",
    "ScreeningTarget",
    "combined_screening",
    "screening_targets",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'distillguard.identity' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"distillguard.identity.{module}"), name)
    globals()[name] = value
    return value
