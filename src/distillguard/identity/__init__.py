"""Identity: organisations, accounts, API keys, KYC customer records and account snapshots.

The gateway calls `IdentityService.authenticate(key)` on every request and passes
`snapshot.to_context()` to the rules; everything else here is administration (CLI,
admin HTTP API). See docs/identity.md.
"""

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
from distillguard.identity.service import (
    ConflictError,
    IdentityService,
    IdentityUnavailable,
    NotFoundError,
)
from distillguard.identity.snapshot import AccountSnapshot, combined_screening

__all__ = [
    "Account",
    "AccountSnapshot",
    "Address",
    "ApiKey",
    "BeneficialOwner",
    "ConflictError",
    "IdentityService",
    "IdentityUnavailable",
    "KycRecord",
    "NotFoundError",
    "Org",
    "Payment",
    "Reseller",
    "combined_screening",
]
