"""Video: the fetched Posts' videos (one per media key), views, quartile retention, drop-off."""

from __future__ import annotations

import streamlit as st

from xmetrics_ui import analytics_view, views
from xmetrics_ui.session import current_client, current_connection
from xmetrics_ui.ui import leave_pages_directory_mode, require_connection


def video_page() -> None:
    """The page body (a function, so it can end early without ``st.stop``)."""
    leave_pages_directory_mode()
    st.title("Video")
    if not require_connection():
        return
    connection, client = current_connection(), current_client()
    assert connection is not None and client is not None

    shown = views.current_result(connection)
    if shown is None:
        st.info("Fetch some Posts on the Posts page first; their videos show up here.")
        st.page_link("pages/posts.py", label="Go to Posts")
        return

    frames = views.result_frames(shown)
    videos = views.videos_of(shown, frames)
    if videos.empty:
        st.info("None of the fetched Posts carries a video.")
        return

    views.videos_section(shown, frames, videos, connection)
    views.quartile_section(shown, frames, videos)
    analytics_view.watch_time_section(connection, client, shown)
    views.remember_form()


video_page()
