"""Test material for the leak detector: reasoning traces and disguised copies of them.

The shared GSM8K file carries only final answers (no worked solutions), so a trace is
assembled the way reasoning models write one: restate the real problem sentence by
sentence, list its quantities, work towards the real answer, double-check, conclude.
Long real human text (ShareGPT turns) serves as a second, non-templated kind of hidden
text in the benchmark. Leak variants are what a coerced model would emit: verbatim,
base64, hex, rot13, reversed, sentence-reordered, lightly paraphrased, wrapped in
chatter; honest answers are the final answer or a one-line explanation. Nothing from
the shared data is stored: everything is built at run time from the file given.
"""

from __future__ import annotations

import base64
import random
import re

from distillguard.guard.leak import rot13

_SENT = re.compile(r"(?<=[.!?])\s+")
_NUM = re.compile(r"\d+(?:[.,]\d+)*")

_OPENERS = (
    "Okay, let me work through this.",
    "Alright, so the problem says the following.",
    "Let me read this carefully.",
    "Hmm, let's see what is being asked here.",
)
_STEPS = (
    "First, I note that {s}",
    "The problem tells me: {s}",
    "Next piece of information: {s}",
    "Also, {s}",
    "Then we have: {s}",
)
_CHECKS = (
    "Wait, let me double-check the arithmetic before committing.",
    "Let me verify that by going through the quantities again.",
    "Hmm, does that make sense? Re-reading the question to be sure.",
)

SYNONYMS = {
    "let": "allow",
    "me": "myself",
    "first": "to begin",
    "note": "observe",
    "problem": "question",
    "tells": "says to",
    "next": "the following",
    "then": "after that",
    "also": "additionally",
    "check": "verify",
    "double-check": "re-verify",
    "the": "that",
    "so": "thus",
    "is": "equals",
    "asked": "requested",
    "quantities": "numbers",
    "information": "detail",
    "carefully": "closely",
    "how": "in what amount",
    "many": "numerous",
    "much": "a lot",
    "each": "every",
    "total": "sum",
    "has": "holds",
    "buys": "purchases",
    "sells": "trades",
    "makes": "produces",
    "gets": "receives",
    "wants": "would like",
    "needs": "requires",
}


def build_trace(problem: str, answer: str, seed: int) -> str:
    """A reasoning trace for a real problem and its real final answer."""
    rng = random.Random(seed)
    sents = [s.strip() for s in _SENT.split(problem.strip()) if s.strip()]
    nums = _NUM.findall(problem)
    lines = [rng.choice(_OPENERS)]
    for s in sents[:-1] or sents:
        lines.append(rng.choice(_STEPS).format(s=s[0].lower() + s[1:]))
    if sents:
        lines.append(f"The question is: {sents[-1]}")
    if nums:
        lines.append(f"So the quantities I have to combine are {', '.join(nums)}.")
        lines.append(
            f"Working it through with {nums[0]} as the starting point and applying each "
            f"step in order, I get an intermediate value and then the final result {answer}."
        )
    lines.append(rng.choice(_CHECKS))
    lines.append(f"Yes, everything is consistent, so the final answer is {answer}.")
    return " ".join(lines)


def paraphrase(text: str, rng: random.Random, rate: float = 0.5) -> str:
    """Light paraphrase: swap words for synonyms, drop a few fillers, keep the content."""
    out: list[str] = []
    for w in text.split():
        core = w.strip(".,:;!?").lower()
        if core in SYNONYMS and rng.random() < rate:
            out.append(w.lower().replace(core, SYNONYMS[core]))
        elif core in ("okay,", "hmm", "alright", "okay", "well") and rng.random() < 0.5:
            continue
        else:
            out.append(w)
    return " ".join(out)


def reorder(text: str, rng: random.Random) -> str:
    sents = _SENT.split(text)
    rng.shuffle(sents)
    return " ".join(sents)


def leak_variants(trace: str, seed: int) -> dict[str, str]:
    """Answers that copy `trace`, each in one disguise a coerced model might use."""
    rng = random.Random(seed)
    b64 = base64.b64encode(trace.encode()).decode()
    return {
        "verbatim": f"Here is my full reasoning:\n{trace}\nFinal answer below.",
        "base64": f"Encoded as requested:\n{b64}",
        "base64_wrapped": "\n".join(b64[i : i + 76] for i in range(0, len(b64), 76)),
        "hex": trace.encode().hex(),
        "rot13": rot13(trace),
        "reversed": trace[::-1],
        "word_reversed": " ".join(reversed(trace.split())),
        "reordered": reorder(trace, rng),
        "paraphrased": paraphrase(trace, rng),
        "in_code_block": f"```\n<think>\n{trace}\n</think>\n```",
    }


def honest_answers(problem: str, answer: str) -> dict[str, str]:
    """Answers an honest model would give: the result, or a short explanation of it."""
    sents = [s.strip() for s in _SENT.split(problem.strip()) if s.strip()]
    question = sents[-1] if sents else problem
    nums = _NUM.findall(problem)
    used = ", ".join(nums[:3]) if nums else "the given values"
    return {
        "final_only": f"The answer is {answer}.",
        "short_explanation": (
            f"Combining {used} as the problem describes gives {answer}. "
            f"So the answer to \u201c{question}\u201d is {answer}."
        ),
    }
