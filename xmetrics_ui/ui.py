"""Pieces every page shows: the sidebar connection panel, error wording, alerts, downloads.

Alerts are plain text: :func:`alert` escapes everything it shows, because error wording
carries text from URLs and API bodies and Streamlit renders alerts as Markdown. Other text
from the API (Post text, names) is shown through ``st.text``/``st.dataframe`` or escaped with
:func:`xmetrics_core.labels.escape_markdown` first.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, tzinfo
from typing import Literal

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from xmetrics_core.connection import groups_label, rate_limit_label
from xmetrics_core.errors import (
    ApiConnectionError,
    ApiTimeout,
    AuthFlowError,
    Forbidden,
    InvalidRequest,
    PaymentRequired,
    RateLimited,
    ServerError,
    Unauthorized,
    XApiError,
)
from xmetrics_core.labels import escape_markdown
from xmetrics_core.models import RateLimitState
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


def explain(exc: Exception) -> str:
    """What went wrong and what to do, in words (never a traceback, never a token)."""
    if isinstance(exc, RateLimited):
        when = f"until {exc.reset_at.astimezone(UTC):%H:%M} UTC" if exc.reset_at else "for a while"
        return f"Rate limited {when}; results so far are kept. Try again after that."
    if isinstance(exc, Unauthorized):
        return (
            "X did not accept the credential (401: wrong, expired or revoked). "
            "Check the keys or sign in again on the Connect page."
        )
    if isinstance(exc, Forbidden):
        return (
            f"X refused this request for this credential (403): {exc.message}. "
            "Use a user-context sign-in (OAuth 1.0a or OAuth 2.0) or check the app's access level."
        )
    if isinstance(exc, PaymentRequired):
        return (
            "The X API account has no credits left (402). Add credits in the developer "
            "portal, then fetch again."
        )
    if isinstance(exc, ServerError):
        return "X had a server error; nothing is lost. Try again in a minute."
    if isinstance(exc, ApiTimeout):
        return "X did not answer in time. Check your network and try again."
    if isinstance(exc, ApiConnectionError):
        return "Could not reach the API. Check the API base URL and your network, then try again."
    if isinstance(exc, AuthFlowError):
        message = exc.message.rstrip(".")
        if "again" in message:
            return f"Sign-in failed: {message}."
        return f"Sign-in failed: {message}. Start again from the Connect page."
    if isinstance(exc, InvalidRequest):
        return f"X rejected the request: {exc.message}. Check the input and try again."
    if isinstance(exc, XApiError):
        return f"The request failed: {exc.message}. Try again, or reconnect."
    return f"{exc}"


def leave_pages_directory_mode() -> None:
    """Make sure this page runs inside app.py's ``st.navigation``, never on its own.

    Our page files live in ``pages/``, which Streamlit also knows from its older
    pages-directory mode: on a server's very first run, before app.py has called
    ``st.navigation`` once, a URL such as ``/video`` would run this file alone (no page
    config, no sidebar, no OAuth callback handling). Page files call this first: it turns
    that mode off for good and reruns, and app.py then runs as the frame. Afterwards it is
    a no-op.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


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
        st.subheader("Connection")
        if connection is None:
            st.caption("Not connected.")
            st.page_link(CONNECT_PAGE, label="Connect an account")
            return
        st.text(f"Account: {connection.account_label}")
        st.text(f"Auth: {connection.auth_label}")
        st.text(f"Metric groups: {groups_label(connection.unlocked_groups)}")
        if not connection.credential.is_user_context:
            st.caption("Public metrics only: a Bearer token is app-only.")
        if client is not None:
            st.text(_rate_limit(client.rate_limit, tz))
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


def download_csv(label: str, data: bytes, *, file_name: str, key: str) -> None:
    """A CSV download button that does not rerun the page."""
    st.download_button(
        label,
        data=data,
        file_name=file_name,
        mime="text/csv",
        key=key,
        on_click="ignore",
    )
