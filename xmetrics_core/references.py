"""Turn pasted text into Post IDs: bare IDs and every X/Twitter Post URL form.

Rules (decided here, relied on by the paste box, the CLI and the tests):

* **Tokens.** The text is split on any whitespace (Unicode ``str.isspace``) and on
  commas and semicolons. Zero-width characters (U+200B/C/D, U+2060, U+FEFF) are
  stripped from the *edges* of a token only (they ride along when copying from web
  pages); one inside a token makes the token invalid. A token that is nothing but
  zero-width characters is not a token.
* **Bare IDs.** ASCII digits only (``str.isascii()``: Arabic-Indic and other Unicode
  digits are invalid), 1–19 digits, at most 2^63−1, no leading zero and not ``0``
  (X never mints such IDs, and ``0123`` is more likely a typo than a Post).
* **URLs.** FACTS §6: ``x.com`` or ``twitter.com`` with an optional ``www.``, ``m.`` or
  ``mobile.`` prefix, scheme optional (``http``/``https``), paths ``/<user>/status/<id>``,
  ``/i/web/status/<id>`` and ``/statuses/<id>``, optionally followed by ``/photo/N``,
  ``/video/N`` or ``/analytics``, a trailing ``/``, a query string and a fragment.
  Host and scheme are case-insensitive. The ID inside obeys the bare-ID rules.
* **Duplicates** are removed keeping the first occurrence (and listed in
  ``ParsedReferences.duplicates`` with the first one's position, so every token can still
  get a status); ``position`` is the token's index among all tokens (duplicates and
  invalid tokens included).
* **Limits.** Past :data:`MAX_INPUT_CHARS` characters or :data:`MAX_REFERENCES` unique
  IDs, :class:`~xmetrics_core.errors.InputTooLarge` (an ``InputError``) is raised.
* **Creation time.** :func:`snowflake_time` reads it from the ID (FACTS §6); IDs at or
  below :data:`LAST_SEQUENTIAL_ID` predate snowflakes and have no readable time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from xmetrics_core.catalogue import PRIVATE_METRICS_WINDOW_DAYS
from xmetrics_core.errors import InputTooLarge
from xmetrics_core.models import DuplicateRef, InvalidToken, PostRef

__all__ = [
    "MAX_INPUT_CHARS",
    "MAX_REFERENCES",
    "InputTooLarge",
    "ParsedReferences",
    "classify_token",
    "id_problem",
    "parse_references",
    "references_from",
    "snowflake_time",
    "within_private_window",
]

MAX_INPUT_CHARS = 1_000_000
"""Longest pasted text accepted, in characters."""
MAX_REFERENCES = 10_000
"""Most unique Post IDs accepted in one paste."""

MAX_POST_ID = 2**63 - 1
TWITTER_EPOCH_MS = 1288834974657
"""Snowflake epoch: 2010-11-04T01:42:54.657Z."""
LAST_SEQUENTIAL_ID = 29_999_999_999
"""Pre-snowflake IDs were sequential and stayed below 3·10^10 (Nov 2010); their top bits
are not a timestamp."""

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"

NOT_A_REFERENCE = "not a Post ID or X/Twitter Post URL"
ANOTHER_SITE = "URL of another site"
NOT_A_POST_URL = "X/Twitter URL that is not a Post"
TOO_LONG = "number too long for a Post ID"
TOO_LARGE = "number too large for a Post ID"
LEADING_ZERO = "Post IDs do not start with 0"
NON_ASCII_DIGITS = "digits must be 0-9 (ASCII)"
ZERO_WIDTH_INSIDE = "contains an invisible (zero-width) character"

_SEPARATORS = re.compile(r"[^\s,;]+")
_X_HOST = re.compile(r"(?:(?:www|m|mobile)\.)?(?:twitter|x)\.com", re.IGNORECASE)
_X_URL = re.compile(
    r"""
    (?:https?://)?
    (?:(?:www|m|mobile)\.)?(?:twitter|x)\.com
    /(?:(?:i/web|[^/?\#\s]+)/status|statuses)
    /(?P<id>[^/?\#]+)
    (?:/(?:photo|video)/[0-9]+|/analytics)?
    /?
    (?:\?[^\#]*)?
    (?:\#.*)?
    """,
    re.IGNORECASE | re.VERBOSE,
)
_URLISH = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)|^[^/\s]+\.[a-z]{2,}(?:[/:?#]|$)", re.I)


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedReferences:
    """What :func:`parse_references` found: unique valid refs, every invalid token and every
    repeat of an earlier ref."""

    refs: tuple[PostRef, ...]
    invalid: tuple[InvalidToken, ...]
    duplicates: tuple[DuplicateRef, ...] = ()

    @property
    def token_count(self) -> int:
        """Every token of the paste: unique refs, repeats and invalid tokens."""
        return len(self.refs) + len(self.duplicates) + len(self.invalid)

    @property
    def ids(self) -> tuple[str, ...]:
        """The unique Post IDs, in input order."""
        return tuple(ref.id for ref in self.refs)


def snowflake_time(post_id: int | str) -> datetime | None:
    """The creation time encoded in a snowflake ID (UTC, ms precision), None if pre-snowflake."""
    value = int(post_id)
    if value <= LAST_SEQUENTIAL_ID or value > MAX_POST_ID:
        return None
    millis = (value >> 22) + TWITTER_EPOCH_MS
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def private_window_start(now: datetime) -> datetime:
    """The oldest creation time whose Post can still have private metrics at ``now``."""
    return now - timedelta(days=PRIVATE_METRICS_WINDOW_DAYS)


def within_private_window(created_at: datetime | None, now: datetime) -> bool:
    """True when a Post created at ``created_at`` can still have private metrics at ``now``.

    Unknown creation times (pre-snowflake IDs) are treated as outside the window.
    """
    if created_at is None:
        return False
    return created_at >= private_window_start(now)


def id_problem(candidate: str) -> str | None:
    """Why ``candidate`` is not a valid bare Post ID, or None when it is one."""
    if not candidate:
        return NOT_A_REFERENCE
    if not candidate.isascii():
        if all(ch.isdigit() for ch in candidate):
            return NON_ASCII_DIGITS
        if any(ch in ZERO_WIDTH for ch in candidate):
            return ZERO_WIDTH_INSIDE
        return NOT_A_REFERENCE
    if not candidate.isdigit():
        return NOT_A_REFERENCE
    if len(candidate) > 19:
        return TOO_LONG
    if candidate[0] == "0":
        return LEADING_ZERO
    if int(candidate) > MAX_POST_ID:
        return TOO_LARGE
    return None


def classify_token(token: str) -> tuple[str | None, str | None]:
    """``(post_id, None)`` for a valid token, ``(None, reason)`` otherwise."""
    if (token.isascii() and token.isdigit()) or not _looks_like_url(token):
        problem = id_problem(token)
        return (token, None) if problem is None else (None, problem)
    match = _X_URL.fullmatch(token)
    if match is not None:
        post_id = match.group("id")
        problem = id_problem(post_id)
        return (post_id, None) if problem is None else (None, problem)
    if any(ch in ZERO_WIDTH for ch in token):
        return None, ZERO_WIDTH_INSIDE
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", token, flags=re.I).split("/", 1)[0]
    host = host.split("?", 1)[0].split("#", 1)[0].split(":", 1)[0]
    if _X_HOST.fullmatch(host):
        return None, NOT_A_POST_URL
    return None, ANOTHER_SITE


def parse_references(text: str) -> ParsedReferences:
    """Split pasted text into unique Post references and invalid tokens (see module doc).

    Raises :class:`InputTooLarge` past :data:`MAX_INPUT_CHARS` characters or
    :data:`MAX_REFERENCES` unique IDs.
    """
    if len(text) > MAX_INPUT_CHARS:
        raise InputTooLarge(
            f"the pasted text has {len(text):,} characters; the limit is {MAX_INPUT_CHARS:,}"
        )
    refs: dict[str, PostRef] = {}
    invalid: list[InvalidToken] = []
    duplicates: list[DuplicateRef] = []
    position = 0
    for match in _SEPARATORS.finditer(text):
        raw = match.group()
        token = raw.strip(ZERO_WIDTH)
        if not token:
            continue
        offset = match.start() + (len(raw) - len(raw.lstrip(ZERO_WIDTH)))
        post_id, reason = classify_token(token)
        if post_id is None:
            invalid.append(
                InvalidToken(
                    text=token, position=position, offset=offset, reason=reason or NOT_A_REFERENCE
                )
            )
        elif post_id in refs:
            duplicates.append(
                DuplicateRef(
                    id=post_id,
                    source=token,
                    position=position,
                    first_position=refs[post_id].position,
                )
            )
        else:
            if len(refs) >= MAX_REFERENCES:
                raise InputTooLarge(
                    f"the paste has more than {MAX_REFERENCES:,} unique Post IDs; "
                    f"the limit is {MAX_REFERENCES:,}"
                )
            refs[post_id] = PostRef(
                id=post_id, source=token, position=position, created_at=snowflake_time(post_id)
            )
        position += 1
    return ParsedReferences(
        refs=tuple(refs.values()), invalid=tuple(invalid), duplicates=tuple(duplicates)
    )


def references_from(items: ParsedReferences | Iterable[PostRef | str]) -> ParsedReferences:
    """What :func:`parse_references` gives, for IDs or URLs given one by one (or refs).

    Each string is one token (never split); duplicates keep the first occurrence; a token
    that is not a Post ID or URL is an :class:`InvalidToken` (offset -1: no pasted text).
    """
    if isinstance(items, ParsedReferences):
        return items
    refs: dict[str, PostRef] = {}
    invalid: list[InvalidToken] = []
    for position, item in enumerate(items):
        if isinstance(item, PostRef):
            refs.setdefault(item.id, item)
            continue
        token = str(item).strip()
        post_id, reason = classify_token(token)
        if post_id is None:
            invalid.append(
                InvalidToken(
                    text=token, position=position, offset=-1, reason=reason or NOT_A_REFERENCE
                )
            )
        elif post_id not in refs:
            refs[post_id] = PostRef(
                id=post_id, source=token, position=position, created_at=snowflake_time(post_id)
            )
    return ParsedReferences(refs=tuple(refs.values()), invalid=tuple(invalid))


def _looks_like_url(token: str) -> bool:
    return bool(_URLISH.search(token)) or "/" in token
