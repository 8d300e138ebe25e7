"""AppTest fixtures: the dashboard driven in-process against the embedded sandbox.

The sandbox is the app's own Demo-account sandbox (``xmetrics_ui.session.demo_sandbox`` is a
``st.cache_resource``, so the test and the app share it). OAuth consent pages are answered
over real HTTP, exactly as a browser would submit the form (see ``apptest_helpers``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apptest_helpers import LOCAL_APP_URL, isolate_dashboard

from xmetrics_ui.session import demo_sandbox


@pytest.fixture(scope="session")
def sandbox() -> Any:
    """The Demo account's sandbox, shared with the app under test."""
    running = demo_sandbox()
    running.register_redirect_uri(LOCAL_APP_URL)
    return running


@pytest.fixture
def real_error_handling() -> None:
    """Ask for this to keep app.py's last line of defence (see the next fixture)."""


@pytest.fixture(autouse=True)
def unexpected_errors_fail_tests(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """app.py turns an unexpected exception into a message; in tests it must surface."""
    if "real_error_handling" in request.fixturenames:
        return

    def reraise(exc: Exception) -> None:
        raise exc

    monkeypatch.setattr("xmetrics_ui.ui.report_unexpected", reraise)


@pytest.fixture(autouse=True)
def clean_state(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test: no configured credentials, a private config dir, empty caches and logs."""
    config_dir = isolate_dashboard(sandbox, tmp_path, monkeypatch)
    yield config_dir
    sandbox.faults.clear()
