"""Pieces every page shows: the sidebar connection panel, error wording, alerts, downloads.

Alerts are plain text: :func:`alert` escapes everything it shows, because error wording
carries text from URLs and API bodies and Streamlit renders alerts as Markdown. Other text
from the API (Post text, names) is shown through ``st.text``/``st.dataframe`` or escaped with
:func:`xmetrics_core.labels.escape_markdown` first.
"""

from __future__ import annotations

import logging
import runpy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, Literal

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from xmetrics_core.connection import groups_label, rate_limit_label
from xmetrics_core.labels import escape_markdown
from xmetrics_core.models import RateLimitState
from xmetrics_ui.messages import explain as explain
from xmetrics_ui.session import (
    browser_id,
    current_client,
    current_connection,
    disconnect,
    flash,
    pop_flash,
)

CONNECT_PAGE = "pages/connect.py"
UNEXPECTED_PROBLEM = (
    "This page hit an unexpected problem and stopped; nothing you fetched is lost. Reload the "
    "page. If it happens again, press Refresh on Posts or reconnect on Connect; the details "
    "are in the server's log."
)
log = logging.getLogger("xmetrics.app")


PAGES: tuple[tuple[str, str], ...] = (
    ("pages/connect.py", "Connect"),
    ("pages/posts.py", "Posts"),
    ("pages/video.py", "Video"),
    ("pages/history.py", "History"),
    ("pages/import.py", "Import"),
)
"""The navigation: every page script (relative to app.py) and its title; the first is the
default."""

_FRAME = threading.local()
APP_SCRIPT = Path(__file__).resolve().parents[1] / "app.py"


def app_pages() -> list[Any]:
    """``st.Page`` for every entry of :data:`PAGES`, for ``st.navigation``."""
    return [st.Page(path, title=title, default=n == 0) for n, (path, title) in enumerate(PAGES)]


@contextmanager
def page_frame() -> Iterator[None]:
    """app.py runs the chosen page inside this: the page then knows the frame ran."""
    _FRAME.depth = getattr(_FRAME, "depth", 0) + 1
    try:
        yield
    finally:
        _FRAME.depth -= 1


def leave_pages_directory_mode() -> None:
    """Make sure this page runs inside app.py's frame, never on its own.

    THE one workaround for a Streamlit behaviour (1.67): because our page scripts live in
    ``pages/``, a server whose first request is a page URL (``/video``) runs in Streamlit's
    legacy pages-folder mode and executes that file alone: no page config, no sidebar, no
    OAuth callback handling. No public setting turns that mode off. So a page that finds
    itself outside :func:`page_frame` runs app.py right here (``runpy``, public Python): app.py
    calls ``st.navigation`` (which ends the legacy mode for the server) and runs this page
    inside its frame, in this same script run, so no widget event is lost; then the outer
    run stops. Inside the frame this is a no-op. ``tests/app/test_pages.py`` fails loudly if
    a Streamlit upgrade drops or changes the legacy mode (then remove this function).
    """
    if getattr(_FRAME, "depth", 0):
        return
    runpy.run_path(str(APP_SCRIPT), run_name="__main__")
    st.stop()


FOCUS_RING_COLOUR = "#0A78B8"
"""The keyboard focus ring (tests/test_contrast.py: 3:1 on every background of both themes)."""
ACCESSIBLE_STYLE = """<style>
/* Chart text in the theme's text colour (4.5:1 on either theme's background: see
   tests/test_contrast.py). Streamlit's chart theme draws axis titles and ticks in a fixed
   grey that reaches only 3.7:1 on white; currentColor follows whichever theme is on show.
   Text on bars and in hover boxes keeps plotly's colour, chosen against its own box. */
[data-testid="stPlotlyChart"] .main-svg text:not(.bartext):not(.hoverlayer text) {
  fill: currentColor !important;
  fill-opacity: 1 !important;
}
/* Keyboard focus always visible: a solid ring in a blue that reaches 3:1 on all four
   backgrounds (light and dark, page and sidebar), outside the element so it never sits
   on a button's own colour. */
:focus-visible {
  outline: 2px solid FOCUS !important;
  outline-offset: 2px !important;
}
</style>""".replace("FOCUS", FOCUS_RING_COLOUR)
"""Page-wide CSS for accessibility, added once per run by :func:`accessible_styles`."""


def accessible_styles() -> None:
    """The page-wide accessibility CSS (app.py adds it on every page; it takes no room)."""
    st.html(ACCESSIBLE_STYLE)


def report_unexpected(exc: Exception) -> None:
    """The last line of defence: log the error for the operator, tell the user what to do."""
    log.error("page failed: %s", type(exc).__name__, exc_info=exc)
    st.error(UNEXPECTED_PROBLEM)


AlertKind = Literal["success", "error", "warning", "info"]


def alert(kind: AlertKind, text: str) -> None:
    """An alert box showing ``text`` as plain text (never Markdown or HTML)."""
    show = {"success": st.success, "error": st.error, "warning": st.warning, "info": st.info}
    show[kind](escape_markdown(text))


def show_error(exc: Exception) -> None:
    """What went wrong and what to do, as a plain-text error box."""
    alert("error", explain(exc))


def show_flash() -> None:
    """Show (once) the messages left by the previous step, e.g. an OAuth callback."""
    for message in pop_flash():
        alert(message.kind, message.text)


def _rate_limit(state: RateLimitState, tz: tzinfo) -> str:
    return rate_limit_label(state, now=datetime.now(UTC), tz=tz)


def page_header(pages: list[StreamlitPage]) -> None:
    """The top of every page: a link per page and who is connected, in one row that fits a
    phone (the sidebar, which holds the details, starts closed there)."""
    connection = current_connection()
    with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
        for page in pages:
            st.page_link(page)
        if connection is None:
            st.caption("Not connected")
        else:
            st.caption(escape_markdown(f"Connected: {connection.account_label}"))
    if browser_id() is None:
        st.caption(
            "Started without server.py, so a reload or a new tab starts disconnected "
            "(run `make run` to keep the connection)."
        )


def render_connection_panel(*, tz: tzinfo = UTC) -> None:
    """The sidebar on every page: account, auth, unlocked groups, rate limit (its reset in
    ``tz``), Disconnect."""
    connection = current_connection()
    client = current_client()
    with st.sidebar:
        st.header("Connection")
        if connection is None:
            st.caption("Not connected.")
            st.page_link(CONNECT_PAGE, label="Connect an account")
            return
        st.text(f"Account: {connection.account_label}")
        st.text(f"Auth: {connection.auth_label}")
        st.text(f"Metric groups: {groups_label(connection.unlocked_groups)}")
        if not connection.credential.is_user_context:
            st.caption("Public metrics only: a Bearer token is app-only.")
        if client is not None:  # X limits each endpoint on its own: a line per endpoint used
            for state in client.rate_limits or (client.rate_limit,):
                st.text(_rate_limit(state, tz))
        if not connection.endpoints.is_x:
            st.text(f"API: {connection.endpoints.api_base_url} (local sandbox)")
        if st.button("Disconnect", key="xm_disconnect", width="stretch"):
            flash("info", disconnect())
            st.rerun()


def require_connection() -> bool:
    """On a page that needs a connection: True, or a pointer to the Connect page."""
    if current_connection() is not None:
        return True
    st.info("Connect an account first (the Demo account works without any keys).")
    st.page_link(CONNECT_PAGE, label="Go to Connect")
    return False


OFFERED_DOWNLOADS_KEY = "xm_offered_downloads"
"""Session state: download button key → the bytes it offers (the same objects, not copies), so
what a page offers can be read back, e.g. by tests through AppTest's public session state."""


def offer_download(label: str, data: bytes, *, file_name: str, mime: str, key: str) -> None:
    """A download button that does not rerun the page; its bytes are noted in
    :data:`OFFERED_DOWNLOADS_KEY`."""
    offered = st.session_state.setdefault(OFFERED_DOWNLOADS_KEY, {})
    offered[key] = data
    st.download_button(label, data=data, file_name=file_name, mime=mime, key=key, on_click="ignore")


def download_csv(label: str, data: bytes, *, file_name: str, key: str) -> None:
    """A CSV download button that does not rerun the page."""
    offer_download(label, data, file_name=file_name, mime="text/csv", key=key)
