"""Smoke test: the default pack loads and decides both domains."""

from distillguard.rules import RuleEngine, default_pack_path


def test_default_pack_decides_access_and_transfer() -> None:
    e = RuleEngine.from_path(default_pack_path())
    d = e.decide("access", {"screening": {"status": "hit"}})
    assert d.action == "block"
    assert "screening.hit" in d.rule_ids
    t = e.decide(
        "transfer",
        {
            "model": {"training_flop": 1e25, "published": False},
            "recipient": {"screening_status": "clear"},
        },
    )
    assert t.action == "no_licence_required"
    assert t.pack_hash == e.pack.hash and len(t.pack_hash) == 64
