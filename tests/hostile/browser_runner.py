"""Browser helpers of the hostile suite: our own ``streamlit run`` and Chromium on a thread.

tests/e2e keeps a session-wide Playwright (sync API) open on the main thread, and the sync API
refuses to start a second one on the same thread. The hostile browser tests therefore run each
scenario with its own Playwright on a dedicated thread (:func:`run_in_browser`), against their
own app server (``browser_helpers.start_app_server``, shared with tests/e2e), which logs at DEBUG
so that its log can be searched for secrets afterwards.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from browser_helpers import CHROMIUM, CHROMIUM_ARGS, start_app_server, stop_app_server

__all__ = ["run_in_browser", "start_app_server", "stop_app_server"]

T = TypeVar("T")
BROWSER_SCENARIO_TIMEOUT = 300
EXPECT_TIMEOUT_MS = 30_000
"""As tests/e2e: generous, the machine's 2 cores are shared (Playwright's default is 5 s)."""


def _generous_expectations() -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)


_generous_expectations()


def run_in_browser(scenario: Callable[[Any], T], *, home: Path) -> T:
    """Run ``scenario(browser)`` with Debian's Chromium on a thread with its own Playwright."""
    from playwright.sync_api import sync_playwright

    outcome: dict[str, Any] = {}

    def drive() -> None:
        try:
            with sync_playwright() as driver:
                browser = driver.chromium.launch(
                    executable_path=str(CHROMIUM),
                    headless=True,
                    args=CHROMIUM_ARGS,
                    env={**os.environ, "HOME": str(home)},
                )
                try:
                    outcome["value"] = scenario(browser)
                finally:
                    browser.close()
        except BaseException as exc:  # re-raised on the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=drive, name="hostile-browser", daemon=True)
    thread.start()
    thread.join(timeout=BROWSER_SCENARIO_TIMEOUT)
    if thread.is_alive():
        raise TimeoutError(f"the browser scenario took more than {BROWSER_SCENARIO_TIMEOUT} s")
    if "error" in outcome:
        raise outcome["error"]
    return cast(T, outcome["value"])
