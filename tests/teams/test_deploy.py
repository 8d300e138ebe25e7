"""deploy/run-team.sh as a team would run it: two replicas, the shared Demo sandbox and
Debian's nginx on loopback, on this machine's Redis and PostgreSQL. Through nginx: a browser
sticks to one replica, the WebSocket upgrades, and when its replica is killed mid-session the
browser carries on from the other one without signing in again."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

import pytest
import requests
from cryptography.fernet import Fernet
from playwright.sync_api import Playwright, expect

from tests.store.conftest import postgres_admin, require_postgres, schema_url
from tests.teams.cluster import REPO, drop_team_resources
from tests.teams.conftest import REDIS_URL, require_redis

NGINX = Path("/usr/sbin/nginx")
CHROMIUM = "/usr/bin/chromium"
TIMEOUT = 20
CONNECTED = re.compile(r"Account: @\w+")


@dataclass
class Deployment:
    port: int
    replicas: list[int]
    process: subprocess.Popen[bytes]
    run_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def log(self) -> str:
        texts = [
            f"== {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in self.run_dir.glob("*.log")
        ]
        return "\n".join(texts)


def _free_block(count: int) -> int:
    """A base port with ``count`` consecutive free loopback ports from it."""
    for _ in range(50):
        base = random.randint(20_000, 40_000)
        try:
            for port in range(base, base + count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no free block of ports")


def _healthy(url: str) -> bool:
    try:
        with urlopen(f"{url}_stcore/health", timeout=2) as answer:
            return bool(answer.read() == b"ok")
    except (URLError, OSError):
        return False


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    if not NGINX.exists():
        pytest.fail(
            "Debian's nginx is not installed (/usr/sbin/nginx): apt-get install nginx "
            "(`make test` and .ci/run install it); the team tests never skip.",
            pytrace=False,
        )
    require_redis()
    require_postgres()
    schema = f"xm_deploy_{uuid.uuid4().hex[:10]}"
    admin = postgres_admin()
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    prefix = f"xmtest-{uuid.uuid4().hex[:12]}"
    run_dir = tmp_path_factory.mktemp("deploy") / "run"
    port = _free_block(3)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("X_", "XMETRICS_", "STREAMLIT_"))
    }
    env.update(
        XMETRICS_STATE_URL=REDIS_URL,
        XMETRICS_STATE_KEY=Fernet.generate_key().decode(),
        XMETRICS_STATE_PREFIX=prefix,
        XMETRICS_DATABASE_URL=schema_url(schema),
        XMETRICS_DEMO_DATABASE_URL=schema_url(schema),
        XMETRICS_CONFIG_DIR=str(run_dir.parent / "config"),
        HOME=str(run_dir.parent),
        PYTHON=str(Path(os.sys.executable)),
        PYTHONUNBUFFERED="1",
    )
    log = (run_dir.parent / "run-team.log").open("wb")
    process = subprocess.Popen(
        [
            shutil.which("timeout") or "timeout",
            "-s",
            "TERM",
            "300",
            "deploy/run-team.sh",
            "--replicas",
            "2",
            "--port",
            str(port),
            "--demo",
            "--run-dir",
            str(run_dir),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deployed = Deployment(
        port=port, replicas=[port + 1, port + 2], process=process, run_dir=run_dir
    )
    try:
        deadline = time.monotonic() + 120
        urls = [deployed.url, *[f"http://127.0.0.1:{p}/" for p in deployed.replicas]]
        while not all(_healthy(u) for u in urls):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"run-team.sh did not come up:\n{deployed.log()}")
            time.sleep(0.5)
        yield deployed
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()
        drop_team_resources(redis_url=REDIS_URL, prefix=prefix, admin=admin, schema=schema)


def _replica_of(answer: requests.Response) -> str:
    return answer.headers["X-Xmetrics-Replica"]


def test_each_browser_sticks_to_one_replica_and_browsers_spread_over_both(
    deployment: Deployment,
):
    seen: set[str] = set()
    for _ in range(16):
        browser = requests.Session()
        browser.get(deployment.url, timeout=TIMEOUT)  # the first load sets the cookie
        answers = {_replica_of(browser.get(deployment.url, timeout=TIMEOUT)) for _ in range(4)}
        assert len(answers) == 1, answers
        seen |= answers
    assert seen == {f"127.0.0.1:{p}" for p in deployment.replicas}


def test_the_websocket_upgrades_through_nginx(deployment: Deployment):
    with socket.create_connection(("127.0.0.1", deployment.port), timeout=TIMEOUT) as stream:
        stream.sendall(
            (
                "GET /_stcore/stream HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{deployment.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: streamlit\r\n"
                f"Origin: http://127.0.0.1:{deployment.port}\r\n\r\n"
            ).encode()
        )
        status = stream.recv(4096).split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 101"), status


def _demo_post_ids(deployment: Deployment) -> list[str]:
    """Two of the Demo user's Posts, asked of the shared sandbox with its app's Bearer token."""
    line = json.loads((deployment.run_dir / "demo-sandbox.json").read_text().splitlines()[0])
    answer = requests.get(
        f"{line['base_url'].rstrip('/')}/2/users/{line['demo_user_id']}/tweets",
        params={"max_results": 5},
        headers={"Authorization": f"Bearer {line['bearer_token']}"},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200, answer.text[:300]
    return [post["id"] for post in answer.json()["data"][:2]]


def _pid_of_replica(port: int) -> int:
    """The streamlit process serving ``port`` (started by this test's run-team.sh)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"--server.port={port}".encode() in command and any(b"streamlit" in c for c in command):
            return int(entry.name)
    raise LookupError(port)


def test_killing_the_replica_a_browser_uses_leaves_it_connected_on_the_other(
    deployment: Deployment, playwright_driver: Playwright
):
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            "Debian's Chromium is not installed at /usr/bin/chromium: the team tests fail, "
            "never skip (apt-get install chromium; make test and .ci/run do)"
        )
    with nullcontext(playwright_driver) as driver:  # the run's one Playwright
        browser = driver.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
            env={**os.environ, "HOME": str(deployment.run_dir.parent)},
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1600})
        context.set_default_timeout(45_000)
        try:
            page = context.new_page()
            page.goto(deployment.url)
            page.get_by_role("button", name="Connect the Demo account").click()
            page.wait_for_url("**/i/oauth2/authorize?**")
            page.get_by_role("button", name="Authorize app").click()
            page.wait_for_url(f"{deployment.url}**")
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar.get_by_text(CONNECTED)).to_be_visible(timeout=45_000)

            page.goto(f"{deployment.url}posts")
            box = page.get_by_role("textbox", name="Post IDs or URLs")
            box.fill("\n".join(_demo_post_ids(deployment)))
            box.press("Control+Enter")
            page.get_by_role("button", name="Fetch", exact=True).click()
            expect(page.get_by_text("Status of every ID")).to_be_visible(timeout=45_000)

            answer = page.reload()
            assert answer is not None
            pinned = answer.headers["x-xmetrics-replica"]
            expect(sidebar.get_by_text(CONNECTED)).to_be_visible(timeout=45_000)
            os.kill(_pid_of_replica(int(pinned.rsplit(":", 1)[1])), signal.SIGKILL)

            # nginx sends the same browser to the other replica: still connected, same results
            answer = page.reload()
            assert answer is not None and answer.status == 200
            assert answer.headers["x-xmetrics-replica"] != pinned
            expect(sidebar.get_by_text(CONNECTED)).to_be_visible(timeout=45_000)
            expect(sidebar.get_by_text("Not connected.")).to_have_count(0)
            expect(page.get_by_text("Status of every ID")).to_be_visible(timeout=45_000)
            expect(page.get_by_text("expired from the cache")).to_have_count(0)
        finally:
            context.close()
            browser.close()
