"""Browser helpers of the hostile suite: our own ``streamlit run`` and Chromium on a thread.

tests/e2e keeps a session-wide Playwright (sync API) open on the main thread, and the sync API
refuses to start a second one on the same thread. The hostile browser tests therefore run each
scenario with its own Playwright on a dedicated thread (:func:`run_in_browser`), against their
own app server (:func:`start_app_server`), which logs at DEBUG so that its log can be searched
for secrets afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from browser_helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO,
    SERVER_LIFETIME_SECONDS,
    AppServer,
    free_port,
    wait_healthy,
)

T = TypeVar("T")
BROWSER_SCENARIO_TIMEOUT = 180


def start_app_server(root: Path) -> AppServer:
    """Start ``streamlit run app.py`` (bounded by ``timeout``) and wait until it is healthy."""
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
                "app.py",
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
