"""History: how the Posts this account has read grew, against its normal, the best time to
post and video retention over time, from the history store (every Fetch is kept)."""

from __future__ import annotations

import streamlit as st

from xmetrics_ui import history_views
from xmetrics_ui.session import current_connection
from xmetrics_ui.store import dashboard_store, is_demo, show_store_problem
from xmetrics_ui.ui import leave_pages_directory_mode, require_connection


def history_page() -> None:
    """The page body (a function, so it can end early without ``st.stop``)."""
    leave_pages_directory_mode()
    st.title("History")
    if not require_connection():
        return
    connection = current_connection()
    assert connection is not None
    demo = is_demo(connection)
    store = dashboard_store(demo=demo)
    if store is None:
        show_store_problem(demo=demo)
        return
    if demo and not history_views.demo_ready(store):
        return
    history_views.history_body(connection, store)


history_page()
