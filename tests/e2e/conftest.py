"""Browser-test fixtures: the app server, Debian's Chromium, a recorded page.

Every test here skips, saying why, when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from browser_helpers import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO,
    SERVER_LIFETIME_SECONDS,
    AppServer,
    RecordedPage,
    free_port,
    wait_healthy,
)
from playwright.sync_api import Browser, Playwright, expect, sync_playwright

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
    root = tmp_path_factory.mktemp("streamlit")
    home, config_dir = root / "home", root / "config"
    home.mkdir()
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("X_") and key not in ("XMETRICS_CONFIG_DIR",)
    }
    demo_now = datetime.now(UTC).replace(microsecond=0)
    env.update(
        HOME=str(home),
        XMETRICS_CONFIG_DIR=str(config_dir),
        XMETRICS_DEMO_NOW=demo_now.isoformat(),
        PYTHONUNBUFFERED="1",
    )
    streamlit = Path(sys.executable).with_name("streamlit")
    log_path = root / "streamlit.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                shutil.which("timeout") or "timeout",
                "-s",
                "TERM",
                str(SERVER_LIFETIME_SECONDS),
                str(streamlit),
                "run",
                "app.py",
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
                "--server.runOnSave",
                "false",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = AppServer(
        base_url=f"http://127.0.0.1:{port}/",
        process=process,
        log_path=log_path,
        home=home,
        config_dir=config_dir,
        demo_now=demo_now,
    )
    try:
        wait_healthy(server)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


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
    page.on("request", lambda request: recorded.requested.append(request.url))
    try:
        yield recorded
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots of every browser test go here (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
