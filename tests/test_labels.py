"""Stranger text made safe for Markdown and plotly, and Posts labelled as people know them."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from xmetrics_core.labels import (
    WORD_JOINER,
    escape_markdown,
    plotly_text,
    post_label,
    post_url,
    short_text,
)


def test_every_ascii_punctuation_character_is_escaped_for_markdown():
    escaped = escape_markdown(string.punctuation).replace(WORD_JOINER, "")
    assert escaped == "".join(f"\\{ch}" for ch in string.punctuation)


def test_a_markdown_link_and_image_stay_text():
    escaped = escape_markdown("[Click](https://evil.example) ![t](http://192.0.2.1/t.png)")
    assert "](" not in escaped.replace("\\]\\(", "")
    assert escaped.replace(WORD_JOINER, "").startswith(
        "\\[Click\\]\\(https\\:\\/\\/evil\\.example\\)"
    )


def test_urls_and_addresses_cannot_be_autolinked():
    """GFM finds https://…, www.… and a@b.c in the text after escapes are resolved: a word
    joiner (invisible) breaks each pattern."""
    for text in ("see https://evil.example/x", "www.evil.example", "mail me@evil.example"):
        shown = re.sub(r"\\(.)", r"\1", escape_markdown(text))  # what the text node holds
        assert shown.replace(WORD_JOINER, "") == text
        assert not re.search(r"https?://|www\.|\w@\w", shown), shown


def test_letters_digits_and_non_ascii_are_untouched():
    assert escape_markdown("Café 42 ✨ ünïcode") == "Café 42 ✨ ünïcode"


def test_a_handle_reads_as_it_is():
    assert escape_markdown("Connected as @demo") == "Connected as \\@demo"


def test_line_breaks_survive_markdown():
    assert escape_markdown("one\ntwo") == "one  \ntwo"


def test_plotly_labels_cannot_form_tags():
    assert plotly_text('<a href="https://evil">x</a> & <br>') == (
        '&lt;a href="https://evil"&gt;x&lt;/a&gt; &amp; &lt;br&gt;'
    )


def test_short_text_flattens_whitespace_and_cuts_with_an_ellipsis():
    assert short_text("a  b\n\tc") == "a b c"
    assert short_text("x" * 60, limit=10) == "x" * 9 + "…"


def test_post_label_is_the_date_in_the_chosen_zone_and_the_start_of_the_text():
    created = datetime(2026, 3, 3, 23, 30, tzinfo=UTC)
    assert post_label("Hello  world", created, post_id="1", tz=UTC) == "3 Mar 2026 · Hello world"
    tokyo = post_label("Hello", created, post_id="1", tz=ZoneInfo("Asia/Tokyo"))
    assert tokyo == "4 Mar 2026 · Hello"


def test_post_label_without_text_or_date_falls_back_to_the_id():
    assert post_label("", None, post_id="186", tz=UTC) == "Post 186"


def test_post_url_points_at_x():
    assert post_url("186") == "https://x.com/i/web/status/186"
