"""Per-model reasoning format learning and its config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillguard.errors import DistillguardError
from distillguard.guard.formats import DEFAULT_FORMAT, FormatRegistry, learn_format
from distillguard.guard.transforms import apply_response_transforms


def resp(content: str, **fields: object) -> dict[str, object]:
    return {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, **fields}}]
    }


def test_learn_field_format() -> None:
    fmt = learn_format([resp("a", reasoning_content="r1"), resp("b", reasoning_content="r2")])
    assert fmt.fields == ("reasoning_content",) and fmt.tags == () and not fmt.implicit_open


def test_learn_tag_format_ignores_a_one_off_literal_tag() -> None:
    samples = [resp(f"<think>t{i}</think>answer {i}") for i in range(5)]
    samples.append(resp("Use <reasoning>x</reasoning> in your XML"))
    fmt = learn_format(samples)
    assert fmt.tags == ("think",) and fmt.fields == ()


def test_learn_implicit_open_from_stream_chunks() -> None:
    samples = [
        {"choices": [{"delta": {"content": f"thought {i}</think>answer"}}]} for i in range(3)
    ]
    fmt = learn_format(samples)
    assert fmt.tags == ("think",) and fmt.implicit_open
    out = apply_response_transforms(resp("hidden</think>shown"), ["strip_reasoning"], fmt)
    assert out["choices"][0]["message"]["content"] == "shown"  # type: ignore[index]


def test_learned_format_does_not_strip_literal_tags_of_other_models() -> None:
    fmt = learn_format([resp("a", reasoning="r")])
    body = resp("Wrap it as <reasoning>x</reasoning>.", reasoning="hidden")
    msg = apply_response_transforms(body, ["strip_reasoning"], fmt)["choices"][0]["message"]  # type: ignore[index]
    assert msg == {"role": "assistant", "content": "Wrap it as <reasoning>x</reasoning>."}


def test_learn_nothing_is_an_error() -> None:
    with pytest.raises(DistillguardError):
        learn_format([resp("plain answer")])
    with pytest.raises(DistillguardError):
        learn_format([])


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_registry_roundtrip_and_prefix(tmp_path: Path, suffix: str) -> None:
    reg = FormatRegistry()
    reg.set("deepseek-r1", learn_format([resp("x</think>y")]))
    path = tmp_path / f"formats{suffix}"
    reg.save(path)
    back = FormatRegistry.load(path)
    assert back.get("deepseek-r1-0528").implicit_open
    assert back.get("other") == DEFAULT_FORMAT
    assert FormatRegistry.load(tmp_path / "missing.json").models == {}


def test_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "f.json"
    p.write_text('{"models": {"m": {"tags": ["bad tag!"]}}}')
    with pytest.raises(DistillguardError):
        FormatRegistry.load(p)
    p.write_text("{not json")
    with pytest.raises(DistillguardError):
        FormatRegistry.load(p)


def test_known_fields_are_stripped_even_if_not_learned() -> None:
    fmt = learn_format([resp("<think>a</think>b")])  # a tag model
    body = resp("<think>x</think>answer", reasoning_content="surprise field")
    msg = apply_response_transforms(body, ["strip_reasoning"], fmt)["choices"][0]["message"]  # type: ignore[index]
    assert msg == {"role": "assistant", "content": "answer"}
