"""Chromium against two replicas: the Demo sign-in started on replica A, its callback sent
to replica B on purpose (as a load balancer may), the session and the last results then seen
on both (same cookie, shared Redis). Skips, saying why, only when Chromium is absent."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import nullcontext
from urllib.parse import urlsplit, urlunsplit

import pytest
from playwright.sync_api import Browser, Page, Playwright, Route, expect

from tests.teams.cluster import Cluster
from xmetrics_core.sandbox.settings import SandboxSettings
from xmetrics_core.sandbox.world import build_world

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
CONNECTED = re.compile(r"Account: @\w+")
TIMEOUT_MS = 45_000


@pytest.fixture(scope="module")
def browser(cluster: Cluster, playwright_driver: Playwright) -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            "Debian's Chromium is not installed at /usr/bin/chromium: the team tests fail, "
            "never skip (apt-get install chromium; make test and .ci/run do)"
        )
    with nullcontext(playwright_driver) as driver:  # the run's one Playwright
        launched = driver.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            env={**os.environ, "HOME": str(cluster.root)},
        )
        try:
            yield launched
        finally:
            launched.close()


def _sidebar_says_connected(page: Page) -> None:
    expect(page.get_by_test_id("stSidebar").get_by_text(CONNECTED)).to_be_visible()


def test_a_sign_in_started_on_a_finishes_on_b_and_both_share_session_and_results(
    cluster: Cluster, browser: Browser
):
    a, b = cluster.replicas
    world = build_world(seed=7, now=cluster.demo_now, settings=SandboxSettings())
    context = browser.new_context(viewport={"width": 1400, "height": 2000})
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page = context.new_page()
    sent_to_b: list[str] = []

    def to_replica_b(route: Route) -> None:
        """The consent page's answer sends the browser back to A; send it to B instead."""
        answer = route.fetch(max_redirects=0)
        location = answer.headers.get("location", "")
        parts = urlsplit(location)
        if parts.port == a.port:
            location = urlunsplit(parts._replace(netloc=f"127.0.0.1:{b.port}"))
            sent_to_b.append(location)
        route.fulfill(response=answer, headers={**answer.headers, "location": location})

    try:
        sandbox = str(cluster.sandbox_line["base_url"]).rstrip("/")
        context.route(f"{sandbox}/i/oauth2/authorize", to_replica_b)
        page.goto(a.base_url)
        page.get_by_role("button", name="Connect the Demo account").click()
        page.wait_for_url("**/i/oauth2/authorize?**")
        page.get_by_role("button", name="Authorize app").click()
        page.wait_for_url(f"http://127.0.0.1:{b.port}/**")
        _sidebar_says_connected(page)  # finished by B
        assert sent_to_b and "code=" in sent_to_b[0]
        assert "code=" not in page.url

        # the session B made is A's too (same cookie, shared state); fetch there
        page.goto(f"{a.base_url}posts")
        _sidebar_says_connected(page)
        ids = [p.id for p in world.demo_posts[:2]]
        box = page.get_by_role("textbox", name="Post IDs or URLs")
        box.fill("\n".join(ids))
        box.press("Control+Enter")
        page.get_by_role("button", name="Fetch", exact=True).click()
        expect(page.get_by_text("Status of every ID")).to_be_visible()

        # B shows the same results from the shared cache (a miss would say "expired")
        page.goto(f"{b.base_url}posts")
        _sidebar_says_connected(page)
        expect(page.get_by_text("Status of every ID")).to_be_visible()
        expect(page.get_by_text("expired from the cache")).to_have_count(0)
        expect(page.get_by_role("textbox", name="Post IDs or URLs")).to_have_value("\n".join(ids))
    finally:
        context.close()
