"""xmetrics: the dashboard's frame (``make run`` serves it through ``server.py``).

Every run: page config; this Streamlit session agrees with the browser's server-side
session (its connection; on the session's first run also its form, last query and time
zone); an OAuth callback that reached the script (plain ``streamlit run app.py``: behind
``server.py`` the server finishes them) is finished and removed from the URL *before*
navigation runs; configured credentials from ``st.secrets``/the environment are noted for
the Connect page; the page links and the chosen page run; then the sidebar shows the
connection (after the page, so its rate limit includes the requests the page just made)
and the time zone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import streamlit as st

from xmetrics_core.connection import ConfiguredCredential, configured_credential
from xmetrics_core.errors import InputError
from xmetrics_core.shared_state import SharedStateUnavailable
from xmetrics_ui.analytics_view import usage_panel
from xmetrics_ui.callbacks import handle_oauth_callback
from xmetrics_ui.session import (
    CONFIGURED_KEY,
    current_connection,
    keep_widget_values,
    sync_browser_session,
)
from xmetrics_ui.ui import (
    accessible_styles,
    alert,
    app_pages,
    page_frame,
    page_header,
    render_connection_panel,
    report_unexpected,
    show_flash,
)
from xmetrics_ui.views import (
    PERSISTENT_WIDGET_KEYS,
    current_tz,
    restore_from_browser,
    timezone_picker,
)


def _secrets_section() -> Mapping[str, Any]:
    """The ``[x]`` table of ``.streamlit/secrets.toml``; empty when there is none."""
    try:
        section = st.secrets.get("x", {})
    except (FileNotFoundError, KeyError, ValueError):
        return {}
    return dict(section) if isinstance(section, Mapping) else {}


def _configured() -> ConfiguredCredential | None:
    try:
        return configured_credential(secrets=_secrets_section(), environ=os.environ)
    except InputError as exc:  # a half-filled OAuth 1.0a set, a bad API base URL: say which
        st.sidebar.warning(f"Configured credentials ignored: {exc}")
        return None


st.set_page_config(page_title="xmetrics", layout="wide", initial_sidebar_state="auto")
accessible_styles()
shared_state_problem: SharedStateUnavailable | None = None
try:  # team mode: the browser's session lives in Redis, which may be away for a moment
    sync_browser_session()
    restore_from_browser()
except SharedStateUnavailable as exc:  # this tab goes on with what it holds
    shared_state_problem = exc

callback_params = {key: st.query_params[key] for key in st.query_params}
if handle_oauth_callback(callback_params):
    st.query_params.clear()

st.session_state[CONFIGURED_KEY] = _configured()
keep_widget_values(PERSISTENT_WIDGET_KEYS)

pages = app_pages()
# The page links live in page_header, at the top of the page: in the sidebar a phone would
# keep the sidebar open over the page after every navigation.
navigation = st.navigation(pages, position="hidden")
page_header(pages)
try:
    show_flash()
except SharedStateUnavailable as exc:
    shared_state_problem = exc
if shared_state_problem is not None:
    alert("warning", str(shared_state_problem))
try:
    with page_frame():
        navigation.run()
except SharedStateUnavailable as exc:  # said once above, or now
    if shared_state_problem is None:
        shared_state_problem = exc
        alert("warning", str(exc))
except Exception as exc:  # never a traceback on the page (Streamlit's reruns are not Exceptions)
    report_unexpected(exc)
render_connection_panel(tz=current_tz())  # after the page: its rate limit includes its requests
with st.sidebar:
    if (connection := current_connection()) is not None:
        usage_panel(connection)
    try:
        timezone_picker()  # remembers the choice in the browser's session
    except SharedStateUnavailable as exc:
        if shared_state_problem is None:
            st.warning(str(exc))
