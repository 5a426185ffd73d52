"""Split text into visible answer and inline reasoning (`<think>...</think>` and kin).

One small state machine serves both whole replies and streams: it keeps a nesting depth
(an opening tag inside a block deepens it, so a "nested-looking" block is removed whole
and never leaks its tail) and holds back only a trailing fragment that could still turn
into a tag (`"<th"` at the end of one chunk, `"ink>"` at the start of the next), never more
than one tag's length. An unclosed block hides everything after it: failing closed is
right for reasoning. Whole-text mode adds two repairs a stream cannot make: a closing tag
with no opening tag before it means the opening tag lived in the prompt template (R1
style) so everything before it is reasoning, and a block left unbalanced by a stray inner
opening tag ends at the last closing tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_MAX_TAG = 120  # longest tag we recognise, attributes included


def _tag_regex(tags: tuple[str, ...]) -> re.Pattern[str]:
    names = "|".join(sorted((re.escape(t) for t in tags), key=len, reverse=True))
    return re.compile(rf"<\s*(/)?\s*({names})(?![A-Za-z0-9_\-])[^<>]{{0,{_MAX_TAG}}}>", re.I)


@dataclass
class TagSplitter:
    """Streaming splitter: `feed(text) -> (visible, reasoning)`, then `finish()`."""

    tags: tuple[str, ...]
    implicit_open: bool = False
    depth: int = 0
    pending: str = ""
    blocks: int = 0
    _re: re.Pattern[str] = field(init=False, repr=False)
    _names: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._re = _tag_regex(self.tags) if self.tags else re.compile(r"(?!x)x")
        self._names = tuple(t.lower() for t in self.tags)
        if self.implicit_open:
            self.depth = 1
            self.blocks = 1

    def _could_be_tag(self, s: str) -> bool:
        """Whether `s` (starting with '<', no '>') may still become one of our tags."""
        if len(s) > _MAX_TAG + 40 or ">" in s:
            return False
        rest = s[1:].lstrip()
        if rest.startswith("/"):
            rest = rest[1:].lstrip()
        low = rest.lower()
        if not low:
            return True
        for name in self._names:
            if name.startswith(low):
                return True
            if low.startswith(name):
                nxt = low[len(name) : len(name) + 1]
                if nxt == "" or not (nxt.isalnum() or nxt in "_-"):
                    return "<" not in low
        return False

    def feed(self, text: str) -> tuple[str, str]:
        if not self.tags or (not self.pending and "<" not in text):  # fast path: no tag here
            return (text, "") if self.depth == 0 else ("", text)
        buf = self.pending + text
        self.pending = ""
        vis: list[str] = []
        rea: list[str] = []
        pos = 0
        n = len(buf)
        while pos < n:
            lt = buf.find("<", pos)
            if lt < 0:
                (vis if self.depth == 0 else rea).append(buf[pos:])
                break
            if lt > pos:
                (vis if self.depth == 0 else rea).append(buf[pos:lt])
            m = self._re.match(buf, lt)
            if m:
                if m.group(1):  # closing tag
                    self.depth = max(0, self.depth - 1)
                else:
                    if self.depth == 0:
                        self.blocks += 1
                    self.depth += 1
                pos = m.end()
                continue
            if self._could_be_tag(buf[lt:]):
                self.pending = buf[lt:]
                break
            (vis if self.depth == 0 else rea).append("<")
            pos = lt + 1
        return "".join(vis), "".join(rea)

    def finish(self) -> tuple[str, str]:
        """Flush a held-back fragment that never became a tag."""
        rest, self.pending = self.pending, ""
        return (rest, "") if self.depth == 0 else ("", rest)


def split_text(text: str, tags: tuple[str, ...], implicit_open: bool = False) -> tuple[str, str]:
    """Whole reply -> (visible, reasoning), with the repairs only whole text allows."""
    if not tags or "<" not in text:
        return ("", text) if implicit_open else (text, "")
    rx = _tag_regex(tags)
    vis: list[str] = []
    rea: list[str] = []
    depth = 1 if implicit_open else 0
    pos = 0
    block = (0, 0, 0)  # start of the current outermost block, len(vis), len(rea) there
    nested: tuple[int, int, int] | None = None  # that of the first block with a nested tag
    last_close = -1
    for m in rx.finditer(text):
        (rea if depth else vis).append(text[pos : m.start()])
        if m.group(1):  # closing tag
            if depth:
                depth -= 1
            else:  # stray close: its opening tag was in the template (R1) or lost
                rea.extend(vis)
                vis = []
            last_close = m.end()
        else:
            if depth == 0:
                block = (m.start(), len(vis), len(rea))
            elif nested is None:
                nested = block
            depth += 1
        pos = m.end()
    (rea if depth else vis).append(text[pos:])
    if depth and nested is not None and last_close > nested[0]:
        # Unbalanced by a stray opening tag inside a block: end that block at the last
        # closing tag; what follows is visible unless it opens yet another block. (A last
        # block that is merely unclosed hides its own tail, nothing before it.)
        start, n_vis, n_rea = nested
        tv, tr = split_text(text[last_close:], tags)
        vis = [*vis[:n_vis], tv]
        rea = [*rea[:n_rea], rx.sub("", text[start:last_close]), tr]
    return "".join(vis), "".join(rea)
