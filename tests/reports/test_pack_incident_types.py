"""The pack's incident_types section: parsed, and validated against incident_clocks."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from distillguard.cli import app
from distillguard.rules import PackError, RuleEngine, default_pack_path

HEAD = "    x:\n      citation: c\n      verification: V\n"


def _pack_with(types_yaml: str) -> str:
    text = default_pack_path().read_text()
    head, sep, tail = text.partition("  incident_types:\n")
    assert sep
    # replace the whole shipped section by one entry
    rest = tail.split("\n# Named sub-conditions", 1)[1]
    return head + sep + types_yaml + "\n# Named sub-conditions" + rest


def test_shipped_types_name_existing_clocks(engine: RuleEngine) -> None:
    ref = engine.reference
    wx = ref.incident_types["weight_exfiltration"]
    assert ("raise", "safety_incident") in wx.clocks
    assert ("sb53", "imminent_risk_of_death_or_serious_injury") in wx.imminent_clocks
    for it in ref.incident_types.values():
        for regime, event in (*it.clocks, *it.imminent_clocks):
            assert ref.clock(regime, event) is not None
    assert "incident_types.distillation_campaign" in ref.unverified()


@pytest.mark.parametrize(
    ("entry", "msg"),
    [
        (
            HEAD + "      clocks: [sb53.no_such_event]\n",
            "unknown incident clock",
        ),
        (
            HEAD + "      clocks: [nodot]\n",
            "must be REGIME.EVENT",
        ),
        ("    x:\n      clocks: [sb53.critical_safety_incident]\n", "citation"),
    ],
)
def test_validate_rejects_bad_types(tmp_path, entry: str, msg: str) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "pack.yaml"
    p.write_text(_pack_with(entry))
    with pytest.raises(PackError, match=msg):
        RuleEngine.from_path(p)
    r = CliRunner().invoke(app, ["rules", "validate", str(p)])
    assert r.exit_code != 0 and msg in str(r.exception)
