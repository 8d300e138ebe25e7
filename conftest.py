"""Repository-wide pytest setup: the whole-run token-hygiene check (issue 6).

``tests/hostile/hygiene.py`` raises logging to DEBUG for the entire run, records what every test
logs, exports and renders, and at the end searches it all for every secret the sandboxes issued,
failing the run on any hit. It lives at the repository root so that it sees every folder's tests,
not only ``tests/hostile``. ``XMETRICS_NO_TOKEN_HYGIENE=1`` turns it off (e.g. to profile).

It also points ``XDG_DATA_HOME`` at a fresh temporary directory for the run, so the embedded
history stores (``history.db``, ``demo-history.db``) of tests never touch the user's own.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # The history store's embedded default lives under $XDG_DATA_HOME/xmetrics: give the run
    # (and every dashboard or CLI subprocess it starts) its own, so no test ever reads or writes
    # the user's real history or Demo history.
    data_home = tempfile.mkdtemp(prefix="xmetrics-test-data-")
    os.environ["XDG_DATA_HOME"] = data_home
    config.add_cleanup(lambda: shutil.rmtree(data_home, ignore_errors=True))
    if os.environ.get("XMETRICS_NO_TOKEN_HYGIENE") == "1":
        return
    from tests.hostile.hygiene import PLUGIN_NAME, TokenHygiene

    if config.pluginmanager.has_plugin(PLUGIN_NAME):
        return
    plugin = TokenHygiene()
    plugin.start()
    config.pluginmanager.register(plugin, PLUGIN_NAME)
