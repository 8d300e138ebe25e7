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
"""

from __future__ import annotations

import streamlit as st
from starlette.middleware import Middleware

from xmetrics_core.browser_session import BrowserCookieMiddleware
from xmetrics_ui.callbacks import finish_for_browser

app = st.App(
    "app.py",
    middleware=[Middleware(BrowserCookieMiddleware, on_callback=finish_for_browser)],
)
