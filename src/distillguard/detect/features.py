"""Per-request features: computed once per request, cheap (tens of microseconds), generic.

Why these: a harvesting pipeline sends *problems* (things with a checkable answer: math,
code, multiple choice, task instructions) wrapped in a few fixed *templates* that demand
*reasoning*, asks for token probabilities or several samples, and never talks back to the
answer. Ordinary users converse: they send prior assistant turns and follow-ups that
refer to them. None of the cues below memorise a particular data set; they look for the
generic shape of problem sets (answer-format demands, numbered choices, LaTeX, function
signatures and docstrings, test asserts, "Solve"/"How many") and of reasoning elicitation
(in a few languages), so they carry over to prompt sets and wordings we have never seen.

The template skeleton is found without knowing the template: the prompt is cut into
segments (lines and sentences), each masked (numbers, names, quoted data, LaTeX), and the
first and last short segments become *wrapper keys*. A wrapper key that recurs across an
account's requests (or across accounts) is a template; the unique rest is the payload.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from distillguard.events import RequestEvent, content_fingerprint

MAX_SCAN = 1200  # characters of the last user message scanned (start + end)
MAX_SEG = 160  # a segment longer than this is payload, never a wrapper key
MIN_ANSWER_CHARS = 40  # shorter assistant turns ("ok", "billing") are too common to trace

DOMAINS = ("math", "code", "science", "writing", "chat")

_LABEL = re.compile(r"^\s*([A-Za-z][\w ]{0,18}[:：])\s*")
_QUOTED = re.compile(r"\"[^\"\n]{1,200}\"|“[^”\n]{1,200}”|'[^'\n]{3,200}'|`[^`\n]{1,200}`")
_LATEX_INLINE = re.compile(r"\$[^$\n]{1,200}\$")
_NAME = re.compile(r"(?<=[a-z,;] )[A-Z][a-z]+")
_WS = re.compile(r"\s+")
_NAME_ASCII = re.compile(r"(?<=[^.?!: ]) [A-Z][a-z]\S*")  # on single-spaced ASCII text

_PUNCT_CHARS = b'!"#$%&()*+,./:;<=>?@[\\]^_`{|}~\n\t\r-'
_PUNCT = bytes.maketrans(_PUNCT_CHARS, b" " * len(_PUNCT_CHARS))
_DIGITS_B = bytes.maketrans(b"0123456789", b"##########")
_ARITH = re.compile(r"\d\s*[-+*/×÷=<>]\s*\d")
_COERCE_PRE = re.compile(
    r"(?:internal|hidden|private|inner|raw|entire|original|unfiltered|verbatim|whole|exact)"
    r"[\w\s]{0,12}$|\b(?:reveal|expose|output|print|dump|repeat|restate|translate|encode|"
    r"continue|copy|transcribe|reproduce|leak|share)\b[\w\s,]{0,24}$"
)

# Phrase cues are matched as word bigrams and words (set intersections, ~1 µs), not as big
# case-insensitive regex alternations, which cost ~100 ns per character in CPython.
_COT_BI = {
    ("step", "by"),
    ("show", "your"),
    ("show", "all"),
    ("show", "each"),
    ("show", "every"),
    ("your", "reasoning"),
    ("your", "work"),
    ("your", "thinking"),
    ("the", "reasoning"),
    ("think", "carefully"),
    ("think", "through"),
    ("think", "aloud"),
    ("think", "hard"),
    ("chain", "of"),
    ("thought", "process"),
    ("walk", "me"),
    ("walk", "through"),
    ("detailed", "derivation"),
    ("detailed", "explanation"),
    ("detailed", "reasoning"),
    ("detailed", "solution"),
    ("full", "solution"),
    ("full", "derivation"),
    ("full", "explanation"),
    ("let's", "think"),
    ("reason", "through"),
    ("reason", "about"),
    ("reason", "carefully"),
    ("justify", "each"),
    ("justify", "every"),
    ("each", "step"),
    ("every", "step"),
    ("intermediate", "step"),
    ("intermediate", "steps"),
    ("work", "it"),
    ("reasoning", "process"),
    ("explain", "your"),
    ("explain", "each"),
    ("explain", "every"),
    ("thoroughly", "before"),
    ("before", "answering"),
    ("before", "you"),
    ("think", "step"),
    ("worked", "solution"),
    ("one", "step"),
    ("paso", "a"),
    ("par", "étape"),
    ("pas", "à"),
    ("schritt", "für"),
    ("шаг", "за"),
}
_COT_W = {"rationale", "derivation"}
_COT_CJK = ("逐步", "一步一步", "推理过程", "思考过程", "ステップ", "思维链")
_COERCE_NOUNS = (
    "reasoning",
    "thought",
    "thinking",
    "scratchpad",
    "scratch pad",
    "monologue",
    "think>",
    "deliberation",
)
_COERCE_CJK = ("思维链", "内部推理", "完整思维", "推理轨迹")
_FORMAT_BI = {
    ("final", "answer"),
    ("only", "the"),
    ("answer", "with"),
    ("put", "your"),
    ("the", "letter"),
    ("correct", "answer"),
    ("correct", "option"),
    ("choose", "the"),
    ("answer", "is"),
    ("answer", "format"),
    ("format", "your"),
    ("in", "json"),
    ("respond", "only"),
}
_FORMAT_W = {"boxed", "json"}
# data-processing instructions: the payload is the customer's own text, not a problem
_DOC_BI = {
    ("following", "text"),
    ("text", "below"),
    ("following", "message"),
    ("following", "document"),
    ("following", "email"),
    ("following", "article"),
    ("following", "ticket"),
    ("following", "note"),
    ("following", "transcript"),
    ("following", "review"),
    ("this", "document"),
    ("this", "text"),
    ("this", "message"),
    ("this", "email"),
    ("this", "ticket"),
    ("this", "note"),
    ("this", "transcript"),
    ("this", "article"),
    ("the", "document"),
    ("document", "below"),
    ("message", "below"),
    ("email", "below"),
}
_MATH_BI = {
    ("how", "many"),
    ("how", "much"),
    ("how", "long"),
    ("how", "far"),
    ("how", "old"),
    ("what", "percent"),
    ("show", "that"),
    ("the", "value"),
    ("the", "sum"),
    ("the", "probability"),
    ("the", "remainder"),
    ("the", "area"),
}
_MATH_W = {
    "solve",
    "calculate",
    "compute",
    "evaluate",
    "simplify",
    "determine",
    "prove",
    "equation",
    "equations",
    "percent",
    "percentage",
    "probability",
    "integral",
    "derivative",
    "remainder",
    "perimeter",
    "ratio",
    "polynomial",
    "integer",
    "integers",
    "divisible",
    "fraction",
    "sqrt",
    "frac",
    "cdot",
    "theorem",
    "triangle",
    "radius",
    "digits",
    "sum",
    "product",
}
_CODE_W = {
    "def",
    "return",
    "function",
    "implement",
    "python",
    "java",
    "javascript",
    "sql",
    "regex",
    "code",
    "program",
    "script",
    "compile",
    "array",
    "class",
    "import",
    "algorithm",
    "recursion",
}
_CODE_SUB = ('"""', ">>>", "assert ", "```", "#include", "def ", "=>", "();")
_CODE_SUB_RE = re.compile("|".join(re.escape(c) for c in _CODE_SUB))  # one scan, not eight
_SCIENCE_W = {
    "atom",
    "atoms",
    "molecule",
    "molecules",
    "cell",
    "cells",
    "enzyme",
    "protein",
    "proteins",
    "gene",
    "genes",
    "dna",
    "rna",
    "species",
    "chemical",
    "reaction",
    "acid",
    "velocity",
    "acceleration",
    "force",
    "energy",
    "electron",
    "electrons",
    "photon",
    "gravity",
    "mass",
    "momentum",
    "circuit",
    "voltage",
    "organism",
    "organisms",
    "evolution",
    "ecosystem",
    "physics",
    "chemistry",
    "biology",
    "mutation",
    "population",
    "pressure",
    "wavelength",
    "frequency",
    "nucleus",
    "bacteria",
    "virus",
    "mitosis",
    "photosynthesis",
    "ion",
    "ions",
}
_WRITING_W = {
    "write",
    "compose",
    "draft",
    "rewrite",
    "paraphrase",
    "summarize",
    "summarise",
    "essay",
    "story",
    "poem",
    "email",
    "letter",
    "blog",
    "tweet",
    "slogan",
    "describe",
    "translate",
}
_TASK_W = {
    "generate",
    "give",
    "list",
    "create",
    "classify",
    "identify",
    "name",
    "describe",
    "explain",
    "provide",
    "convert",
    "rewrite",
    "suggest",
    "compare",
    "write",
    "find",
    "what",
    "which",
    "how",
    "solve",
    "calculate",
    "compute",
    "evaluate",
    "determine",
}
_REFER_W = {
    "above",
    "earlier",
    "previous",
    "thanks",
    "thank",
    "ok",
    "okay",
    "but",
    "wait",
    "again",
    "instead",
    "also",
    "shorter",
    "longer",
    "why",
    "mean",
    "step",
    "part",
    "that",
    "it",
    "this",
    "you",
    "your",
    "said",
    "understand",
    "get",
    "confused",
    "more",
    "hmm",
    "so",
}


def _b(words: set[str]) -> frozenset[bytes]:
    return frozenset(w.encode() for w in words)


def _bb(pairs: set[tuple[str, str]]) -> frozenset[tuple[bytes, bytes]]:
    return frozenset((a.encode(), b.encode()) for a, b in pairs)


# tokens are UTF-8 bytes: bytes.translate + split is ~6x faster than the str equivalents
_COT_BI_B, _FORMAT_BI_B, _MATH_BI_B = _bb(_COT_BI), _bb(_FORMAT_BI), _bb(_MATH_BI)
_COT_W_B, _FORMAT_W_B, _MATH_W_B, _CODE_W_B = _b(_COT_W), _b(_FORMAT_W), _b(_MATH_W), _b(_CODE_W)
_SCIENCE_W_B, _WRITING_W_B, _TASK_W_B = _b(_SCIENCE_W), _b(_WRITING_W), _b(_TASK_W)
_REFER_W_B = _b(_REFER_W)
_DOC_BI_B = _bb(_DOC_BI)

_DIGITS = str.maketrans("0123456789", "##########")
_REAL_WORD = re.compile(r"(?<![^\W\d_])[^\W\d_]{3}")  # a word of 3+ letters
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")  # kana and CJK ideographs


def mask(segment: str) -> str:
    """Skeleton of a segment: numbers, quoted data, LaTeX and names masked, lower-cased."""
    s = segment[: MAX_SEG * 2]
    if "$" in s:
        s = _LATEX_INLINE.sub(" M ", s)
    if '"' in s or "'" in s or "`" in s or "“" in s:
        s = _QUOTED.sub(" Q ", s)
    t = s.translate(_DIGITS)
    if t.isascii() and "\0" not in t:
        t = " ".join(t.split())
        rest = t[1:]
        if rest.lower() == rest:  # no capital after the first character: no names
            return t.lower()[:MAX_SEG]
        # a capitalised word after a word that does not end a sentence is a name
        return _NAME_ASCII.sub(" \0", t).lower().replace("\0", "N")[:MAX_SEG]
    words = t.split()
    out = [
        "N"
        if i and w[:1].isupper() and w[1:2].islower() and words[i - 1][-1:] not in ".?!:"
        else w.lower()
        for i, w in enumerate(words)
    ]
    return " ".join(out)[:MAX_SEG]


@dataclass(slots=True)
class RequestFeatures:
    """What one request contributes to the account state and the campaign linker."""

    problem: float  # 0..1 resemblance to a problem-set item (generic cues)
    domain: str  # one of DOMAINS
    cot: bool  # asks for reasoning to be written out
    coercion: bool  # asks for hidden/internal reasoning to be revealed or restated
    answer_format: bool  # demands a checkable answer format
    multi_turn: bool  # carries prior assistant turns
    followup: bool  # a genuine continuation: prior assistant turn and a reference to it
    topic_jump: (
        bool  # a problem under a chat history whose previous user turn it shares no topic with
    )
    logprobs: bool  # token probabilities requested
    n: int  # samples requested
    max_tokens: int
    temperature: float | None
    wrapper_keys: tuple[str, ...]  # masked short first/last/label segments (template candidates)
    payload_key: int  # hash of the masked whole last user message (near-duplicate test)
    payload_raw: int  # the same unmasked: problems differing only in their numbers differ
    system_key: str | None  # masked system prompt (first 160 chars)
    subnet: str | None  # /24 for IPv4, /48 for IPv6
    user_agent: str
    length: int
    excerpt: str  # first 160 characters of the last user message (for reviewers)
    data: bool = False  # works on supplied text ("the following message..."): processing
    served_fp: int = 0  # fingerprint of the answer served to this request (0: not recorded)
    prior_fp: int = 0  # fingerprint of the assistant turn the request's history ends with

    @property
    def harvest(self) -> float:
        """0..1: how much this request looks like one item of a harvesting pipeline."""
        return 0.0 if self.followup else self.fresh_harvest

    @property
    def fresh_harvest(self) -> float:
        """`harvest` as if the request were not a follow-up (the account state decides
        that a templated "follow-up" is really a fresh item: see AccountState.update)."""
        h = self.problem
        if self.cot:
            h += 0.3
        if self.coercion:
            h += 0.8
        if self.answer_format:
            h += 0.1
        if self.logprobs or self.n > 1:
            h += 0.15
        return min(1.0, h)


def _last_user_and_context(ev: RequestEvent) -> tuple[str, str | None, str | None, str]:
    """Last user message, system prompt, the last assistant turn before the last user
    message (None if there is none), and the user message before it ("" if none)."""
    if ev.prompt is not None:
        return ev.prompt, None, None, ""
    last = prev = ""
    system: str | None = None
    assistant: str | None = None
    assistant_before_last: str | None = None
    for m in ev.messages:
        role = m.get("role")
        content = _content_text(m.get("content"))
        if role == "system" or role == "developer":
            if system is None:
                system = content
        elif role == "assistant":
            assistant = content
        elif role == "user":
            prev, last = last, content
            assistant_before_last = assistant
    return last, system, assistant_before_last, prev


def _fingerprint_int(h: str | None) -> int:
    """A 16-hex-digit fingerprint as an int (0 when absent or malformed)."""
    if h is None or len(h) != 16:
        return 0
    try:
        return int(h, 16)
    except ValueError:
        return 0


def _content_text(c: Any) -> str:
    if isinstance(c, str):
        return c
    if isinstance(c, list):
        return "\n".join(
            p["text"] for p in c if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def _num(v: Any, default: float) -> float:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, int | float):
        return float(v)
    return default


def subnet_of(ip: str | None) -> str | None:
    """/24 of an IPv4 address, /48 of an IPv6 address; None for anything unparsable."""
    if not ip:
        return None
    if "." in ip and ":" not in ip:
        parts = ip.split(".")
        if len(parts) == 4 and all(p.isdigit() for p in parts):
            return ".".join(parts[:3]) + ".0/24"
        return None
    if ":" in ip:
        groups = ip.split(":")
        return ":".join(groups[:3]).lower() + "::/48"
    return None


@dataclass(slots=True)
class _Scan:
    """The lower-cased window of a prompt with its word set and bigram set (built once)."""

    low: str
    words: set[bytes]
    bigrams: set[tuple[bytes, bytes]]
    first: bytes
    numbers: int  # tokens that start with a digit

    @classmethod
    def of(cls, text: str) -> _Scan:
        low = text.lower()
        toks = low.encode("utf-8", "ignore").translate(_PUNCT).split()
        joined = b" " + b" ".join(toks[:150])
        # "#" never survives _PUNCT, so " #" after digit masking marks a token starting with a digit
        nums = joined.translate(_DIGITS_B).count(b" #") if len(joined) > 1 else 0
        return cls(low, set(toks), set(itertools.pairwise(toks)), toks[0] if toks else b"", nums)


def _window(text: str) -> str:
    """Where wrappers live: the start and the end of a prompt (bounds the scan cost)."""
    if len(text) <= MAX_SCAN:
        return text
    return text[: MAX_SCAN - 400] + "\n" + text[-400:]


def problem_score(text: str, sc: _Scan | None = None) -> tuple[float, str]:
    """Resemblance to a problem-set item (0..1) and the domain, from generic cues only."""
    t = _window(text)
    sc = sc or _Scan.of(t)
    low, ws, bg = sc.low, sc.words, sc.bigrams
    score = 0.0
    math = bool(not (_MATH_BI_B.isdisjoint(bg) and _MATH_W_B.isdisjoint(ws)))
    code = not _CODE_W_B.isdisjoint(ws) or _CODE_SUB_RE.search(t) is not None
    digits = sc.numbers
    latex = "$" in t or ("\\" in t and ("\\(" in t or "\\[" in t or "\\frac" in t))
    arith = digits >= 2 and bool(_ARITH.search(t, 0, 600))
    question = "?" in t
    # every form of numbered choices below has a "b" or "c" marker: test that first (each
    # substring search scans the whole window, and most prompts have no choices)
    choices = ("b)" in low or "c)" in low or "\nb." in low or "\nc." in low or " b. " in low) and (
        sum(x in low for x in ("a)", "b)", "c)", "d)")) >= 3
        or sum(x in low for x in ("\na.", "\nb.", "\nc.", "\nd.")) >= 3
        or sum(x in low for x in ("a. ", " b. ", " c. ", " d. ")) >= 4
    )
    if math:
        score += 0.35
    if digits >= 2 and (question or math):
        score += 0.3
    elif digits >= 1 and math and question:
        score += 0.15
    if arith:
        score += 0.15
    if latex:
        score += 0.3
    if choices:
        score += 0.5
    if code:
        score += 0.25
        if "def " in t or ">>>" in t or "assert " in t or '"""' in t:
            score += 0.3
    if sc.first in _TASK_W_B:
        score += 0.25
    science = not _SCIENCE_W_B.isdisjoint(ws)
    if science and (choices or question):
        score += 0.2
    if len(t) < 25:
        score -= 0.3
    if not _DOC_BI_B.isdisjoint(bg) and len(t) > 200:
        score *= 0.4  # summarise/classify/extract over supplied text: data processing
    if code:
        domain = "code"
    elif math or latex or digits >= 3:
        domain = "math"
    elif science:
        domain = "science"
    elif not _WRITING_W_B.isdisjoint(ws):
        domain = "writing"
    else:
        domain = "chat"
    return max(0.0, min(1.0, score)), domain


def _coercion(low: str) -> bool:
    for noun in _COERCE_NOUNS:
        i = low.find(noun)
        hits = 0
        while i >= 0 and hits < 4:
            if _COERCE_PRE.search(low, max(0, i - 45), i):
                return True
            after = low[i + len(noun) : i + len(noun) + 8]
            if noun == "reasoning" and (after.startswith(" trace") or after.startswith(" token")):
                return True
            i = low.find(noun, i + 1)
            hits += 1
    if "imagine and articulate" in low:
        return True
    return not low.isascii() and any(c in low for c in _COERCE_CJK)


# function words too common to show two messages share a topic
_STOP_B = _b(
    {
        "that",
        "this",
        "with",
        "what",
        "have",
        "from",
        "your",
        "will",
        "there",
        "their",
        "which",
        "would",
        "about",
        "could",
        "when",
        "where",
        "they",
        "them",
        "then",
        "than",
        "into",
        "some",
        "does",
        "were",
        "been",
        "each",
        "more",
        "also",
        "only",
        "other",
        "these",
        "those",
        "just",
        "like",
        "make",
        "many",
        "much",
        "such",
        "very",
        "want",
        "need",
        "know",
        "please",
        "help",
        "following",
        "question",
        "answer",
        "problem",
        "here",
        "over",
        "thanks",
        "thank",
        "should",
        "think",
        "explain",
        "step",
    }
)


def _shares_topic(words: set[bytes], prev: str) -> bool:
    """Whether two user turns share at least two content words (4+ letters, not function
    words): a continuation or a related question does; an unrelated problem does not."""
    if not prev:
        return False
    pw = set(prev[:600].lower().encode("utf-8", "ignore").translate(_PUNCT).split())
    shared = 0
    for w in words & pw:
        if len(w) >= 4 and w not in _STOP_B and not w[:1].isdigit():
            shared += 1
            if shared >= 2:
                return True
    return False


# segment bounds: a newline, ". ", "? ", "! ", ": ", "。", "？"; the last one is found by
# searching the reversed tail (one regex scan each way instead of seven str.find calls)
_BOUND = re.compile(r"\n|[.?!:] |[。？]")
_BOUND_REV = re.compile(r"\n| [.?!:]|[。？]")


def _edge_segments(t: str) -> tuple[str | None, str | None]:
    """First and last segment of a prompt (line or sentence)."""
    head = t[: MAX_SEG + 2]
    m = _BOUND.search(head)
    first = head[: m.start() + 1].strip() if m is not None else None
    tail = t[-(MAX_SEG + 2) :].rstrip()
    m = _BOUND_REV.search(tail[::-1])
    last = tail[len(tail) - m.end() + 1 :].strip() if m is not None else None
    return first or None, last or None


def _wordy(key: str, need: int) -> bool:
    """At least `need` real words (3+ letters); docstring quotes or 'a) m b) m c) m' are
    payload structure, not a template."""
    n = 0
    for _ in _REAL_WORD.finditer(key, 0, 200):  # stop at `need`: most keys qualify early
        n += 1
        if n >= need:
            return True
    if not key.isascii():
        # scripts written without spaces (Chinese, Japanese) are one "word" per sentence to
        # the regex: count every three of their characters as a word
        n += len(_CJK.findall(key, 0, 200)) // 3
    return n >= need


def wrapper_keys(text: str) -> tuple[str, ...]:
    """Masked short segments at the start and the end of a multi-segment prompt."""
    t = text.strip()
    keys: list[str] = []
    m = _LABEL.match(t[:24])
    if m:
        label = mask(m.group(1))
        if _wordy(label, 1):
            keys.append("L:" + label)
        t = t[m.end() :].strip()
    first, last = _edge_segments(t)
    if first is not None and len(first) <= MAX_SEG and len(first) < len(t):
        k = mask(first)
        if _wordy(k, 2):
            keys.append("P:" + k)
    if last is not None and len(last) <= MAX_SEG and len(last) < len(t):
        k = mask(last)
        if _wordy(k, 2):
            keys.append("S:" + k)
    return tuple(keys)


def _ua_family(ua: str | None) -> str:
    if not ua:
        return "-"
    return ua.strip()[:120]


def extract(ev: RequestEvent) -> RequestFeatures:
    """All features of one request. Never raises on odd input (garbage gives weak features)."""
    text, system, prior_answer, prev_user = _last_user_and_context(ev)
    has_assistant = prior_answer is not None
    win = _window(text)
    sys_text = (system or "")[:1000]
    sc = _Scan.of(win + "\n" + sys_text if sys_text else win)
    problem, domain = problem_score(win, _Scan.of(win) if sys_text else sc)
    ws, bg = sc.words, sc.bigrams
    cot = not (_COT_BI_B.isdisjoint(bg) and _COT_W_B.isdisjoint(ws)) or (
        not sc.low.isascii() and any(c in sc.low for c in _COT_CJK)
    )
    coercion = _coercion(sc.low)
    answer_format = (
        not (_FORMAT_BI_B.isdisjoint(bg) and _FORMAT_W_B.isdisjoint(ws)) or "####" in win
    )
    followup = False
    if has_assistant:
        # a continuation talks about the answer; a fresh problem pasted into a chat
        # history (what an attacker imitating multi-turn does) is not one
        followup = (
            len(text) < 400 and problem < 0.5 and (not _REFER_W_B.isdisjoint(ws) or len(text) < 150)
        )
    # a fresh problem sent under a chat history it has nothing to do with: the history is
    # decoration (a pipeline faking a conversation), not context the question needs
    topic_jump = has_assistant and problem >= 0.5 and not _shares_topic(ws, prev_user)
    p = ev.params
    logprobs = bool(p.get("logprobs")) or _num(p.get("top_logprobs"), 0) > 0
    n = int(_num(p.get("n"), 1)) if isinstance(p.get("n"), int | float) else 1
    max_tokens = int(_num(p.get("max_tokens", p.get("max_completion_tokens")), 0))
    temp_v = p.get("temperature")
    temperature = float(temp_v) if isinstance(temp_v, int | float) else None
    sys_key = mask(sys_text[:MAX_SEG]) if system else None
    payload = win[:400].lower().encode("utf-8", "ignore")
    return RequestFeatures(
        problem=problem,
        domain=domain,
        cot=cot,
        coercion=coercion,
        answer_format=answer_format,
        multi_turn=has_assistant,
        followup=followup,
        topic_jump=topic_jump,
        logprobs=logprobs,
        n=max(1, n),
        max_tokens=max(0, max_tokens),
        temperature=temperature,
        wrapper_keys=wrapper_keys(text) + (("Y:" + sys_key,) if sys_key is not None else ()),
        payload_key=hash(payload.translate(_DIGITS_B)),
        payload_raw=hash(payload),
        system_key=sys_key,
        subnet=subnet_of(ev.ip),
        user_agent=_ua_family(ev.user_agent),
        length=len(text),
        excerpt=text[:160],
        data=len(win) > 200 and not _DOC_BI_B.isdisjoint(bg),
        served_fp=_fingerprint_int(ev.served_fingerprint),
        prior_fp=(
            _fingerprint_int(content_fingerprint(prior_answer))
            if prior_answer is not None and len(prior_answer) >= MIN_ANSWER_CHARS
            else 0
        ),
    )
