"""IdentityService on SQLite and PostgreSQL: records, validation, keys, snapshots, audit."""

from __future__ import annotations

import hashlib

import pytest

from distillguard.errors import DistillguardError
from distillguard.identity import IdentityService, KycRecord
from distillguard.identity.keys import generate_key, well_formed
from distillguard.store.quotas import Limits

KYC = {
    "name": "Acme Robotics GmbH",
    "address": {"lines": ["Hauptstr. 1"], "city": "Berlin", "country": "de"},
    "payment": {"means": "bank_transfer", "source": "Deutsche Bank account", "country": "DE"},
    "emails": ["Ops@Acme.EXAMPLE"],
    "phones": ["+49 30 1234 5678"],
    "access_ips": ["203.0.113.7", "198.51.100.0/24"],
    "admin_ips": ["2001:db8::1"],
    "beneficial_owners": [{"name": "Jane Roe", "nationality": "AT", "share_pct": 60}],
    "reseller_chain": [{"name": "CloudResell Ltd", "country": "IE"}],
}


def _org_account(ids: IdentityService) -> tuple[str, str]:
    org = ids.create_org(
        "Acme Robotics", "de", parent_name="Acme Holding", parent_hq_country="CN",
        allowlists=["trusted_partner"],
    )  # fmt: skip
    acct = ids.create_account("acme-ml", type="organization", org_id=org.id, nationality="FR")
    return org.id, acct.id


def test_create_and_authenticate_context(ids: IdentityService) -> None:
    org_id, acct_id = _org_account(ids)
    key_id, plaintext = ids.issue_key(acct_id, name="ci")
    assert plaintext.startswith("dg_live_") and well_formed(plaintext)
    snap = ids.authenticate(plaintext)
    assert snap is not None and snap.key_id == key_id and snap.active
    ctx = snap.to_context()
    assert ctx["account"] == {
        "id": acct_id,
        "type": "organization",
        "status": "active",
        "kyc_level": "none",
        "nationality": "FR",
        "age_days": pytest.approx(0.0, abs=0.01),
        "kyc_record_complete": False,
    }
    assert ctx["org"]["hq_country"] == "DE" and ctx["org"]["parent_hq_country"] == "CN"
    assert ctx["org"]["allowlists"] == ["trusted_partner"] and ctx["org"]["id"] == org_id
    assert ctx["screening"]["status"] == "unknown"
    assert ctx["risk"] == {
        "score": 0.0,
        "verdict": "benign",
        "campaign": None,
        "review": "none",
        "reviewed_by": None,
        "reviewed_score": None,
    }
    ctx["org"]["allowlists"].append("x")  # a fresh dict each time: the snapshot is unchanged
    assert snap.to_context()["org"]["allowlists"] == ["trusted_partner"]


def test_individual_without_org_has_null_org(ids: IdentityService) -> None:
    acct = ids.create_account("solo", nationality="us", kyc_level="verified")
    _, key = ids.issue_key(acct.id)
    snap = ids.authenticate(key)
    assert snap is not None
    ctx = snap.to_context()
    assert ctx["account"]["nationality"] == "US" and ctx["account"]["kyc_level"] == "verified"
    assert ctx["org"] == {
        "id": None, "name": None, "hq_country": None, "parent_hq_country": None,
        "allowlists": [], "status": None,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.create_org("X", "UK"), "did you mean GB"),
        (lambda s: s.create_org("X", "ZZ"), "not an ISO 3166-1"),
        (lambda s: s.create_org("X", "DE", parent_hq_country="Germany"), "parent_hq_country"),
        (lambda s: s.create_account("a", nationality="xx"), "nationality"),
        (lambda s: s.create_account("a", type="robot"), "type"),
        (lambda s: s.create_account("a", kyc_level="gold"), "kyc_level"),
        (lambda s: s.create_account("a", type="organization"), "needs an organisation"),
        (lambda s: s.create_account("a", id="bad id!"), "not a valid id"),
        (lambda s: s.create_account("a", limits={"rpm": -1}), "limits.rpm"),
        (lambda s: s.create_account("a", limits={"rps": 1}), "unknown limit"),
        (lambda s: s.issue_key("nope"), "no account"),
        (lambda s: s.revoke_key("key_nope"), "no API key"),
        (lambda s: s.set_screening_status("nope", "clear"), "no account or organisation"),
    ],
)
def test_bad_input_is_a_clear_error(ids: IdentityService, call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DistillguardError, match=message):
        call(ids)


def test_kyc_record_validation_and_roundtrip(ids: IdentityService) -> None:
    org_id, acct_id = _org_account(ids)
    rec = ids.set_kyc_record(org_id, KYC)
    assert rec.emails == ("Ops@acme.example",) and rec.phones == ("+493012345678",)
    assert rec.access_ips == ("203.0.113.7", "198.51.100.0/24")
    assert rec.address is not None and rec.address.country == "DE"
    assert ids.get_kyc_record(org_id) == rec
    assert rec.missing(organisation=True) == []
    # the member account inherits the organisation's record
    snap = ids.snapshot(acct_id)
    assert snap.to_context()["account"]["kyc_record_complete"] is True
    partial = {**KYC, "beneficial_owners": [], "phones": []}
    assert KycRecord.from_dict(partial).missing(organisation=True) == [
        "phones",
        "beneficial_owners",
    ]
    bad = [
        ({**KYC, "emails": ["not-an-email"]}, "emails"),
        ({**KYC, "phones": ["12345"]}, "E.164"),
        ({**KYC, "access_ips": ["300.1.1.1"]}, "access_ips"),
        ({**KYC, "payment": {"means": "barter", "source": "x"}}, "payment.means"),
        ({**KYC, "surprise": 1}, "unknown field"),
        ({**KYC, "address": {**KYC["address"], "zip": "1"}}, "unknown field"),  # type: ignore[dict-item]
        ({**KYC, "beneficial_owners": [{"name": "A", "share_pct": 101}]}, "share_pct"),
        ({**KYC, "reseller_chain": [{"name": "R", "country": "EU"}]}, "country"),
    ]
    for data, message in bad:
        with pytest.raises(DistillguardError, match=message):
            ids.set_kyc_record(acct_id, data)


def test_keys_stored_only_as_hashes(ids: IdentityService) -> None:
    acct = ids.create_account("a")
    key_id, plaintext = ids.issue_key(acct.id)
    row = ids.db.query_one("SELECT * FROM identity_keys WHERE id = ?", (key_id,))
    assert row is not None
    assert row["key_hash"] == "s1:" + hashlib.sha256(plaintext.encode()).hexdigest()
    assert all(plaintext not in str(val) for val in row.values())
    assert row["display_prefix"] == plaintext[:12]
    listed = ids.list_keys(acct.id)
    assert [k.id for k in listed] == [key_id] and "plaintext" not in listed[0].to_dict()


def test_pepper_changes_the_stored_hash(make_ids) -> None:  # type: ignore[no-untyped-def]
    ids = make_ids(key_pepper=b"pepper")
    acct = ids.create_account("a")
    key_id, plaintext = ids.issue_key(acct.id)
    row = ids.db.query_one("SELECT key_hash FROM identity_keys WHERE id = ?", (key_id,))
    assert row is not None and row["key_hash"].startswith("h1:")
    assert ids.authenticate(plaintext) is not None
    assert make_ids().authenticate(plaintext) is None  # without the pepper it cannot match


def test_malformed_keys_never_reach_the_database(ids: IdentityService) -> None:
    acct = ids.create_account("a")
    _, plaintext = ids.issue_key(acct.id)
    tampered = plaintext[:-7] + ("A" if plaintext[-7] != "A" else "B") + plaintext[-6:]

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("database touched")

    ids.db.query_one = boom  # type: ignore[method-assign]
    for bad in ["", "sk-123", tampered, plaintext + "x", generate_key("test")[:-1]]:
        assert ids.authenticate(bad) is None


def test_revoke_expire_suspend(ids: IdentityService) -> None:
    org_id, acct_id = _org_account(ids)
    k1, p1 = ids.issue_key(acct_id)
    _, p2 = ids.issue_key(acct_id, expires_at="2000-01-01T00:00:00Z")
    _, p3 = ids.issue_key(acct_id, expires_at="2999-01-01T00:00:00+02:00")
    assert ids.authenticate(p1) is not None
    assert ids.authenticate(p2) is None  # expired
    assert ids.authenticate(p3) is not None
    ids.revoke_key(k1, reason="leaked")
    assert ids.authenticate(p1) is None  # immediately in this process
    assert ids.revoke_key(k1).revoked_at is not None  # idempotent
    ids.suspend_account(acct_id, "abuse")
    snap = ids.authenticate(p3)
    assert snap is not None and snap.status == "suspended" and not snap.active
    ids.reactivate_account(acct_id)
    ids.suspend_org(org_id, "sanctions review")
    snap = ids.authenticate(p3)
    assert snap is not None and snap.to_context()["account"]["status"] == "suspended"
    assert snap.to_context()["org"]["status"] == "suspended"
    with pytest.raises(DistillguardError, match="timezone"):
        ids.issue_key(acct_id, expires_at="2030-01-01T00:00:00")


def test_screening_risk_and_kyc_level_invalidate_snapshot(ids: IdentityService) -> None:
    org_id, acct_id = _org_account(ids)
    _, key = ids.issue_key(acct_id)
    assert ids.authenticate(key) is not None
    ids.set_screening_status(org_id, "hit", ref="csl:12345")
    ctx = ids.authenticate(key).to_context()  # type: ignore[union-attr]
    assert ctx["screening"] == {
        "status": "hit", "account_status": "unknown", "org_status": "hit", "ref": "csl:12345",
    }  # fmt: skip
    ids.set_screening_status(org_id, "clear")
    ids.set_screening_status(acct_id, "review")
    assert ids.authenticate(key).screening_status == "review"  # type: ignore[union-attr]
    ids.set_risk(acct_id, 0.93, "distillation", "camp-7")
    ids.set_kyc_level(acct_id, "enhanced", reason="docs checked")
    ctx = ids.authenticate(key).to_context()  # type: ignore[union-attr]
    assert ctx["risk"] == {
        "score": 0.93,
        "verdict": "distillation",
        "campaign": "camp-7",
        "review": "none",
        "reviewed_by": None,
        "reviewed_score": None,
    }
    assert ctx["account"]["kyc_level"] == "enhanced"
    before = ids.get_account(acct_id).version
    ids.set_risk(acct_id, 0.931, "distillation", "camp-7")  # no real movement: no write
    assert ids.get_account(acct_id).version == before
    with pytest.raises(DistillguardError):
        ids.set_risk(acct_id, 1.5, "benign")
    actions = [c["action"] for c in ids.changes(acct_id)]
    assert actions[:2] == ["account.kyc_level", "account.risk"]
    assert "org.screening" in [c["action"] for c in ids.changes(org_id)]


def test_update_org_and_lookup_by_name(ids: IdentityService) -> None:
    org_id, acct_id = _org_account(ids)
    _, key = ids.issue_key(acct_id)
    assert ids.authenticate(key) is not None
    ids.update_org("Acme Robotics", parent_hq_country="US", limits={"rpm": 10})
    snap = ids.authenticate(key)
    assert snap is not None and snap.to_context()["org"]["parent_hq_country"] == "US"
    assert snap.org_limits is not None and snap.org_limits.rpm == 10
    ids.update_org(org_id, limits={"tpm": 7})  # only the given limit changes
    assert ids.get_org(org_id).limits == Limits(rpm=10, tpm=7)
    ids.update_org(org_id, limits=None)  # all back to the defaults
    assert ids.get_org(org_id).limits == Limits()
    with pytest.raises(DistillguardError, match="already exists"):
        ids.create_org("Acme Robotics", "DE")
    with pytest.raises(DistillguardError, match="cannot change"):
        ids.update_org(org_id, status="active")
    assert [o.name for o in ids.list_orgs()] == ["Acme Robotics"]
    assert [a.id for a in ids.list_accounts(org_id="Acme Robotics")] == [acct_id]


def test_custom_ids_are_unique_across_kinds(ids: IdentityService) -> None:
    ids.create_org("O", "US", id="shared-1")
    with pytest.raises(DistillguardError, match="already in use"):
        ids.create_account("a", id="shared-1")


def test_screening_targets_cover_owners_parents_and_resellers(ids: IdentityService) -> None:
    from distillguard.identity import screening_targets

    org_id, acct_id = _org_account(ids)
    ids.set_kyc_record(org_id, KYC)
    solo = ids.create_account("Jane Doe", nationality="US")
    got = {(t.subject_id, t.role, t.name, t.schema, t.country) for t in screening_targets(ids)}
    assert got == {
        (org_id, "organisation", "Acme Robotics", "Organization", "DE"),
        (org_id, "ultimate_parent", "Acme Holding", "Organization", "CN"),
        (org_id, "legal_name", "Acme Robotics GmbH", "LegalEntity", "DE"),
        (org_id, "beneficial_owner", "Jane Roe", "LegalEntity", "AT"),
        (org_id, "reseller", "CloudResell Ltd", "Organization", "IE"),
        (solo.id, "account_holder", "Jane Doe", "Person", "US"),
    }
    assert [t.role for t in screening_targets(ids, solo.id)] == ["account_holder"]
    assert screening_targets(ids, acct_id) == []  # a member is covered by its organisation


def test_concurrent_creates_of_one_name_conflict_cleanly(make_ids) -> None:  # type: ignore[no-untyped-def]
    import threading

    from distillguard.identity import ConflictError

    services = [make_ids() for _ in range(4)]
    outcomes: list[str] = []
    start = threading.Barrier(len(services))

    def create(s: IdentityService) -> None:
        start.wait()
        try:
            s.create_org("Same Name Ltd", "GB")
            outcomes.append("created")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=create, args=(s,)) for s in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 3 + ["created"]
