"""Browser tests: Debian's Chromium (via Playwright) against ``streamlit run app.py`` on loopback.

The server runs in its own process group with ``HOME`` and ``XMETRICS_CONFIG_DIR`` in a
temporary folder, bounded by ``timeout``, and is killed at teardown. Every request the
browser makes is recorded so tests can assert that nothing left 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlsplit
from urllib.request import urlopen

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = REPO / "docs" / "screenshots"
SERVER_LIFETIME_SECONDS = 300
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})

if not CHROMIUM.exists():
    pytest.skip(
        "Debian's Chromium is not installed at /usr/bin/chromium "
        "(apt-get install chromium; `make test` and .ci/run install it)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page, Playwright, sync_playwright  # noqa: E402


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class AppServer:
    """A running ``streamlit run app.py``."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    home: Path
    config_dir: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait_healthy(server: AppServer, *, deadline_seconds: float = 60) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{server.log()}")
        try:
            with urlopen(f"{server.base_url}_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return
        except (URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"streamlit did not become healthy:\n{server.log()}")


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """``streamlit run app.py`` on a free loopback port, for the whole browser session."""
    root = tmp_path_factory.mktemp("streamlit")
    home, config_dir = root / "home", root / "config"
    home.mkdir()
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("X_") and key not in ("XMETRICS_CONFIG_DIR",)
    }
    env.update(HOME=str(home), XMETRICS_CONFIG_DIR=str(config_dir), PYTHONUNBUFFERED="1")
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
    )
    try:
        _wait_healthy(server)
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


@dataclass
class RecordedPage:
    """A browser tab and every URL it requested."""

    page: Page
    requested: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        """Requests to anything but loopback (data: and blob: URLs never leave the page)."""
        return [
            url
            for url in self.requested
            if urlsplit(url).scheme not in ("data", "blob")
            and urlsplit(url).hostname not in LOCAL_HOSTS
        ]


@pytest.fixture
def app_page(chromium_browser: Browser) -> Iterator[RecordedPage]:
    """A fresh browser context (no cookies, no storage) with a tall viewport."""
    context = chromium_browser.new_context(
        accept_downloads=True, viewport={"width": 1400, "height": 2200}
    )
    context.set_default_timeout(20_000)
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
