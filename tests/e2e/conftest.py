"""Browser-test fixtures: the app server, Debian's Chromium, a recorded page.

Every test here skips, saying why, when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    AppServer,
    RecordedPage,
    start_app_server,
    stop_app_server,
)
from playwright.sync_api import Browser, Playwright, expect

EXPECT_TIMEOUT_MS = 30_000
"""Generous: the first chart of a page load parses plotly.js, slow on 2 busy cores."""
expect.set_options(timeout=EXPECT_TIMEOUT_MS)

NO_CHROMIUM = (
    "Debian's Chromium is not installed at /usr/bin/chromium "
    "(apt-get install chromium; `make test` and .ci/run install it)"
)


@pytest.fixture(scope="session", autouse=True)
def chromium_present() -> None:
    """Browser tests skip, saying why, only when Chromium is absent."""
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """``streamlit run app.py`` on a free loopback port, for the whole browser session."""
    server = start_app_server(tmp_path_factory.mktemp("streamlit"))
    try:
        yield server
    finally:
        stop_app_server(server)


@pytest.fixture(scope="session")
def chromium_browser(playwright_driver: Playwright, app_server: AppServer) -> Iterator[Browser]:
    """Debian's Chromium, never a downloaded one; HOME points at the server's temp home."""
    browser = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        env={**os.environ, "HOME": str(app_server.home)},
    )
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def app_page(chromium_browser: Browser) -> Iterator[RecordedPage]:
    """A fresh browser context (no cookies, no storage) with a tall viewport."""
    context = chromium_browser.new_context(
        accept_downloads=True, viewport={"width": 1400, "height": 2200}
    )
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    page = context.new_page()
    recorded = RecordedPage(page=page)
    context.on("request", lambda request: recorded.requested.append(request.url))  # every tab
    try:
        yield recorded
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots of every browser test go here (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
