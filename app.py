"""xmetrics: the dashboard's frame. Run with ``streamlit run app.py``.

Every run: page config; an OAuth callback in the URL (on whatever page it lands) is
finished and removed from the URL *before* navigation runs; configured credentials from
``st.secrets``/the environment are noted for the Connect page; the chosen page runs; then
the sidebar shows the connection (after the page, so its rate limit includes the requests
the page just made).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import streamlit as st

from xmetrics_core.connection import ConfiguredCredential, configured_credential
from xmetrics_core.errors import InputError
from xmetrics_ui.session import CONFIGURED_KEY, handle_oauth_callback, keep_widget_values
from xmetrics_ui.ui import (
    app_pages,
    page_frame,
    render_connection_panel,
    report_unexpected,
    show_flash,
)
from xmetrics_ui.views import PERSISTENT_WIDGET_KEYS


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


st.set_page_config(page_title="xmetrics", layout="wide")

callback_params = {key: st.query_params[key] for key in st.query_params}
if handle_oauth_callback(callback_params):
    st.query_params.clear()

st.session_state[CONFIGURED_KEY] = _configured()
keep_widget_values(PERSISTENT_WIDGET_KEYS)

navigation = st.navigation(app_pages())
show_flash()
try:
    with page_frame():
        navigation.run()
except Exception as exc:  # never a traceback on the page (Streamlit's reruns are not Exceptions)
    report_unexpected(exc)
render_connection_panel()  # after the page, so the rate limit includes this run's requests
