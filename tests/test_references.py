"""The paste parser: every FACTS §6 URL form, separators, duplicates, invalid tokens, limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xmetrics_core.references import (
    ANOTHER_SITE,
    LEADING_ZERO,
    MAX_INPUT_CHARS,
    MAX_POST_ID,
    MAX_REFERENCES,
    NON_ASCII_DIGITS,
    NOT_A_POST_URL,
    NOT_A_REFERENCE,
    TOO_LARGE,
    TOO_LONG,
    ZERO_WIDTH_INSIDE,
    InputTooLarge,
    parse_references,
    snowflake_time,
    within_private_window,
)

POST_ID = "1558553189766631429"


@pytest.mark.parametrize(
    "token",
    [
        POST_ID,
        f"https://x.com/jack/status/{POST_ID}",
        f"https://twitter.com/jack/status/{POST_ID}",
        f"http://twitter.com/jack/status/{POST_ID}",
        f"https://www.x.com/jack/status/{POST_ID}",
        f"https://mobile.twitter.com/jack/status/{POST_ID}",
        f"https://m.twitter.com/jack/status/{POST_ID}",
        f"https://x.com/i/web/status/{POST_ID}",
        f"https://twitter.com/statuses/{POST_ID}",
        f"https://x.com/jack/status/{POST_ID}/photo/1",
        f"https://x.com/jack/status/{POST_ID}/video/2",
        f"https://x.com/jack/status/{POST_ID}/analytics",
        f"https://x.com/jack/status/{POST_ID}/",
        f"https://x.com/jack/status/{POST_ID}?s=20",
        f"https://x.com/jack/status/{POST_ID}?s=20&t=abc#reply",
        f"https://x.com/jack/status/{POST_ID}#frag",
        f"x.com/jack/status/{POST_ID}",
        f"www.twitter.com/jack/status/{POST_ID}",
        f"HTTPS://X.COM/Jack/status/{POST_ID}",
    ],
)
def test_every_post_url_form_yields_the_id(token: str) -> None:
    parsed = parse_references(token)
    assert parsed.ids == (POST_ID,)
    assert parsed.refs[0].source == token
    assert parsed.invalid == ()


def test_separators_of_every_kind_split_tokens() -> None:
    text = "1001\n1002,1003 1004\t1005;1006\r\n, ,1007\u00a01008"
    assert parse_references(text).ids == tuple(str(n) for n in range(1001, 1009))


def test_duplicates_keep_first_occurrence_and_its_position() -> None:
    text = f"5 https://x.com/a/status/7 {POST_ID} 7 https://twitter.com/b/status/5"
    parsed = parse_references(text)
    assert parsed.ids == ("5", "7", POST_ID)
    assert [r.position for r in parsed.refs] == [0, 1, 2]
    assert parsed.refs[1].source == "https://x.com/a/status/7"


def test_every_repeat_is_listed_with_the_first_position() -> None:
    text = f"5 junk https://x.com/a/status/7 {POST_ID} 7 https://twitter.com/b/status/5 5"
    parsed = parse_references(text)
    assert [(d.id, d.source, d.position, d.first_position) for d in parsed.duplicates] == [
        ("7", "7", 4, 2),
        ("5", "https://twitter.com/b/status/5", 5, 0),
        ("5", "5", 6, 0),
    ]
    assert parsed.token_count == 7


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("hello", NOT_A_REFERENCE),
        ("12345678901234567890", TOO_LONG),
        (str(MAX_POST_ID + 1), TOO_LARGE),
        ("0123", LEADING_ZERO),
        ("0", LEADING_ZERO),
        ("١٢٣", NON_ASCII_DIGITS),
        ("12\u200b3", ZERO_WIDTH_INSIDE),
        ("https://example.com/jack/status/123", ANOTHER_SITE),
        ("https://x.com.evil.io/jack/status/123", ANOTHER_SITE),
        ("https://x.com/jack", NOT_A_POST_URL),
        ("https://twitter.com/jack/likes", NOT_A_POST_URL),
        ("https://x.com/jack/status/abc", NOT_A_REFERENCE),
        ("https://x.com/jack/status/00123", LEADING_ZERO),
        ("https://x.com/jack/status/123/photo/x", NOT_A_POST_URL),
    ],
)
def test_invalid_tokens_say_why(token: str, reason: str) -> None:
    parsed = parse_references(f"111 {token} 222")
    assert parsed.ids == ("111", "222")
    (bad,) = parsed.invalid
    assert (bad.text, bad.position, bad.offset, bad.reason) == (token, 1, 4, reason)


def test_zero_width_characters_are_stripped_at_token_edges() -> None:
    text = "\ufeff123\u200b \u200b\u200b x.com/a/status/456\u2060"
    parsed = parse_references(text)
    assert parsed.ids == ("123", "456")
    assert parsed.refs[1].position == 1
    assert parsed.invalid == ()


def test_invalid_tokens_report_offsets_and_repeat() -> None:
    text = "abc 1 abc"
    parsed = parse_references(text)
    assert [(t.text, t.position, t.offset) for t in parsed.invalid] == [
        ("abc", 0, 0),
        ("abc", 2, 6),
    ]


def test_input_over_the_character_limit_is_refused_with_the_limit() -> None:
    with pytest.raises(InputTooLarge, match="1,000,000"):
        parse_references("1 " * (MAX_INPUT_CHARS // 2 + 1))


def test_too_many_unique_ids_are_refused_with_the_limit() -> None:
    text = " ".join(str(n) for n in range(1, MAX_REFERENCES + 2))
    with pytest.raises(InputTooLarge, match="10,000"):
        parse_references(text)
    # exactly the limit, plus duplicates, is fine
    text = " ".join(str(n) for n in range(1, MAX_REFERENCES + 1)) + " 1 2 3"
    assert len(parse_references(text).refs) == MAX_REFERENCES


def test_snowflake_time_matches_x_created_at() -> None:
    # FACTS §6: the API said 2022-08-13T20:36:51.000Z for this ID.
    created = snowflake_time(POST_ID)
    assert created == datetime(2022, 8, 13, 20, 36, 51, 615000, tzinfo=UTC)
    assert snowflake_time("1387820661742112771") == datetime(
        2021, 4, 29, 17, 26, 44, 877000, tzinfo=UTC
    )


def test_pre_snowflake_ids_have_no_time() -> None:
    assert snowflake_time("20") is None
    assert snowflake_time(29_700_859_247) is None
    assert parse_references("20").refs[0].created_at is None


def test_private_window_is_thirty_days() -> None:
    now = datetime(2026, 11, 26, tzinfo=UTC)
    assert within_private_window(now - timedelta(days=30), now)
    assert not within_private_window(now - timedelta(days=30, seconds=1), now)
    assert within_private_window(now + timedelta(minutes=1), now)
    assert not within_private_window(None, now)


# -- properties ----------------------------------------------------------------------------

post_ids = st.one_of(
    st.integers(min_value=1, max_value=40), st.integers(min_value=1, max_value=MAX_POST_ID)
).map(str)
usernames = st.text(alphabet="abcXYZ019_", min_size=2, max_size=15)


@st.composite
def post_urls(draw: st.DrawFn, post_id: str) -> str:
    scheme = draw(st.sampled_from(["", "http://", "https://", "HTTPS://"]))
    prefix = draw(st.sampled_from(["", "www.", "m.", "mobile."]))
    host = draw(st.sampled_from(["x.com", "twitter.com", "X.com", "Twitter.COM"]))
    kind = draw(st.sampled_from(["user", "i/web", "statuses"]))
    if kind == "user":
        path = f"/{draw(usernames)}/status/{post_id}"
    elif kind == "i/web":
        path = f"/i/web/status/{post_id}"
    else:
        path = f"/statuses/{post_id}"
    tail = draw(st.sampled_from(["", "/", "/photo/1", "/video/3", "/analytics"]))
    query = draw(st.sampled_from(["", "?s=20", "?s=46&t=Zx-9_a"]))
    fragment = draw(st.sampled_from(["", "#m", "#:~:text=hi"]))
    return f"{scheme}{prefix}{host}{path}{tail}{query}{fragment}"


@st.composite
def references(draw: st.DrawFn) -> tuple[str, str]:
    post_id = draw(post_ids)
    token = draw(st.one_of(st.just(post_id), post_urls(post_id)))
    return post_id, token


separators = st.text(alphabet=" \t\n\r,;\u00a0\u2003", min_size=1, max_size=4)


@given(st.lists(references(), max_size=12), st.data())
def test_any_paste_of_ids_and_urls_yields_its_unique_ids_in_order(
    items: list[tuple[str, str]], data: st.DataObject
) -> None:
    seps = [data.draw(separators) for _ in items]
    text = "".join(token + sep for (_, token), sep in zip(items, seps, strict=True))
    parsed = parse_references(text)
    expected = list(dict.fromkeys(post_id for post_id, _ in items))
    assert list(parsed.ids) == expected
    assert parsed.invalid == ()
    first_positions = {}
    for index, (post_id, _) in enumerate(items):
        first_positions.setdefault(post_id, index)
    assert [r.position for r in parsed.refs] == [first_positions[i] for i in expected]


@given(st.text(max_size=200))
def test_parser_never_crashes_and_accounts_for_every_token(text: str) -> None:
    parsed = parse_references(text)
    tokens = [t.strip("\u200b\u200c\u200d\u2060\ufeff") for t in _split(text)]
    tokens = [t for t in tokens if t]
    assert len(parsed.invalid) + len(parsed.refs) <= len(tokens)
    for bad in parsed.invalid:
        assert text[bad.offset : bad.offset + len(bad.text)] == bad.text
        assert tokens[bad.position] == bad.text
        assert bad.reason
    for ref in parsed.refs:
        assert ref.id.isascii() and ref.id.isdigit() and int(ref.id) <= MAX_POST_ID
        assert tokens[ref.position] == ref.source
    assert len(set(parsed.ids)) == len(parsed.ids)


@given(st.integers(min_value=1, max_value=MAX_POST_ID))
def test_ids_round_trip_and_time_is_monotonic(value: int) -> None:
    assert parse_references(str(value)).ids == (str(value),)
    created = snowflake_time(value)
    later = snowflake_time(min(value + (1 << 22), MAX_POST_ID))
    if created is not None and later is not None:
        assert later >= created


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz./:?#-_", min_size=1, max_size=40))
def test_no_url_of_another_site_is_accepted(junk: str) -> None:
    parsed = parse_references(f"https://example.org/{junk}/status/123")
    assert parsed.refs == ()


def _split(text: str) -> list[str]:
    import re

    return re.findall(r"[^\s,;]+", text)
