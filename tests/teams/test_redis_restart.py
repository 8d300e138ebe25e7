"""Redis restarted mid-session, on a Redis of this test's own (the machine's is shared): the
page says so in words (no traceback), the history in PostgreSQL keeps every read, and when
Redis is back the browser is asked to reconnect (nothing persisted) or carries on."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from cryptography.fernet import Fernet
from playwright.sync_api import Page, Playwright, expect

from tests.store.conftest import postgres_admin, require_postgres, schema_url
from tests.teams.cluster import Cluster, free_port, start_cluster
from xmetrics_core.sandbox.settings import SandboxSettings
from xmetrics_core.sandbox.world import build_world

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CONNECTED = re.compile(r"Account: @\w+")
NOT_ANSWERING = "The team's shared state (Redis) is not answering"


class OwnRedis:
    """``redis-server`` on a free loopback port, no persistence, bounded by ``timeout``."""

    def __init__(self, root: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(
                "redis-server is not installed (apt-get install redis-server)", pytrace=False
            )
        self.binary = binary
        self.port = free_port()
        self.root = root
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("timeout") or "timeout",
                "-s",
                "TERM",
                "300",
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            self.process.wait(timeout=10)
        # wait until the port is closed
        with socket.socket() as probe:
            probe.settimeout(1)
            assert probe.connect_ex(("127.0.0.1", self.port)) != 0


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lone_cluster(
    own_redis: OwnRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Cluster, str]]:
    require_postgres()
    schema = f"xm_restart_{uuid.uuid4().hex[:10]}"
    admin = postgres_admin()
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    running = start_cluster(
        tmp_path_factory.mktemp("restart"),
        replicas=1,
        state_url=own_redis.url,
        state_key=Fernet.generate_key().decode(),
        state_prefix="xmetrics",
        database_url=schema_url(schema),
    )
    try:
        yield running, schema_url(schema)
    finally:
        running.stop()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def _dashboard_reads(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(
                connection.exec_driver_sql(
                    "SELECT count(*) FROM fetches WHERE source = 'dashboard'"
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _no_traceback(page: Page) -> None:
    expect(page.get_by_text("Traceback")).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_a_redis_restart_mid_session_is_said_in_words_and_loses_no_history(
    own_redis: OwnRedis, lone_cluster: tuple[Cluster, str], playwright_driver: Playwright
):
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            "Debian's Chromium is not installed at /usr/bin/chromium: the team tests fail, "
            "never skip (apt-get install chromium; make test and .ci/run do)"
        )
    cluster, database_url = lone_cluster
    (replica,) = cluster.replicas
    world = build_world(seed=7, now=cluster.demo_now, settings=SandboxSettings())
    with nullcontext(playwright_driver) as driver:  # the run's one Playwright
        browser = driver.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
            env={**os.environ, "HOME": str(cluster.root)},
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1600})
        context.set_default_timeout(45_000)
        expect.set_options(timeout=45_000)
        try:
            page = context.new_page()
            page.goto(replica.base_url)
            page.get_by_role("button", name="Connect the Demo account").click()
            page.wait_for_url("**/i/oauth2/authorize?**")
            page.get_by_role("button", name="Authorize app").click()
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar.get_by_text(CONNECTED)).to_be_visible()
            page.goto(f"{replica.base_url}posts")
            box = page.get_by_role("textbox", name="Post IDs or URLs")
            box.fill("\n".join(p.id for p in world.demo_posts[:2]))
            box.press("Control+Enter")
            page.get_by_role("button", name="Fetch", exact=True).click()
            expect(page.get_by_text("Status of every ID")).to_be_visible()
            deadline = time.monotonic() + 30
            while (saved := _dashboard_reads(database_url)) == 0 and time.monotonic() < deadline:
                time.sleep(0.5)
            assert saved >= 1

            own_redis.stop()
            page.reload()
            expect(page.get_by_text(NOT_ANSWERING).first).to_be_visible()
            _no_traceback(page)

            own_redis.start()  # empty: nothing was persisted
            page.reload()
            expect(page.get_by_text(NOT_ANSWERING)).to_have_count(0)
            expect(sidebar.get_by_text("Not connected.")).to_be_visible()  # asked to reconnect
            _no_traceback(page)
            assert _dashboard_reads(database_url) == saved
        finally:
            context.close()
            browser.close()
