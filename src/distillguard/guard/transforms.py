"""Output and request transforms the rules can name, for whole and streamed replies.

The gateway calls these with the transform names of a rules `Decision`:

- `strip_reasoning`: remove reasoning fields (`reasoning_content`, `reasoning`,
  `reasoning_details`, ... per the model's `ReasoningFormat`), reasoning content parts and
  inline `<think>`-style blocks; whenever reasoning is hidden the answer is also checked
  by the leak detector and replaced by a notice (`finish_reason: "content_filter"`) if it
  reproduces the reasoning. `leak_check:off` disables that check.
- `summarise_reasoning` (or `summarize_reasoning`, `summarise_reasoning:first_sentence`):
  hide the reasoning as above but leave a neutral placeholder in the model's reasoning
  field: "[reasoning withheld: about N tokens]" or its first sentence plus that note.
- `drop_logprobs`: request side removes `logprobs`/`top_logprobs`; response side sets
  `choices[].logprobs` to null.
- `cap_max_tokens:N`, `cap_n:N`: request side caps (absent `max_tokens` is set to N;
  `n`/`best_of` are lowered to N).

When reasoning is hidden but logprobs are kept, log-probabilities of reasoning tokens are
removed too (otherwise they would carry the hidden trace). Unknown names raise
`DistillguardError`: a rule the guard cannot apply must not pass silently.

Streams go through `StreamTransformer.feed(chunk) -> [chunks]`, one choice state each
(a `TagSplitter` and a `StreamLeakGuard`), never buffering more than a short tail.
Differs from INTERFACES.md only by additions: `parse_transforms`, `transform_response`
(returns a `TransformReport` too) and `StreamTransformer.report`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from distillguard.errors import DistillguardError
from distillguard.guard.formats import DEFAULT_FORMAT, ReasoningFormat
from distillguard.guard.leak import LeakDetector, LeakScore, StreamLeakGuard
from distillguard.guard.thinktags import TagSplitter, split_text

WITHHELD_NOTICE = "[answer withheld: it reproduced the model's hidden reasoning]"
# Of the chunks of hidden reasoning in a stream, one in this many goes out as an empty delta.
KEEPALIVE_CHUNKS = 16
_REASONING_PART_TYPES = frozenset({"thinking", "reasoning", "redacted_thinking", "reasoning_text"})
_SENTENCE = re.compile(r"^\s*(.{1,240}?[.!?。！？])(\s|$)", re.S)
_META = ("id", "object", "created", "model")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


@dataclass(frozen=True)
class TransformSpec:
    """Parsed transform names."""

    strip_reasoning: bool = False
    summarise: str | None = None  # None | "count" | "first_sentence"
    drop_logprobs: bool = False
    cap_max_tokens: int | None = None
    cap_n: int | None = None
    leak_check: bool = True

    @property
    def hides_reasoning(self) -> bool:
        return self.strip_reasoning or self.summarise is not None


def _positive_int(name: str, arg: str) -> int:
    try:
        v = int(arg)
    except ValueError:
        v = 0
    if v <= 0:
        raise DistillguardError(f"transform {name} needs a positive integer, got {arg!r}")
    return v


def parse_transforms(transforms: Iterable[str] | TransformSpec | None) -> TransformSpec:
    """Transform names (e.g. `["strip_reasoning", "cap_max_tokens:1024"]`) -> TransformSpec."""
    if isinstance(transforms, TransformSpec):
        return transforms
    kw: dict[str, Any] = {}
    for raw in transforms or ():
        name, _, arg = str(raw).strip().partition(":")
        name = name.strip().lower()
        if name == "strip_reasoning":
            kw["strip_reasoning"] = True
        elif name in ("summarise_reasoning", "summarize_reasoning"):
            mode = arg.strip() or "count"
            if mode not in ("count", "first_sentence"):
                raise DistillguardError(
                    f"summarise_reasoning mode must be count|first_sentence: {raw}"
                )
            kw["summarise"] = mode
        elif name == "drop_logprobs":
            kw["drop_logprobs"] = True
        elif name == "cap_max_tokens":
            v = _positive_int(name, arg)
            kw["cap_max_tokens"] = min(v, kw.get("cap_max_tokens") or v)
        elif name == "cap_n":
            v = _positive_int(name, arg)
            kw["cap_n"] = min(v, kw.get("cap_n") or v)
        elif name == "leak_check":
            kw["leak_check"] = arg.strip().lower() not in ("off", "false", "0", "no")
        else:
            raise DistillguardError(f"unknown guard transform {raw!r}")
    return TransformSpec(**kw)


def apply_request_transforms(
    body: Mapping[str, Any], transforms: Iterable[str] | TransformSpec | None
) -> dict[str, Any]:
    """A new request body with the caps and logprob removal applied."""
    spec = parse_transforms(transforms)
    out = dict(body)
    if spec.drop_logprobs:
        out.pop("logprobs", None)
        out.pop("top_logprobs", None)
    if spec.cap_max_tokens is not None:
        cap = spec.cap_max_tokens
        present = False
        for key in ("max_tokens", "max_completion_tokens"):
            if key in out and out[key] is not None:
                present = True
                v = out[key]
                out[key] = min(v, cap) if isinstance(v, int) and not isinstance(v, bool) else cap
        if not present:
            out["max_tokens"] = cap
    if spec.cap_n is not None:
        for key in ("n", "best_of"):
            v = out.get(key)
            if v is not None:
                out[key] = min(v, spec.cap_n) if isinstance(v, int) else spec.cap_n
    return out


def estimate_tokens(text: str) -> int:
    """Rough token count (about 4 characters per token, one per CJK character)."""
    cjk = len(_CJK.findall(text))
    return max(1, round((len(text) - cjk) / 4) + cjk) if text else 0


def reasoning_summary(reasoning: str, mode: str, n_tokens: int | None = None) -> str:
    """The placeholder left in the reasoning field; a stream passes the reasoning's head
    (first sentence) and its token estimate instead of the whole text."""
    n = estimate_tokens(reasoning) if n_tokens is None else n_tokens
    if mode == "first_sentence":
        m = _SENTENCE.match(reasoning)
        if m:
            return f"{m.group(1).strip()} [rest of reasoning withheld: about {n} tokens]"
    return f"[reasoning withheld: about {n} tokens]"


def _field_text(value: Any) -> str:
    """Text inside a reasoning field (string, or OpenRouter-style list of detail objects)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "\n".join(
            _field_text(value[k]) for k in ("text", "summary", "content", "thinking") if k in value
        )
    if isinstance(value, list):
        return "\n".join(t for t in (_field_text(v) for v in value) if t)
    return ""


@dataclass
class TransformReport:
    """What the response transforms did (for the gateway's metrics and ledger record)."""

    reasoning_tokens: int = 0
    withheld_choices: list[int] = field(default_factory=list)
    leak_scores: dict[int, LeakScore] = field(default_factory=dict)


def _pop_reasoning_fields(msg: dict[str, Any], fmt: ReasoningFormat) -> tuple[str, str | None]:
    parts: list[str] = []
    first_str_field: str | None = None
    fields = fmt.all_fields
    for f in [k for k in msg if k in fields]:  # a delta has one or two keys: scan those
        v = msg.pop(f)
        t = _field_text(v)
        if t:
            parts.append(t)
            if first_str_field is None and isinstance(v, str):
                first_str_field = f
    return "\n".join(parts), first_str_field


def _filter_logprobs(logprobs: Any, fmt: ReasoningFormat) -> Any:
    """Keep only the log-probabilities of tokens outside reasoning tags."""
    if not isinstance(logprobs, Mapping) or not isinstance(logprobs.get("content"), list):
        return logprobs
    sp = TagSplitter(fmt.tags, fmt.implicit_open)
    kept = []
    for entry in logprobs["content"]:
        tok = entry.get("token", "") if isinstance(entry, Mapping) else ""
        depth_before = sp.depth
        vis, rea = sp.feed(tok if isinstance(tok, str) else "")
        if depth_before == 0 and sp.depth == 0 and not rea and (vis or not sp.pending):
            kept.append(entry)
    return {**logprobs, "content": kept}


def _map_choices(
    body: Mapping[str, Any], spec: TransformSpec, hide: Callable[[dict[str, Any], int], None]
) -> dict[str, Any]:
    """A copy of `body` whose choices went through `hide` (if reasoning is hidden) and
    lost their logprobs (if asked); only the objects on the way are copied."""
    out = dict(body)
    choices = body.get("choices")
    if not isinstance(choices, list):
        return out
    new_choices: list[Any] = []
    for i, ch0 in enumerate(choices):
        if not isinstance(ch0, Mapping):
            new_choices.append(ch0)
            continue
        ch = dict(ch0)
        idx = ch.get("index", i)
        if spec.hides_reasoning:
            hide(ch, idx if isinstance(idx, int) else i)
        if spec.drop_logprobs and "logprobs" in ch:
            ch["logprobs"] = None
        new_choices.append(ch)
    out["choices"] = new_choices
    return out


def transform_response(
    body: Mapping[str, Any],
    transforms: Iterable[str] | TransformSpec | None,
    reasoning_format: ReasoningFormat | None = None,
    *,
    leak_detector: LeakDetector | None = None,
) -> tuple[dict[str, Any], TransformReport]:
    """A transformed copy of a (non-streamed) chat/completions response, and a report."""
    spec = parse_transforms(transforms)
    fmt = reasoning_format or DEFAULT_FORMAT
    report = TransformReport()

    def hide(ch: dict[str, Any], idx: int) -> None:
        _hide_in_choice(ch, spec, fmt, report, idx, leak_detector)

    return _map_choices(body, spec, hide), report


def _hide_in_choice(
    ch: dict[str, Any],
    spec: TransformSpec,
    fmt: ReasoningFormat,
    report: TransformReport,
    idx: int,
    detector: LeakDetector | None,
) -> None:
    is_chat = isinstance(ch.get("message"), Mapping)
    msg: dict[str, Any] = dict(ch["message"]) if is_chat else ch
    reasoning, summary_field = _pop_reasoning_fields(msg, fmt) if is_chat else ("", None)
    key = "content" if is_chat else "text"
    content = msg.get(key)
    tag_reasoning = ""
    if isinstance(content, str):
        visible, tag_reasoning = split_text(content, fmt.tags, fmt.implicit_open)
        msg[key] = visible
    elif isinstance(content, list):
        kept_parts: list[Any] = []
        texts: list[str] = []
        for part in content:
            if isinstance(part, Mapping) and part.get("type") in _REASONING_PART_TYPES:
                texts.append(_field_text(part))
                continue
            if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                v, r = split_text(part["text"], fmt.tags, fmt.implicit_open)
                texts.append(r)
                part = {**part, "text": v}
            kept_parts.append(part)
        tag_reasoning = "\n".join(t for t in texts if t)
        msg[key] = kept_parts
    hidden = "\n".join(t for t in (reasoning, tag_reasoning) if t)
    if tag_reasoning and ch.get("logprobs") is not None:
        ch["logprobs"] = _filter_logprobs(ch["logprobs"], fmt)
    if hidden:
        report.reasoning_tokens += estimate_tokens(hidden)
        if spec.leak_check:
            answer = _visible_text(msg, key)
            score = (detector or _DEFAULT_DETECTOR).check(hidden, answer)
            report.leak_scores[idx] = score
            if score.leaked:
                msg[key] = WITHHELD_NOTICE
                msg.pop("tool_calls", None)
                ch["finish_reason"] = "content_filter"
                ch["logprobs"] = None
                report.withheld_choices.append(idx)
        if spec.summarise is not None and is_chat:
            msg[summary_field or "reasoning_content"] = reasoning_summary(hidden, spec.summarise)
    if is_chat:
        ch["message"] = msg


def _visible_text(msg: Mapping[str, Any], key: str) -> str:
    parts: list[str] = []
    c = msg.get(key)
    if isinstance(c, str):
        parts.append(c)
    elif isinstance(c, list):
        parts.extend(
            p["text"] for p in c if isinstance(p, Mapping) and isinstance(p.get("text"), str)
        )
    for tc in msg.get("tool_calls") or ():
        if isinstance(tc, Mapping) and isinstance(tc.get("function"), Mapping):
            args = tc["function"].get("arguments")
            if isinstance(args, str):
                parts.append(args)
    return "\n".join(parts)


_DEFAULT_DETECTOR = LeakDetector()


def apply_response_transforms(
    body: Mapping[str, Any],
    transforms: Iterable[str] | TransformSpec | None,
    reasoning_format: ReasoningFormat | None = None,
    *,
    leak_detector: LeakDetector | None = None,
) -> dict[str, Any]:
    """A transformed copy of a (non-streamed) response; see `transform_response`."""
    return transform_response(body, transforms, reasoning_format, leak_detector=leak_detector)[0]


@dataclass
class _Tally:
    """What the report and the summary need of a stream's hidden reasoning (its size and
    first characters), so the reasoning itself is not kept."""

    chars: int = 0
    cjk: int = 0
    head: str = ""

    def add(self, text: str) -> None:
        self.chars += len(text)
        if not text.isascii():
            self.cjk += len(_CJK.findall(text))
        if len(self.head) < 512:
            self.head += text[:512]

    def tokens(self) -> int:
        return max(1, round((self.chars - self.cjk) / 4) + self.cjk) if self.chars else 0

    def summary(self, mode: str) -> str:
        return reasoning_summary(self.head, mode, self.tokens())


@dataclass
class _ChoiceState:
    splitter: TagSplitter
    guard: StreamLeakGuard
    reasoning: _Tally = field(default_factory=_Tally)
    summary_field: str | None = None
    summary_sent: bool = False
    notice_sent: bool = False
    finished: bool = False
    is_text: bool = False
    hidden_run: int = 0


class StreamTransformer:
    """Applies response transforms to a stream of chat/completions chunks, chunk by chunk."""

    def __init__(
        self,
        transforms: Iterable[str] | TransformSpec | None,
        reasoning_format: ReasoningFormat | None = None,
        *,
        leak_detector: LeakDetector | None = None,
        hold_chars: int = 256,
    ) -> None:
        self.spec = parse_transforms(transforms)
        self.fmt = reasoning_format or DEFAULT_FORMAT
        self.detector = leak_detector or _DEFAULT_DETECTOR
        self.hold_chars = hold_chars
        self.report = TransformReport()
        self._states: dict[int, _ChoiceState] = {}
        self._last_chunk: Mapping[str, Any] = {}
        self._fields = self.fmt.all_fields
        self._fast = self.spec.hides_reasoning

    def _state(self, idx: int) -> _ChoiceState:
        st = self._states.get(idx)
        if st is None:
            st = _ChoiceState(
                TagSplitter(self.fmt.tags, self.fmt.implicit_open),
                StreamLeakGuard(self.detector, hold=self.hold_chars, active=self.spec.leak_check),
            )
            self._states[idx] = st
        return st

    def feed(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Transform one parsed SSE chunk; returns the chunks to send (usually one; none
        while the leak check holds answer text back). A chunk that needs no change is
        returned as is (not copied)."""
        self._last_chunk = chunk
        if self._fast:
            out = self._feed_token(chunk)
            if out is not None:
                return out
        return [_map_choices(chunk, self.spec, self._hide)]

    def _feed_token(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        """The common chunk (one choice, a one-key delta of text, no finish, no logprobs)
        handled with a handful of dict lookups; anything else returns None for `_hide`.

        Real upstreams send a token or three per chunk, so per-chunk overhead, not the
        text work, is what a streamed reply costs; this path is why. Answer text the leak
        check holds back is sent later with the text released after it, so its chunk is
        dropped (an empty delta would only cost a copy here and a write in the gateway);
        of the chunks of hidden reasoning, one in KEEPALIVE_CHUNKS becomes an empty delta
        (so a long reasoning phase does not look like a stalled connection) and the rest
        are dropped."""
        choices = chunk.get("choices")
        if type(choices) is not list or len(choices) != 1:
            return None
        ch = choices[0]
        if type(ch) is not dict or ch.get("finish_reason") is not None:
            return None
        delta = ch.get("delta")
        if type(delta) is not dict or len(delta) != 1 or ch.get("logprobs") is not None:
            return None
        ((key, val),) = delta.items()
        if type(val) is not str:
            return None
        idx = ch.get("index", 0)
        st = self._states.get(idx) if type(idx) is int else None
        if st is None:
            return None
        if key == "content":
            sp = st.splitter
            if not sp.pending and "<" not in val:  # no tag here: inside or outside a block
                visible, rea = (val, "") if sp.depth == 0 else ("", val)
            else:
                visible, rea = sp.feed(val)
            if rea:
                st.reasoning.add(rea)
                st.guard.add_reasoning(rea)
        elif key in self._fields:
            if st.summary_field is None:
                st.summary_field = key
            if val:
                st.reasoning.add(val)
                st.guard.add_reasoning(val)
            visible = ""
        else:
            return None
        released = st.guard.add_content(visible) if self.spec.leak_check else visible
        if st.guard.withheld:
            released = self._maybe_notice(st, released, idx)
        mode = self.spec.summarise
        summary_due = bool(released and mode and st.reasoning.chars and not st.summary_sent)
        if released is val and not summary_due:
            return [chunk]  # type: ignore[list-item]
        if visible and not released:
            return []  # held back: goes out with a later chunk
        if not released and not visible and not summary_due:
            # hidden reasoning: one empty delta per KEEPALIVE_CHUNKS such chunks keeps a long
            # reasoning phase from looking like a stalled connection; the rest are dropped
            st.hidden_run += 1
            if st.hidden_run < KEEPALIVE_CHUNKS:
                return []
            st.hidden_run = 0
        new_delta: dict[str, Any] = {"content": released} if released or key == "content" else {}
        if summary_due and mode:
            new_delta[st.summary_field or "reasoning_content"] = st.reasoning.summary(mode)
            st.summary_sent = True
        return [{**chunk, "choices": [{**ch, "delta": new_delta}]}]

    def _hide(self, ch: dict[str, Any], idx: int) -> None:
        st = self._state(idx)
        is_text = "delta" not in ch and isinstance(ch.get("text"), str)
        st.is_text = st.is_text or is_text
        delta: dict[str, Any] = dict(ch.get("delta") or {}) if not is_text else {}
        key = "text" if is_text else "content"
        src = ch if is_text else delta
        field_reasoning, fname = ("", None) if is_text else _pop_reasoning_fields(delta, self.fmt)
        if fname and st.summary_field is None:
            st.summary_field = fname
        content = src.get(key)
        visible, tag_reasoning = ("", "")
        if isinstance(content, str):
            visible, tag_reasoning = st.splitter.feed(content)
        had_reasoning = bool(field_reasoning or tag_reasoning)
        for r in (field_reasoning, tag_reasoning):
            if r:
                st.reasoning.add(r)
                st.guard.add_reasoning(r)
        released = self._release(st, visible)
        finish = ch.get("finish_reason")
        if finish is not None and not st.finished:
            released += self._flush(st)
            st.finished = True
            if st.guard.withheld:
                ch["finish_reason"] = "content_filter"
        released = self._maybe_notice(st, released, idx)
        if (
            self.spec.summarise is not None
            and st.reasoning.chars
            and not st.summary_sent
            and not is_text
            and (released or finish is not None)
        ):
            delta[st.summary_field or "reasoning_content"] = st.reasoning.summary(
                self.spec.summarise
            )
            st.summary_sent = True
        if isinstance(content, str) or released:
            src[key] = released
        if had_reasoning and ch.get("logprobs") is not None:
            ch["logprobs"] = None
        if not is_text:
            ch["delta"] = delta

    def _release(self, st: _ChoiceState, visible: str) -> str:
        if not self.spec.leak_check:
            return visible
        return st.guard.add_content(visible)

    def _flush(self, st: _ChoiceState) -> str:
        vis, rea = st.splitter.finish()
        if rea:
            st.reasoning.add(rea)
            st.guard.add_reasoning(rea)
        if not self.spec.leak_check:
            return vis
        out = st.guard.add_content(vis)
        return out + st.guard.finish()

    def _maybe_notice(self, st: _ChoiceState, released: str, idx: int) -> str:
        if st.guard.withheld and not st.notice_sent:
            st.notice_sent = True
            self.report.withheld_choices.append(idx)
            if st.guard.last is not None:
                self.report.leak_scores[idx] = st.guard.last
            return released + ("\n" if released else "") + WITHHELD_NOTICE
        return released

    def finish(self) -> list[dict[str, Any]]:
        """End of stream: flush held-back text of choices that never sent finish_reason."""
        tails: list[dict[str, Any]] = []
        for idx, st in sorted(self._states.items()):
            if st.finished:
                continue
            st.finished = True
            released = self._maybe_notice(st, self._flush(st), idx)
            if released:
                key = "text" if st.is_text else "content"
                ch: dict[str, Any] = (
                    {"index": idx, key: released, "finish_reason": None}
                    if st.is_text
                    else {"index": idx, "delta": {key: released}, "finish_reason": None}
                )
                meta = {k: self._last_chunk[k] for k in _META if k in self._last_chunk}
                tails.append({**meta, "choices": [ch]})
        if self.spec.hides_reasoning:
            self.report.reasoning_tokens = sum(
                st.reasoning.tokens() for st in self._states.values()
            )
        return tails


def transform_stream(
    chunks: Iterable[Mapping[str, Any]],
    transforms: Sequence[str] | TransformSpec | None,
    reasoning_format: ReasoningFormat | None = None,
) -> list[dict[str, Any]]:
    """Convenience for tests and the CLI: run a whole list of chunks through a transformer."""
    st = StreamTransformer(transforms, reasoning_format)
    out: list[dict[str, Any]] = []
    for c in chunks:
        out.extend(st.feed(c))
    out.extend(st.finish())
    return out
