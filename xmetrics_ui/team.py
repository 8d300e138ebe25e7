"""Team mode's configuration for the dashboard: the shared state and the shared Demo sandbox.

Names come from the environment first, then from ``.streamlit/secrets.toml`` (top level):
``XMETRICS_STATE_URL`` (Redis; unset: everything stays in this process, as for one user),
``XMETRICS_STATE_KEY`` (the Fernet key every replica shares; required with the URL),
``XMETRICS_STATE_PREFIX`` (key prefix per deployment) and ``XMETRICS_DEMO_SANDBOX_FILE`` (the
shared Demo sandbox's credentials line). See ``xmetrics_core.shared_state``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import streamlit as st

from xmetrics_core.sandbox.remote import DEMO_SANDBOX_FILE_ENV, RemoteSandbox
from xmetrics_core.shared_state import (
    STATE_KEY_ENV,
    STATE_PREFIX_ENV,
    STATE_URL_ENV,
    TeamState,
    team_state,
)

TEAM_SETTINGS: tuple[str, ...] = (
    STATE_URL_ENV,
    STATE_KEY_ENV,
    STATE_PREFIX_ENV,
    DEMO_SANDBOX_FILE_ENV,
)


def team_settings() -> Mapping[str, str]:
    """The team settings: the environment, else ``.streamlit/secrets.toml``'s top level."""
    found: dict[str, str] = {}
    for name in TEAM_SETTINGS:
        value: object = os.environ.get(name, "").strip()
        if not value:
            try:
                value = st.secrets.get(name)
            except (FileNotFoundError, KeyError, ValueError):
                value = None
        if isinstance(value, str) and value.strip():
            found[name] = value.strip()
    return found


_LOCK = threading.Lock()


@cache
def _shared() -> TeamState | None:
    return team_state(team_settings())


def shared_state() -> TeamState | None:
    """This process's team state (None: one process, in-memory state), made once.

    Raises ConfigurationError (no key, a bad URL) or SharedStateUnavailable (Redis silent);
    neither is cached, so a later call tries again.
    """
    with _LOCK:
        return _shared()


def shared_demo_sandbox() -> RemoteSandbox | None:
    """The team's shared Demo sandbox, when ``XMETRICS_DEMO_SANDBOX_FILE`` names one."""
    path = team_settings().get(DEMO_SANDBOX_FILE_ENV)
    return None if path is None else _remote(path)


@cache
def _remote(path: str) -> RemoteSandbox:
    return RemoteSandbox.from_file(Path(path))
