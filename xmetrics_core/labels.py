"""Words people recognise, made safe for where they are shown.

Text from a URL, an API body or a Post is written by strangers. Streamlit renders alerts,
captions and widget labels as Markdown, and plotly renders chart labels as a small subset of
HTML (``<a href>``, ``<b>``, ``<br>`` …), so stranger text is escaped for each before it is
shown there; tables and ``st.text`` show it as it is.

* :func:`escape_markdown`: every ASCII punctuation character backslash-escaped (CommonMark
  allows that for all of them), so no link, image, emphasis, HTML tag, LaTeX or Streamlit
  directive can form; and an invisible WORD JOINER (U+2060) before the ``:`` of an
  ``http``, ``https``, ``mailto`` or ``xmpp`` scheme, the ``.`` after ``www`` and an ``@``
  after a name, because Streamlit's GFM "autolink literal" finds ``https://…``, ``www.…``
  and e-mail addresses in the text *after* the escapes are resolved. The text reads the
  same.
* :func:`plotly_text`: ``& < >`` as entities, so a label never becomes markup.
* :func:`post_label`: a Post as a person knows it (its date and the start of its text).
* :func:`post_url`: the Post on x.com (works without knowing the author's handle).
"""

from __future__ import annotations

import html
import re
import string
from datetime import datetime, tzinfo
from typing import Final

_MARKDOWN_SPECIAL: Final = re.compile("([" + re.escape(string.punctuation) + "])")
_AUTOLINK_TRIGGER: Final = re.compile(
    r"(?i)(?:(?<=http)|(?<=https)|(?<=mailto)|(?<=xmpp))(?=:)|(?<=www)(?=\.)|(?<=[\w.+-])(?=@)"
)
WORD_JOINER: Final = "\u2060"
POST_LABEL_CHARS: Final = 48
"""How much of a Post's text a chart label shows (the table has all of it)."""
X_POST_URL: Final = "https://x.com/i/web/status/{id}"  # frames.X_POST_URL_PREFIX + id


def escape_markdown(text: str) -> str:
    """``text`` as Markdown that shows it literally: ``[a](https://b)`` stays that text on
    screen, with no link (see the module docstring); line breaks are kept."""
    unlinked = _AUTOLINK_TRIGGER.sub(WORD_JOINER, text)
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", unlinked)
    return escaped.replace("\n", "  \n")


def plotly_text(text: str) -> str:
    """``text`` safe inside a plotly label, title or hover text (no tag can form)."""
    return html.escape(text, quote=False)


def short_text(text: str, *, limit: int = POST_LABEL_CHARS) -> str:
    """The text on one line (runs of whitespace become one space), cut at ``limit``
    characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else f"{flat[: limit - 1].rstrip()}…"


def post_label(
    text: str | None,
    created_at: datetime | None,
    *,
    post_id: str,
    tz: tzinfo,
    limit: int = POST_LABEL_CHARS,
    date_format: str = "%-d %b %Y",
) -> str:
    """``"3 Mar 2026 · Start of the Post's text…"``: how a person recognises a Post.

    The date is in ``tz`` (``date_format``); a Post without text falls back to its ID.
    """
    when = f"{created_at.astimezone(tz):{date_format}}" if created_at is not None else ""
    body = short_text(text or "", limit=limit) or f"Post {post_id}"
    return f"{when} · {body}" if when else body


def post_url(post_id: str) -> str:
    """The Post on x.com."""
    return X_POST_URL.format(id=post_id)


__all__ = [
    "POST_LABEL_CHARS",
    "escape_markdown",
    "plotly_text",
    "post_label",
    "post_url",
    "short_text",
]
