"""Import: X's own analytics exports (CSV), read here, no X connection and no API credits."""

from __future__ import annotations

import streamlit as st

from xmetrics_ui import import_views as iv
from xmetrics_ui.ui import leave_pages_directory_mode


def import_page() -> None:
    """The page body (a function, so it can end early without ``st.stop``)."""
    leave_pages_directory_mode()
    st.title("Import")
    st.caption(
        "Drop the CSV files X lets you download from its Analytics pages: each file's "
        "format is recognised from its header. Works without connecting an account."
    )
    files = iv.uploader_and_demo()
    if files is None:
        return
    iv.what_was_found(files)
    if files.per_post:
        frames = iv.post_frames(files)
        iv.post_cards(files, frames)
        iv.metrics_table(files)
        iv.split_section(files, frames)
        iv.rate_section(files, frames)
        iv.best_time_section(files, frames)
    if files.per_day:
        iv.days_section(files)
    if files.imports:
        iv.zip_section(files)


import_page()
