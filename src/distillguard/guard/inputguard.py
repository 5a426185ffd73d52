"""The input guard: does this request try to get the model to reveal its hidden reasoning?

Stage 1 (every request): concept + n-gram features of all system/user turns (decoded
where obfuscated) scored by a logistic model. Stage 2 (only in the gray zone between
half the flag threshold and the block threshold, or for long prompts): the text is cut
into sentence windows and each is scored on its own, so a coercion sentence buried in
a long document is not diluted by it. A prefilled assistant turn that opens a reasoning
block ("<think>Okay, the user wants"), or a fabricated assistant turn with a reasoning
part in the user's text ("Assistant (thinking): ..."), is at least flagged whatever the
score: the request writes the model's hidden reasoning for it.

Verdicts: "block" at or above the block threshold, "flag" at or above the flag
threshold, else "allow". Thresholds are calibrated on held-out benign folds when the
model is trained (see `distillguard.guard.training`). The family is a best guess from
which concepts fired, for triage and reports.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from distillguard.errors import DistillguardError
from distillguard.guard import lexicon
from distillguard.guard.features import DENSE_NAMES, Extracted, analyse, extract, is_quiet
from distillguard.guard.model import LinearModel
from distillguard.guard.transcript import forged_assistant_turn

_OPEN_REASONING = re.compile(r"<\s*(think|thinking|reasoning|thought)\b[^>]*>", re.I)
_ROLEPLAY = lexicon.cue("roleplay")
_RECON = lexicon.cue("reconstruct")
_CONTINUE = lexicon.cue("continue")
_TRANSLATE = lexicon.cue("translate")
_SUMMARY = lexicon.cue("summarise")
_FAKE_TURN_INDEX = DENSE_NAMES.index("fake_reasoning_turn")
GRAY_LOW_FACTOR = 0.5
LONG_TEXT = 1500
STAGE2_WINDOWS = 6
MAX_CHARS = 32000  # beyond this only the head and tail are scanned (and the request is marked)


@dataclass(frozen=True)
class GuardVerdict:
    """Outcome for one request."""

    verdict: str  # "allow" | "flag" | "block"
    score: float  # 0..1
    family: str | None
    stage: int = 1  # 0: early exit (no attack concept), 1: whole request, 2: windows


def request_text(messages: Any) -> tuple[str, bool]:
    """(system+user text, whether the request writes the model's reasoning turn: a final
    assistant turn opening a reasoning block, or a prior one carrying reasoning)."""
    text, prefill, _ = _request_parts(messages)
    return text, prefill


_ANALYSED_ROLES = frozenset(("user", "system", "developer", "tool", "function"))
_SYSTEM_ROLES = frozenset(("system", "developer"))


def _request_parts(messages: Any) -> tuple[str, bool, bool]:
    """request_text plus whether a system/developer turn is present, in one pass."""
    if isinstance(messages, str):
        return messages, False, False
    if isinstance(messages, Mapping):
        messages = messages.get("messages") or messages.get("prompt") or ""
        if isinstance(messages, str):
            return messages, False, False
    if not isinstance(messages, Sequence):
        raise DistillguardError("messages must be a list of {role, content} objects or a string")
    parts: list[str] = []
    prefill = has_system = False
    last = len(messages) - 1
    for i, m in enumerate(messages):
        if type(m) is not dict and not isinstance(m, Mapping):
            raise DistillguardError(f"message {i} is not an object")
        role = m.get("role", "user")
        role = role if type(role) is str else str(role)
        content = m.get("content")
        text = content if type(content) is str else _content_text(content)
        if role in _ANALYSED_ROLES:
            parts.append(text)
            has_system = has_system or role in _SYSTEM_ROLES
        elif role == "assistant" and i < last:
            # a prior assistant turn with a reasoning part: the gateway strips reasoning
            # from replies, so the client wrote it (a fake transcript)
            prefill = prefill or forged_assistant_turn(m, text)
        elif role == "assistant" and text:
            # a prefilled final assistant turn: the model would continue it
            opened = _OPEN_REASONING.search(text)
            if opened and not re.search(rf"<\s*/\s*{opened.group(1)}\s*>", text, re.I):
                prefill = True
            parts.append(text)
    text = parts[0] if len(parts) == 1 else "\n".join(p for p in parts if p)
    return text, prefill, has_system


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(p.get("text", "")) for p in content if isinstance(p, Mapping) and "text" in p
        )
    return ""


def guess_family(x: Extracted, text: str, has_system: bool) -> str:
    h = x.hits
    if (
        x.decoded
        and any(s.casefold() not in text.casefold()[: len(text)] for s in x.decoded)
        and x.dense[-2]
    ):
        return "obfuscated"
    if h["encoding"]:
        return "encode"
    if h["authority"]:
        return "authority"
    if h["dataset"]:
        return "dataset"
    if _RECON.search(text):
        return "reconstruct"
    if h["transcript"] and not _CONTINUE.search(text):
        return "transcript"
    if _CONTINUE.search(text):
        return "continue"
    if _TRANSLATE.search(text):
        return "translate"
    if _SUMMARY.search(text):
        return "summarise"
    if _ROLEPLAY.search(text):
        return "roleplay"
    if h["wrapping"]:
        return "wrapping"
    if has_system:
        return "system_mandate"
    return "repeat"


class InputGuard:
    """Scores requests for reasoning-extraction attempts."""

    _default: InputGuard | None = None
    _lock = threading.Lock()

    def __init__(self, model: LinearModel) -> None:
        self.model = model
        # stage-0 verdicts by score: they are immutable and few (the score depends only on
        # which of a handful of concepts fired), so each is built once
        self._allow0: dict[float, GuardVerdict] = {}

    @classmethod
    def from_path(cls, path: Path) -> InputGuard:
        return cls(LinearModel.load(path))

    @classmethod
    def default(cls) -> InputGuard:
        """The packaged model (trained by `distillguard guard train`), loaded once."""
        with cls._lock:
            if cls._default is None:
                ref = resources.files("distillguard.guard") / "data" / "model.json"
                if not ref.is_file():
                    raise DistillguardError(
                        "the packaged guard model is missing; run `distillguard guard train`"
                    )
                with resources.as_file(ref) as p:
                    cls._default = cls.from_path(Path(p))
            return cls._default

    def score_text(self, text: str, decode: bool = True) -> tuple[float, Extracted]:
        x = extract(text, analyse(text, decode))
        return self.model.prob(x), x

    def check(self, messages: Any) -> GuardVerdict:
        """Verdict for one request: a messages list, a request body, or a prompt string."""
        text, prefill, has_system = _request_parts(messages)
        if len(text) > MAX_CHARS:
            text = text[: MAX_CHARS // 2] + "\n" + text[-MAX_CHARS // 2 :]
        a = analyse(text)
        m = self.model
        if not prefill and is_quiet(a):
            # early exit: no attack concept, nothing decoded, no fabricated turn; the
            # score is the model's without the n-gram part (stage 0)
            score = round(m.quiet_prob(a.hits), 4)
            v = self._allow0.get(score)
            if v is None:
                v = GuardVerdict("allow", score, None, 0)
                if len(self._allow0) < 4096:
                    self._allow0[score] = v
            return v
        x = extract(text, a)
        p = m.prob(x)
        stage = 1
        if x.decoded:
            # decode-then-score: the decoded request on its own, without the gibberish
            # and the "decode this" wrapper diluting it
            p = max(p, self.score_text("\n".join(x.decoded))[0])
        strong = x.hits["tgt_strong"] or x.hits["hidden"]
        tgt = sorted(x.hits["tgt_strong"] + x.hits["tgt_weak"])
        if (
            tgt
            and strong
            and (
                m.flag_threshold * GRAY_LOW_FACTOR <= p < m.block_threshold
                or (len(text) > LONG_TEXT and p < m.flag_threshold)
            )
        ):
            stage = 2
            p = max(p, self._max_window(x.normalised, tgt))
        fake_turn = bool(x.dense[_FAKE_TURN_INDEX])
        if prefill or fake_turn:
            # the request writes (or opens) the model's reasoning turn for it
            p = max(p, m.flag_threshold)
        if p >= m.block_threshold:
            verdict = "block"
        elif p >= m.flag_threshold:
            verdict = "flag"
        else:
            return GuardVerdict("allow", round(p, 4), None, stage)
        family = "transcript" if prefill else guess_family(x, text, has_system)
        if fake_turn and family not in ("obfuscated", "encode"):
            family = "transcript"
        return GuardVerdict(verdict, round(p, 4), family, stage)

    def _max_window(self, norm: str, anchors: list[int]) -> float:
        """Stage 2: score a window around each target word on its own; the worst counts."""
        best = 0.0
        end = -1
        for a in anchors[:STAGE2_WINDOWS]:
            if a < end:
                continue
            lo, end = max(0, a - 200), a + 200
            # the window is normalised text that already holds the decoded parts
            pw, _ = self.score_text(norm[lo:end], decode=False)
            best = max(best, pw)
        return best
