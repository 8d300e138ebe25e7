"""The dashboard's server: ``make run`` (``streamlit run server.py``) starts this.

``app.py`` is the Streamlit script (the frame and its pages); this file wraps it in
Streamlit's ASGI app (``st.App``) with one middleware, :class:`BrowserCookieMiddleware`:

* every browser gets a random id in an HttpOnly, SameSite=Lax cookie (``xmetrics_browser``)
  on its first page load, which the script reads from ``st.context.cookies``; the browser's
  connection, last results and form live on the server under it, so a reload, a new tab or
  a direct link keeps them (``xmetrics_core.browser_session``);
* an OAuth callback (X sending the browser back from its consent page to any of the
  dashboard's pages) is finished here, for the browser that started the sign-in only, and
  answered with a 303 to the same page without the query, so the callback URL is never kept
  in the browser's history (``xmetrics_ui.callbacks.finish_for_browser``).

Plain ``streamlit run app.py`` still runs the dashboard, without these (see README).

Team mode (``XMETRICS_STATE_URL``, README "Running for a team") is checked here, before the
server listens: without a usable ``XMETRICS_STATE_KEY``, or with Redis unreachable, the
server exits with the reason instead of starting with tokens kept in clear or nowhere.
"""

from __future__ import annotations

import logging
import sys

import streamlit as st
from starlette.middleware import Middleware

from xmetrics_core.browser_session import BrowserCookieMiddleware
from xmetrics_core.errors import InputError
from xmetrics_core.shared_state import SharedStateUnavailable
from xmetrics_ui.callbacks import finish_for_browser
from xmetrics_ui.team import shared_demo_sandbox, shared_state

try:
    shared_state()
    shared_demo_sandbox()
except InputError as exc:
    sys.stderr.write(f"xmetrics cannot start in team mode: {exc}\n")
    raise SystemExit(2) from None

log = logging.getLogger("xmetrics.server")


def finish_callback_here(params: dict[str, str], browser: str) -> None:
    """Finish an OAuth callback; with the team's Redis away the sign-in cannot be finished
    (it lives there): the browser goes on to the page, which says so."""
    try:
        finish_for_browser(params, browser)
    except SharedStateUnavailable:
        log.warning("OAuth callback not finished: the shared state is unavailable")


app = st.App(
    "app.py",
    middleware=[Middleware(BrowserCookieMiddleware, on_callback=finish_callback_here)],
)
