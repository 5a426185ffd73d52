"""Identity: organisations, accounts, API keys, KYC customer records and account snapshots.

The gateway calls `IdentityService.authenticate(key)` on every request and passes
`snapshot.to_context()` to the rules; everything else here is administration (CLI,
admin HTTP API). See docs/identity.md.
"""

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
)
from distillguard.identity.records import IdentityRecords
from distillguard.identity.service import IdentityService
from distillguard.identity.snapshot import AccountSnapshot, combined_screening
from distillguard.identity.targets import ScreeningTarget, screening_targets

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
    "ScreeningTarget",
    "combined_screening",
    "screening_targets",
]
