"""Bad packs fail to load with an error naming file, line and rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillguard.rules import PackError, load_pack, load_pack_text
from tests.rules.conftest import MINI_PACK


def _load_bad(tmp_path: Path, text: str) -> str:
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(PackError) as ei:
        load_pack(p)
    return str(ei.value)


def test_mini_pack_loads(tmp_path: Path) -> None:
    p = tmp_path / "ok.yaml"
    p.write_text(MINI_PACK)
    pack = load_pack(p)
    assert [r.id for r in pack.rules] == ["r.hit", "r.kyc"]


def test_unknown_rule_field_names_line_and_rule(tmp_path: Path) -> None:
    text = MINI_PACK.replace("    reason_code: kyc\n", "    reason_code: kyc\n    severity: high\n")
    msg = _load_bad(tmp_path, text)
    line = text.splitlines().index("    severity: high") + 1
    assert f"bad.yaml:{line}: rule r.kyc: unknown field 'severity'" in msg


def test_non_iso_country_in_reference(tmp_path: Path) -> None:
    text = MINI_PACK.replace("members: [IR, KP]", "members: [IR, UK]")
    msg = _load_bad(tmp_path, text)
    assert "'UK' is not an ISO 3166-1 alpha-2 country code (did you mean GB?)" in msg
    assert "bad.yaml:4:" in msg


def test_norway_is_not_false(tmp_path: Path) -> None:
    # YAML 1.1 would read NO as a boolean; packs use YAML 1.2 booleans only
    text = MINI_PACK.replace('[US, "NO"]', "[US, NO]")
    p = tmp_path / "no.yaml"
    p.write_text(text)
    assert load_pack(p).reference.tier("NO") == 1


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('screening.status == "hitt"', "'hitt' is not a possible value of screening.status"),
        ("acount.kyc_level == null", "'acount.kyc_level' is not a context field"),
        ("kyc_level == null", "unknown name 'kyc_level'"),
        ("account.kyc == null", "unknown field 'account.kyc'"),
        ('request.country == "UK"', "'UK' is not an ISO 3166-1 alpha-2 country code"),
        ('in_group(request.country, "embargoed")', "unknown country group 'embargoed'"),
        ('tier(org.hq_country) == "3"', "cannot compare num with str"),
        ("risk.score > 0.5 and", "syntax error"),
        ("__import__('os').system('id')", "unknown function '__import__('os').system'"),
        ("account.id.upper() == 'X'", "unknown function 'account.id.upper'"),
        ("account.id[0] == 'X'", "'Subscript' is not allowed"),
        ("[x for x in org.allowlists]", "'ListComp' is not allowed"),
        ("risk.score", "condition must be true/false"),
        ('threshold("nope") > 1', "unknown threshold 'nope'"),
        ('account.kyc_level > "basic"', "compares numbers"),
        ("lambda: True", "'Lambda' is not allowed"),
    ],
)
def test_bad_condition_names_line_and_rule(tmp_path: Path, condition: str, expected: str) -> None:
    old = 'condition: screening.status == "hit"'
    text = MINI_PACK.replace(old, f"condition: {condition!r}".replace("\\'", "''"))
    msg = _load_bad(tmp_path, text)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.strip().startswith("condition:"))
    assert f"bad.yaml:{line}: rule r.hit: condition:" in msg
    assert expected in msg


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("action: block", "action: deny", "action 'deny' is not valid for domain access"),
        (
            "status: in_force\n    verification: V\n    condition: screening",
            "status: active\n    verification: V\n    condition: screening",
            "status must be one of",
        ),
        (
            "verification: V\n    condition: screening",
            "verification: X\n    condition: screening",
            "verification must be V, S or U",
        ),
        ("- id: r.kyc", "- id: r.hit", "duplicate rule id"),
        ("reason_code: hit", "reason_code: Hit Code", "reason_code must be snake_case"),
        (
            "action: block",
            "action: block\n    transforms: [strip_reasoning]",
            "transforms are only meaningful",
        ),
        (
            "action: hold_for_review",
            "action: degrade\n    transforms: [shrink]",
            "unknown transform 'shrink'",
        ),
        ("domain: access\n    title: hit", "domain: acess\n    title: hit", "unknown domain"),
    ],
)
def test_bad_rule_fields(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in MINI_PACK
    msg = _load_bad(tmp_path, MINI_PACK.replace(old, new, 1))
    assert expected in msg
    assert "bad.yaml:" in msg


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    msg = _load_bad(tmp_path, MINI_PACK + "  - [unclosed\n")
    assert "bad.yaml:" in msg and "YAML error" in msg


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    text = MINI_PACK.replace("    action: block\n", "    action: block\n    action: allow\n")
    msg = _load_bad(tmp_path, text)
    assert "duplicate key 'action'" in msg


def test_bad_dates_and_history(tmp_path: Path) -> None:
    text = MINI_PACK.replace(
        "status: in_force\n    verification: V\n    condition: screening",
        "status: in_force\n    effective_from: 2026-13-01\n    verification: V\n"
        "    condition: screening",
    )
    assert "invalid date '2026-13-01'" in _load_bad(tmp_path, text)
    text = MINI_PACK.replace(
        "status: in_force\n    verification: V\n    condition: screening",
        "status: suspended\n    effective_from: 2025-05-13\n    history:\n"
        "      - {status: in_force, effective_from: 2025-01-13}\n    verification: V\n"
        "    condition: screening",
    )
    assert "history periods must be closed" in _load_bad(tmp_path, text)


def test_missing_required_and_unknown_top_level() -> None:
    with pytest.raises(PackError, match="missing required field 'rules'"):
        load_pack_text('pack: {name: x, version: "1"}\n', "x.yaml")
    with pytest.raises(PackError, match="unknown field 'rule'"):
        load_pack_text('pack: {name: x, version: "1"}\nrules: []\nrule: []\n', "x.yaml")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PackError, match="cannot read"):
        load_pack(tmp_path / "absent.yaml")


def test_non_finite_numbers_rejected(tmp_path: Path) -> None:
    msg = _load_bad(tmp_path, MINI_PACK.replace("value: 1.0e+26", "value: .nan"))
    assert "must be a number" in msg
    msg = _load_bad(tmp_path, MINI_PACK.replace('screening.status == "hit"', "risk.score > 1e999"))
    assert "not finite" in msg
