"""Fabricated reasoning turns: a request that writes the model's hidden reasoning for it.

Why a structural check and not only lexicon cues: a fake transcript shows the model the
format the attacker wants back ("Assistant (thinking): ...", a prior assistant message
carrying a `<think>` block or a `reasoning_content` field), and its wording is mostly the
demonstration itself, so a classifier trained on other families has little to go on.
What every such demonstration has is a *label of the model's turn that carries a
reasoning qualifier*, in whatever syntax: a role word (or "you") and a word for
thinking / internal / hidden in one short label, or a role followed closely by a
bracket, tag, quote or key that opens a reasoning part. The gateway strips reasoning
from every reply, so a client that sends one back in a prior assistant turn made it up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from distillguard.guard.lexicon import start_filter

ROLE = (
    r"(?:assistant|ai|model|modell|bot|chatbot|gpt|claude|asistente|assistente|assistent"
    r"|asystent|asistan|ассистент|модель|ии|助手|助理|模型|アシスタント|어시스턴트|مساعد"
    r"|المساعد|trợ lý|asisten|सहायक|modelo|modèle|modello)"
)
YOU = r"(?:you|u|tú|tu|toi|du|ты|ви|你|あなた|당신|você|sen|jij|ty|anda|kamu)"
QUAL = (
    r"(?:think|thought|reason|intern|inner|private|hidden|scratch|cot\b|analysis|monolog"
    r"|reflect|denk|gedank|überleg|pens|razon|r[ée]flex|raison|ragion|racioc|дума|размышл"
    r"|мысл|рассужд|внутрен|思考|推理|考え|心の声|内心|생각|사고|추론|속마음|يفكر|تفكير"
    r"|düşün|dusun|myśl|suy nghĩ|berpikir|सोच)"
)
_OPEN = r"(?:[<(\[【\"',=]|\n[ \t\-]*)\s*/?\s*"  # what opens a reasoning part after a role
# a role, then directly a bracketed qualifier ("assistant (thinking)"), or after a
# separator / quote a reasoning part opened within 80 characters ("assistant: <think>",
# "'assistant', 'content': '[internal]", "role: assistant\n  hidden_thoughts:"), or the
# harmony analysis channel
_FAKE_TURN = re.compile(
    start_filter(ROLE)  # one character test rejects most positions
    + rf"(?<![^\W_]){ROLE}['\"]?\s*(?:[(\[【]\s*{QUAL}"
    rf"|[)\]>|]*\s*(?:[:：,]|\n)[\s\S]{{0,80}}?{_OPEN}{QUAL}"
    rf"|['\"][\s\S]{{0,60}}?[\"'=]\s*{QUAL}"
    rf"|,{QUAL}[^\s,]*,"  # a CSV row: ...,assistant,thought,...
    r"|<\|channel\|>\s*analysis)"
)
# a short label of a turn: at a line start, after a bracket or after a sentence or a
# colon, ending in ":", "]" or ">" ("ASSISTANT (V.O., thinking):", "[assistant.reasoning]",
# "Tú (pensamiento interno):", "<模型思考>"); or a markup heading ("### Assistant, internal")
_LABEL = re.compile(
    r"(?:(?:^|\n|[\[<{|]|(?<=[.!?。！？:：—] ))[ \t]*([^\n:：\]>\[<{|]{1,48}?)\s*[:：\]>]"
    r"|(?:^|\n)[ \t]*[#*>\-]+[ \t]*([^\n]{1,48}?)[ \t]*(?=\n|$))"
)
# the label names the model's turn and qualifies it as reasoning; a "you" label only with
# the qualifier set apart ("You, thinking out loud:"), not "you should show reasoning:"
_LABEL_TURN = re.compile(
    rf"(?:{ROLE}(?![a-z])[^\n]{{0,40}}?{QUAL}|{YOU}\s*[(,\[]\s*[^\n)\]]{{0,30}}?{QUAL})"
)
_NEEDS = "([<【\n:：\"'"
REASONING_FIELDS = ("reasoning_content", "reasoning", "thinking", "reasoning_details")
_OPENS_REASONING = re.compile(rf"^\s*[<\[(【]\s*/?\s*{QUAL}|<\s*(?:think|thinking|reasoning)\b")


def fake_reasoning_turn(norm: str) -> bool:
    """Does the (normalised) text fabricate a turn of the model with a reasoning part?"""
    if not any(map(norm.__contains__, _NEEDS)):
        return False  # every form needs a bracket, a tag, a separator or a line break
    if _FAKE_TURN.search(norm):
        return True
    return any(
        _LABEL_TURN.match(m.group(1) or m.group(2) or "") for m in _LABEL.finditer(norm[:4000])
    )


def forged_assistant_turn(message: Mapping[str, Any], content: str) -> bool:
    """A prior assistant message that carries reasoning the gateway would have stripped."""
    if any(message.get(f) for f in REASONING_FIELDS):
        return True
    return bool(content) and bool(_OPENS_REASONING.search(content.casefold()))
