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
from distillguard.identity.service import IdentityService, IdentityUnavailable
from distillguard.identity.snapshot import AccountSnapshot, combined_screening

__all__ = [
    "Account",
    "AccountSnapshot",
    "Address",
    "ApiKey",
    "BeneficialOwner",
    "IdentityService",
    "IdentityUnavailable",
    "KycRecord",
    "Org",
    "Payment",
    "Reseller",
    "combined_screening",
]
