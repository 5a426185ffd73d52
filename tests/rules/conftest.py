"""Shared helpers: a minimal valid pack as text, so each test changes one thing."""

from __future__ import annotations

import pytest

MINI_PACK = """\
pack: {name: mini, version: "1"}
reference:
  country_groups:
    sanctioned: {citation: test, verification: S, members: [IR, KP]}
  tiers:
    citation: test
    verification: V
    default: 2
    tiers:
      - {tier: 1, countries: [US, "NO"]}
      - {tier: 3, countries: [CN, MO]}
  models:
    m1: {classification: frontier_restricted, citation: test, verification: V}
  thresholds:
    flop: {value: 1.0e+26, citation: test, verification: V}
rules:
  - id: r.hit
    domain: access
    title: hit
    citation: test
    status: in_force
    verification: V
    condition: screening.status == "hit"
    action: block
    reason_code: hit
  - id: r.kyc
    domain: access
    title: kyc
    citation: test
    status: in_force
    verification: V
    condition: >
      account.kyc_level in ["none", "basic"] and model.classification == "frontier_restricted"
    action: hold_for_review
    reason_code: kyc
"""


@pytest.fixture
def mini_pack_text() -> str:
    return MINI_PACK
