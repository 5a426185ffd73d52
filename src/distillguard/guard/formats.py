"""Where an upstream model puts its reasoning, learned per model and kept in config.

Upstreams disagree: DeepSeek/vLLM/SGLang send `reasoning_content`, OpenRouter `reasoning`
and `reasoning_details`, some chat templates inline `<think>...</think>` in `content`, and
R1-style templates put the opening `<think>` in the prompt so the reply only carries the
closing tag (`implicit_open`). The output transforms need to know which, per model, to strip
exactly that and nothing else: a learned format avoids stripping a literal `<reasoning>` tag
from an ordinary answer of a model that never uses tags, and lets a stream start inside the
reasoning for implicit-open models. Unknown models get the conservative default (every
known field and tag is stripped).

Config file: JSON (`{"models": {"name": {"fields": [...], "tags": [...], "implicit_open": b}}}`)
or the same shape as TOML (`[models."name"]`); written as JSON.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillguard.errors import DistillguardError

DEFAULT_FIELDS: tuple[str, ...] = (
    "reasoning_content",
    "reasoning",
    "reasoning_details",
    "reasoning_text",
    "thinking",
    "thoughts",
)
DEFAULT_TAGS: tuple[str, ...] = ("think", "thinking", "reasoning", "thought", "reflection")

_TAG_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,31}$")
_OPEN_TAG = re.compile(r"<\s*([A-Za-z][A-Za-z0-9_\-]{0,31})\b[^<>]{0,100}>")
_REASONING_KEY = re.compile(r"reason|think|thought", re.I)


@dataclass(frozen=True)
class ReasoningFormat:
    """The reasoning carriers of one model: message fields, inline tags, implicit opening."""

    fields: tuple[str, ...] = DEFAULT_FIELDS
    tags: tuple[str, ...] = DEFAULT_TAGS
    implicit_open: bool = False

    def __post_init__(self) -> None:
        for t in self.tags:
            if not _TAG_NAME.match(t):
                raise DistillguardError(f"invalid reasoning tag name {t!r} (letters, digits, _-)")

    @property
    def all_fields(self) -> frozenset[str]:
        """Fields to strip: the learned ones plus every known reasoning field (a field
        never belongs in an answer, so stripping the known ones too is free and fails
        closed when an upstream changes format)."""
        return frozenset(self.fields) | frozenset(DEFAULT_FIELDS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fields": list(self.fields),
            "tags": list(self.tags),
            "implicit_open": self.implicit_open,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ReasoningFormat:
        try:
            fields = tuple(str(x) for x in d.get("fields", DEFAULT_FIELDS))
            tags = tuple(str(x).lower() for x in d.get("tags", DEFAULT_TAGS))
            implicit = bool(d.get("implicit_open", False))
        except TypeError as exc:
            raise DistillguardError(f"bad reasoning format entry {dict(d)!r}: {exc}") from exc
        return cls(fields=fields, tags=tags, implicit_open=implicit)


DEFAULT_FORMAT = ReasoningFormat()


def _message_of(sample: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The message/delta objects of a response, chunk, or bare message."""
    out: list[Mapping[str, Any]] = []
    choices = sample.get("choices")
    if isinstance(choices, list):
        for ch in choices:
            if isinstance(ch, Mapping):
                for key in ("message", "delta"):
                    m = ch.get(key)
                    if isinstance(m, Mapping):
                        out.append(m)
                if isinstance(ch.get("text"), str):
                    out.append({"content": ch["text"]})
    elif "content" in sample or "role" in sample:
        out.append(sample)
    return out


def learn_format(
    samples: Iterable[Mapping[str, Any]], *, min_share: float = 0.3
) -> ReasoningFormat:
    """Infer a model's reasoning format from a few sample responses (or stream chunks).

    A field counts when a sample carries a non-empty value under a key that looks like
    reasoning; a tag counts when content has `<tag>` ... `</tag>` (or only `</tag>`, which
    means the opening tag lives in the prompt template: `implicit_open`). Things seen in
    fewer than `min_share` of the samples are noise (a literal tag in one answer). Raises
    when nothing at all was seen, because a silent default would hide a misconfiguration.
    """
    n = 0
    field_hits: Counter[str] = Counter()
    tag_hits: Counter[str] = Counter()
    implicit = 0
    for s in samples:
        if not isinstance(s, Mapping):
            continue
        msgs = _message_of(s)
        if not msgs:
            continue
        n += 1
        seen_fields: set[str] = set()
        seen_tags: set[str] = set()
        for m in msgs:
            for k, v in m.items():
                if k in ("content", "role", "tool_calls", "refusal") or v in (None, "", [], {}):
                    continue
                if k in DEFAULT_FIELDS or _REASONING_KEY.search(k):
                    seen_fields.add(k)
            content = m.get("content")
            if not isinstance(content, str):
                continue
            low = content.lower()
            for name in {mt.group(1).lower() for mt in _OPEN_TAG.finditer(content)}:
                if re.search(rf"<\s*/\s*{re.escape(name)}\s*>", low):
                    seen_tags.add(name)
            for name in DEFAULT_TAGS:
                close = re.search(rf"<\s*/\s*{name}\s*>", low)
                opened = re.search(rf"<\s*{name}\b[^<>]*>", low)
                if close and (not opened or opened.start() > close.start()):
                    seen_tags.add(name)
                    implicit += 1
        field_hits.update(seen_fields)
        tag_hits.update(seen_tags)
    if n == 0:
        raise DistillguardError("no usable sample responses (need OpenAI chat/completions objects)")
    need = max(1, int(min_share * n + 0.999))
    fields = tuple(sorted(k for k, c in field_hits.items() if c >= need))
    tags = tuple(sorted(k for k, c in tag_hits.items() if c >= need and _TAG_NAME.match(k)))
    if not fields and not tags:
        raise DistillguardError(
            f"no reasoning field or tag found in {n} samples; the model may not expose reasoning "
            "(keep the default format)"
        )
    return ReasoningFormat(fields=fields, tags=tags, implicit_open=implicit >= need)


@dataclass
class FormatRegistry:
    """Per-model formats (exact model name, else longest matching prefix, else default)."""

    models: dict[str, ReasoningFormat] = field(default_factory=dict)

    def get(self, model: str | None) -> ReasoningFormat:
        if not model:
            return DEFAULT_FORMAT
        if model in self.models:
            return self.models[model]
        best = max((k for k in self.models if model.startswith(k)), key=len, default=None)
        return self.models[best] if best is not None else DEFAULT_FORMAT

    def set(self, model: str, fmt: ReasoningFormat) -> None:
        self.models[model] = fmt

    def to_dict(self) -> dict[str, Any]:
        return {"models": {k: v.to_dict() for k, v in sorted(self.models.items())}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FormatRegistry:
        models = d.get("models", {})
        if not isinstance(models, Mapping):
            raise DistillguardError("reasoning format config: 'models' must be a table/object")
        reg = cls()
        for name, entry in models.items():
            if not isinstance(entry, Mapping):
                raise DistillguardError(f"reasoning format config: entry {name!r} is not a table")
            reg.set(str(name), ReasoningFormat.from_dict(entry))
        return reg

    @classmethod
    def default_path(cls) -> Path:
        """`<data_dir>/reasoning_formats.json`, where `guard learn-format` writes by default."""
        from distillguard.paths import data_dir

        return data_dir() / "reasoning_formats.json"

    @classmethod
    def load(cls, path: Path) -> FormatRegistry:
        """Read a JSON or TOML config; a missing file is an empty registry."""
        if not path.exists():
            return cls()
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (OSError, ValueError) as exc:
            raise DistillguardError(f"cannot read reasoning format config {path}: {exc}") from exc
        if not isinstance(data, Mapping):
            raise DistillguardError(f"reasoning format config {path} is not an object")
        return cls.from_dict(data)

    def save(self, path: Path) -> None:
        if path.suffix == ".toml":
            lines = []
            for name, fmt in sorted(self.models.items()):
                lines.append(f"[models.{json.dumps(name)}]")
                lines.append(f"fields = {json.dumps(list(fmt.fields))}")
                lines.append(f"tags = {json.dumps(list(fmt.tags))}")
                lines.append(f"implicit_open = {'true' if fmt.implicit_open else 'false'}\n")
            text = "\n".join(lines).rstrip("\n") + "\n"
        else:
            text = json.dumps(self.to_dict(), indent=2) + "\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
