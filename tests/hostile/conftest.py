"""Fixtures of the hostile-world suite (issue 6): the dashboard in AppTest, and helpers.

The AppTests here drive ``app.py`` in-process against the app's own Demo-account sandbox
(``xmetrics_ui.session.demo_sandbox``) or against sandboxes with hostile settings reached through the
Connect page's "API base URL". They reuse ``tests/app/apptest_helpers.py`` (put on ``sys.path``
here, exactly as ``tests/app`` itself does) and mirror that folder's per-test isolation:
no ``X_*`` variables, a private config dir, an empty result cache and no leftover faults.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
for helpers in (HERE.parent / "app", HERE.parent / "e2e"):
    if str(helpers) not in sys.path:
        sys.path.insert(0, str(helpers))

from apptest_helpers import LOCAL_APP_URL, isolate_dashboard  # noqa: E402
from browser_runner import start_app_server, stop_app_server  # noqa: E402

from xmetrics_ui.session import demo_sandbox, result_cache  # noqa: E402


@pytest.fixture(scope="session")
def demo() -> Any:
    """The Demo account's sandbox, shared with the app under test."""
    running = demo_sandbox()
    running.register_redirect_uri(LOCAL_APP_URL)
    return running


@pytest.fixture
def dashboard(demo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Isolation for one AppTest test; yields the remember-me config dir."""
    config_dir = isolate_dashboard(demo, tmp_path, monkeypatch)
    yield config_dir
    demo.faults.clear()
    result_cache().clear()


# -- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def hostile_app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``streamlit run app.py`` on a free loopback port, with a temporary HOME and config."""
    from browser_helpers import CHROMIUM

    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium")
    server = start_app_server(tmp_path_factory.mktemp("hostile-streamlit"))
    try:
        yield server
    finally:
        stop_app_server(server)
