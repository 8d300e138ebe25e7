"""Eight Chromium contexts on eight sandbox accounts, half on replica A and half on replica B,
sharing Redis (sessions, the result cache) and the Demo sandbox: each signs in with its own
OAuth 1.0a keys, pastes the same Posts, and they press Fetch one right after another. Each
sidebar names its own account only, and each CSV holds private metrics for its own Posts only
(checked against the world's ground truth): the shared cache never hands one credential's
results to another."""

from __future__ import annotations

import csv
import io
import os
import re
import time
from contextlib import nullcontext
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, Playwright, expect

from tests.teams.cluster import Cluster
from xmetrics_core.sandbox.accounts import SandboxAccount, app_credentials, sandbox_accounts
from xmetrics_core.sandbox.settings import SandboxSettings
from xmetrics_core.sandbox.world import build_world

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CONTEXTS = 8
TIMEOUT_MS = 90_000  # eight sessions on two replicas on 2 shared cores
PRIVATE = "non_public_metrics.impression_count"


def _click_until_visible(button: Locator, expected: Locator, attempts: int = 3) -> None:
    for attempt in range(attempts):
        button.click()
        try:
            expect(expected).to_be_visible(timeout=20_000)
            return
        except AssertionError:
            if attempt == attempts - 1:
                raise


def _sign_in_with_keys(page: Page, base_url: str, api: str, account: SandboxAccount) -> None:
    app = app_credentials(7)
    page.goto(base_url)
    page.get_by_role("tab", name="OAuth 1.0a").click()
    panel = page.get_by_role("tabpanel", name="OAuth 1.0a")
    panel.get_by_text("Advanced: API base URL").click()
    fields = {
        "API base URL": api,
        "API key (consumer key)": app.consumer_key,
        "API key secret (consumer secret)": app.consumer_secret,
        "Access token": account.access_token,
        "Access token secret": account.access_token_secret,
    }
    for label, value in fields.items():
        field = panel.get_by_role("textbox", name=label, exact=True)
        field.fill(value)
        field.press("Enter")
    _click_until_visible(
        panel.get_by_role("button", name="Connect with these four keys"),
        page.get_by_text(f"Connected as @{account.username}", exact=False).first,
    )


def test_eight_accounts_on_two_replicas_each_see_only_their_own_identity_and_metrics(
    cluster: Cluster, playwright_driver: Playwright
):
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            "Debian's Chromium is not installed at /usr/bin/chromium: the team tests fail, "
            "never skip (apt-get install chromium; make test and .ci/run do)"
        )
    world = build_world(seed=7, now=cluster.demo_now, settings=SandboxSettings())
    hidden = {world.protected_user_id, world.suspended_user_id}
    accounts = [a for a in sandbox_accounts(7, world)[1:] if a.user_id not in hidden][:CONTEXTS]
    assert len(accounts) == CONTEXTS
    ids = [p.id for a in accounts for p in world.posts_by(a.user_id)[:1]]
    api = str(cluster.sandbox_line["base_url"]).rstrip("/")
    replicas = cluster.replicas
    with nullcontext(playwright_driver) as driver:  # the run's one Playwright
        browser = driver.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
            env={**os.environ, "HOME": str(cluster.root)},
        )
        contexts: list[BrowserContext] = []
        try:
            pages: list[Page] = []
            for index, account in enumerate(accounts):
                context = browser.new_context(
                    accept_downloads=True, viewport={"width": 1400, "height": 2000}
                )
                context.set_default_timeout(TIMEOUT_MS)
                contexts.append(context)
                page = context.new_page()
                base = replicas[index % 2].base_url
                _sign_in_with_keys(page, base, api, account)
                page.goto(f"{base}posts")
                box = page.get_by_role("textbox", name="Post IDs or URLs")
                box.fill("\n".join(ids))
                box.press("Control+Enter")
                pages.append(page)
            started = time.perf_counter()
            for page in pages:  # eight sessions on two replicas fetch at once
                page.get_by_role("button", name="Fetch", exact=True).click()
            by_name = {u.username: u for u in world.users}
            for account, page in zip(accounts, pages, strict=True):
                expect(page.get_by_text("Status of every ID")).to_be_visible(timeout=TIMEOUT_MS)
                with page.expect_download() as download:
                    page.get_by_role("button", name="Download metrics (CSV)").click()
                text = Path(download.value.path()).read_text("utf-8-sig")
                sidebar = page.get_by_test_id("stSidebar").inner_text()
                assert f"Account: @{account.username}" in sidebar
                others = [a.username for a in accounts if a.username != account.username]
                assert not any(re.search(rf"@{n}\b", sidebar) for n in others), sidebar
                user = by_name[account.username]
                own = 0
                for row in csv.DictReader(io.StringIO(text)):
                    truth = world.post(row["id"])
                    assert truth is not None
                    mine = truth.author_id == user.id and truth.within_private_window(
                        cluster.demo_now
                    )
                    if mine:
                        own += 1
                        assert int(row[PRIVATE]) == truth.non_public_metrics["impression_count"]
                    else:
                        assert row[PRIVATE] == "", (account.username, row["id"])
                assert own >= 1, account.username
            print(
                f"\nTEAM SESSIONS n={CONTEXTS} fetch_to_last_csv_s={time.perf_counter() - started:.1f}"
            )
        finally:
            for context in contexts:
                context.close()
            browser.close()
