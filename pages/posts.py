"""Posts: paste IDs or URLs (or pick recent Posts), fetch, and see every metric."""

from __future__ import annotations

import streamlit as st

from xmetrics_core.catalogue import PRIVATE_METRICS_WINDOW_DAYS
from xmetrics_ui import analytics_view, views
from xmetrics_ui.session import current_client, current_connection
from xmetrics_ui.ui import leave_pages_directory_mode, require_connection


def posts_page() -> None:
    """The page body (a function, so it can end early without ``st.stop``)."""
    leave_pages_directory_mode()
    st.title("Posts")
    if not require_connection():
        return
    connection, client = current_connection(), current_client()
    assert connection is not None and client is not None

    with st.container(border=True):
        st.text_area(
            "Post IDs or URLs",
            key=views.POSTS_TEXT_KEY,
            height=110,
            placeholder="1861234567890123456\nhttps://x.com/someone/status/1861234567890123457",
            help="One or more Post IDs or x.com / twitter.com Post URLs, separated by spaces, "
            "commas or new lines. Ctrl+Enter (or clicking away) updates the count below.",
        )
        views.paste_summary()
        views.recent_posts_picker(connection, client)
        groups = views.group_checkboxes(connection)
        with st.container(horizontal=True):
            fetch = st.button("Fetch", key="xm_fetch", type="primary")
            refresh = st.button("Refresh", key="xm_refresh")
    views.remember_form()

    if fetch or refresh:
        views.run_fetch(connection, client, groups=groups, refresh=refresh)

    shown = views.current_result(connection)
    if shown is None:
        st.caption(
            f"Private metric groups are served only for your own Posts of the last "
            f"{PRIVATE_METRICS_WINDOW_DAYS} days; other Posts show public metrics."
        )
        return

    frames = views.result_frames(shown)
    views.results_header(shown, groups=groups)
    views.summary_cards(frames)
    views.statuses_section(shown, frames)
    views.metrics_table_section(shown, frames)
    views.split_chart_section(shown, frames)
    views.engagement_rate_section(shown, frames)
    analytics_view.hourly_analytics_section(connection, client, shown)
    views.zip_section(shown, frames)


posts_page()
