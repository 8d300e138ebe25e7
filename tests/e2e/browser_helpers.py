"""Browser-test helpers: Chromium (via Playwright) against the dashboard's server on loopback
(``streamlit run server.py``, as ``make run`` starts it; ``entry="app.py"`` for the plain
script without the browser-session middleware).

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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.error import URLError
from urllib.parse import urlsplit
from urllib.request import urlopen

from playwright.sync_api import Locator, expect

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
if TYPE_CHECKING:
    from playwright.sync_api import Page

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class AppServer:
    """A running ``streamlit run server.py`` (or ``app.py``)."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    home: Path
    config_dir: Path
    demo_now: datetime
    """The time the embedded Demo sandbox built its world around."""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_healthy(server: AppServer, *, deadline_seconds: float = 60) -> None:
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


__all__ = ["ARTIFACTS", "CHROMIUM", "CHROMIUM_ARGS", "SCREENSHOTS", "AppServer", "RecordedPage"]


def start_app_server(root: Path, *, entry: str = "server.py") -> AppServer:
    """Start ``streamlit run <entry>`` (bounded by ``timeout``) and wait until it is healthy."""
    home, config_dir = root / "home", root / "config"
    home.mkdir()
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("X_") and key != "XMETRICS_CONFIG_DIR"
    }
    demo_now = datetime.now(UTC).replace(microsecond=0)
    env.update(
        HOME=str(home),
        XMETRICS_CONFIG_DIR=str(config_dir),
        XMETRICS_DEMO_NOW=demo_now.isoformat(),
        PYTHONUNBUFFERED="1",
    )
    log_path = root / "streamlit.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                shutil.which("timeout") or "timeout",
                "-s",
                "TERM",
                str(SERVER_LIFETIME_SECONDS),
                str(Path(sys.executable).with_name("streamlit")),
                "run",
                entry,
                "--server.headless=true",
                "--server.address=127.0.0.1",
                f"--server.port={port}",
                "--browser.gatherUsageStats=false",
                "--server.fileWatcherType=none",
                "--server.runOnSave=false",
                "--logger.level=debug",
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
    except BaseException:
        stop_app_server(server)
        raise
    return server


def stop_app_server(server: AppServer) -> None:
    """Stop the server's whole process group (TERM, then KILL after 10 s)."""
    process = server.process
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def click_until_visible(
    button: Locator, expected: Locator, *, attempts: int = 3, wait_ms: int = 15_000
) -> None:
    """Click ``button`` until ``expected`` shows (at most ``attempts`` clicks).

    On a loaded 2-core machine a click that lands while the previous widget's rerun is still
    drawing can be swallowed by the page (seen once in CI); every button this is used for is
    safe to press twice.
    """
    for attempt in range(attempts):
        button.click()
        try:
            expect(expected).to_be_visible(timeout=wait_ms)
            return
        except AssertionError:
            if attempt == attempts - 1:
                raise
