"""Repository-wide pytest setup: the whole-run token-hygiene check (issue 6).

``tests/hostile/hygiene.py`` raises logging to DEBUG for the entire run, records what every test
logs, exports and renders, and at the end searches it all for every secret the sandboxes issued,
failing the run on any hit. It lives at the repository root so that it sees every folder's tests,
not only ``tests/hostile``. ``XMETRICS_NO_TOKEN_HYGIENE=1`` turns it off (e.g. to profile).
"""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("XMETRICS_NO_TOKEN_HYGIENE") == "1":
        return
    from tests.hostile.hygiene import PLUGIN_NAME, TokenHygiene

    if config.pluginmanager.has_plugin(PLUGIN_NAME):
        return
    plugin = TokenHygiene()
    plugin.start()
    config.pluginmanager.register(plugin, PLUGIN_NAME)
