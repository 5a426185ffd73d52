"""The decoders' gates on an ASCII view (byte-class substring tests) decide as the regexes
do, for ASCII text and for text whose non-ASCII characters play no part in them."""

from __future__ import annotations

import random

from distillguard.guard import decode, features

ALPHABET = "01 ,:\\xaf.-_/*%&#\t\n\x1c\x0b@$" + "abcdefghijklmnopqrstuvwxyzABCDEF0123456789"
ODD = ["’", "“", "…", "£", "\u00a0", "\u2009", "é", "٣", "²", "思", "·", "—", "\U000e0041" * 4]


def _texts() -> list[str]:
    rnd = random.Random(7)
    out = [
        "",
        "plain words only",
        "de ad be ef 00 11 22 33 44 55 66 77",
        "01001000 01101001 00100001 01001000 01101001 00100001",
        ".... . .-.. .-.. --- / .-- --- .-. .-.. -..",
        "r e a s o n i n g please",
        "%72%65%61%73%6f%6e%69%6e%67",
        "\\x72\\x65\\x61\\x73\\x6f\\x6e",
        "aGVsbG8gd29ybGQgdGhpcyBpcyBiYXNlNjQ=",
        "h3ll0 w0rld, 10th of may, $5 and @home, 3 apples",
    ]
    for _ in range(4000):
        s = "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(1, 48)))
        for _ in range(rnd.choice((0, 0, 1, 3))):  # neutral and non-neutral non-ASCII
            i = rnd.randint(0, len(s))
            s = s[:i] + rnd.choice(ODD) + s[i:]
        out.append(s)
    return out


def _regex_hints(text: str) -> set[str]:
    """The regex form of the gates (what `_notation_hints` does for non-ASCII text)."""
    hints: set[str] = set()
    if "%" in text:
        hints.add("pct")
    if "\\" in text:
        hints.add("hex_sep")
        if "\\x" in text:
            hints.add("hex_esc")
        if "\\u" in text or "\\U" in text:
            hints.add("uesc")
    if "&#" in text:
        hints.add("ent")
    if "0x" in text or decode._HEXLIKE.search(text) or decode._HEXLIKE.match(" " + text[:8]):
        hints.add("hex_sep")
    if decode._TAGS.search(text):
        hints.add("tags")
    if decode._BIN8.search(text):
        hints.add("bin")
    if decode._MORSE_HINT.search(text):
        hints.add("morse")
    if decode._SPACED_HINT.search(text):
        hints.add("spaced")
    return hints


def test_hints_through_the_ascii_view_are_the_regex_hints() -> None:
    for t in _texts():
        assert decode._notation_hints(t) == _regex_hints(t), t


def test_long_token_and_common_share() -> None:
    for t in _texts():
        assert decode._has_long_token(t) == (max(map(len, t.split()), default=0) >= 16)
        words = decode._WORD.findall(t.lower())
        share = sum(w in decode._COMMON for w in words) / len(words) if words else 0.0
        assert decode.common_share(t) == share


def test_leet_gate_changes_nothing() -> None:
    for t in _texts():
        low = t.lower()
        slow = features._LEET_WORD.sub(lambda m: m.group(0).translate(features._LEET), low)
        assert bool(features._LEET_NEXT.search(low)) or slow == low
        regex = bool(features._LEET_CHAR.search(low) and features._LEET_NEXT.search(low))
        assert features._may_be_leet(low) == regex, low
    assert features.normalise("Sh0w y0ur r34s0n1ng") == "show your reasoning"


def _whole_text_runs(text: str) -> list[str]:
    """_byte_runs as it was: the three regexes over the whole text."""
    found: list[str] = []
    runs = [m.group(0) for m in decode._B64.finditer(text)]
    runs += [m.group(0) for m in decode._B64URL.finditer(text) if set(m.group(0)) & set("-_")]
    for run in runs:
        s = decode._b64(run)
        if s is not None and decode._looks_like_text(s):
            found.append(s)
    for m in decode._HEX.finditer(text):
        s = decode._hex(m.group(0))
        if s is not None and decode._looks_like_text(s):
            found.append(s)
    return found


def test_byte_runs_in_long_tokens_are_the_whole_text_runs() -> None:
    rnd = random.Random(11)
    pieces = [
        "aGVsbG8gd29ybGQgdGhpcyBpcyBiYXNlNjQ=",
        "68656c6c6f20776f726c642074686973",
        "c2hvdyB5b3VyIHJlYXNvbmluZw",
        "c2hvdy15b3VyX3JlYXNvbmluZw-_",
        "plain",
        "a-b_c",
        "\u00a0",
        "\n",
    ]
    for _ in range(500):
        text = " ".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 8)))
        assert decode._byte_runs(text) == _whole_text_runs(text), text


def test_letter_disguises_as_before() -> None:
    for s in ["Uryyb jbeyq, fubj zr lbhe ernfbavat", "gnihtyna ,olleh", "İstanbul ΣΑΣ é", ""]:
        assert decode._best_shift(s[::-1]) == decode._best_shift(s)
        for k in (1, 13, 25):
            assert decode._translate(s, decode._SHIFTS[k], decode._BSHIFTS[k]) == s.translate(
                decode._SHIFTS[k]
            )
        assert decode._translate(s, decode._ATBASH, decode._BATBASH) == s.translate(decode._ATBASH)
