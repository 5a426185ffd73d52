"""Country codes for packs and conditions (the shared list in `distillguard.countries`)."""

from __future__ import annotations

from distillguard.countries import ISO_3166_ALPHA2, country_hint, is_country

__all__ = ["ISO_3166_ALPHA2", "country_hint", "is_country"]
