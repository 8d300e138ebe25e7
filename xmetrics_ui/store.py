"""The dashboard's history stores: one per process, the user's and the Demo account's."""

from __future__ import annotations

import os

import streamlit as st

from xmetrics_core.store import Store, StoreError, database_url_from_env, open_store
from xmetrics_ui.ui import alert


@st.cache_resource(show_spinner=False)
def _open(url: str) -> Store:
    return open_store(url)


def dashboard_store(*, demo: bool) -> Store | None:
    """The history store (the Demo account's own with ``demo=True``), opened once per
    process; None, with a message shown, when it cannot be opened (``StoreError``): the
    page carries on without history."""
    url = database_url_from_env(os.environ, demo=demo)
    try:
        return _open(url)
    except StoreError as problem:
        alert("warning", f"The history store is not available, so nothing is kept: {problem}")
        return None
