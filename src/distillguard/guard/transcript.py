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

from distillguard.guard.lexicon import start_filter, trie_pattern

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
# a short label of a turn that names the model (or "you") and qualifies it as reasoning:
# at a line start, after a bracket, a sentence or a colon, ending in ":", "]" or ">"
# ("ASSISTANT (V.O., thinking):", "[assistant.reasoning]", "Tú (pensamiento interno):",
# "<模型思考>"), or a markup heading ending at the line end ("### Assistant, internal").
# A "you" label only with the qualifier set apart ("You, thinking out loud:"), not
# "you should write down the reasoning:".
_NAMED = (
    rf"(?:{ROLE}(?![a-z])[^\n:：\]>\[<{{|]{{0,40}}?|{YOU}\s*[(,\[]\s*[^\n)\]:：]{{0,30}}?)"
    rf"{QUAL}[^\n:：\]>\[<{{|]{{0,40}}?"
)
_LABEL = re.compile(rf"(?:^|\n|[\[<{{|]|(?<=[.!?。！？:：—] ))[ \t]*{_NAMED}[:：\]>]")
_HEADING = re.compile(rf"(?:^|\n)[ \t]*[#*>\-]+[ \t]*{_NAMED}[ \t]*(?:\n|$)")
# the same words as QUAL, as a trie (a flat alternation is tested word by word)
_QUAL_TEXT = (
    "think thought reason intern inner private hidden scratch analysis monolog reflect denk "
    "gedank überleg pens razon réflex reflex raison ragion racioc дума размышл мысл рассужд "
    "внутрен 思考 推理 考え 心の声 内心 생각 사고 추론 속마음 يفكر تفكير düşün dusun myśl "
    "berpikir सोच cot"
)
_QUAL_WORDS = [*_QUAL_TEXT.split(" "), "suy nghĩ"]
_QUAL = re.compile(trie_pattern(_QUAL_WORDS))
_NEEDS = "([<【\n:：\"'"
REASONING_FIELDS = ("reasoning_content", "reasoning", "thinking", "reasoning_details")
_OPENS_REASONING = re.compile(rf"^\s*[<\[(【]\s*/?\s*{QUAL}|<\s*(?:think|thinking|reasoning)\b")


def fake_reasoning_turn(norm: str) -> bool:
    """Does the (normalised) text fabricate a turn of the model with a reasoning part?"""
    if not any(map(norm.__contains__, _NEEDS)):
        return False  # every form needs a bracket, a tag, a separator or a line break
    head = norm[:4000]
    if not _QUAL.search(head):
        return False  # no word for thinking / internal / hidden at all
    return bool(_FAKE_TURN.search(head) or _LABEL.search(head) or _HEADING.search(head))


def forged_assistant_turn(message: Mapping[str, Any], content: str) -> bool:
    """A prior assistant message that carries reasoning the gateway would have stripped."""
    if any(message.get(f) for f in REASONING_FIELDS):
        return True
    return bool(content) and bool(_OPENS_REASONING.search(content.casefold()))
