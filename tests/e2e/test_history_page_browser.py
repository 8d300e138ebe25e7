"""In a real browser: the Demo account's History page is alive on first open (its store was
filled from the sandbox's past), draws its charts and downloads a chart's CSV."""

from __future__ import annotations

import csv
import io
import os
from datetime import datetime
from pathlib import Path

import pytest
from browser_helpers import SCREENSHOTS, AppServer, RecordedPage
from playwright.sync_api import expect

from xmetrics_core.sandbox.settings import SandboxSettings
from xmetrics_core.sandbox.world import build_world

pytestmark = pytest.mark.browser

UPDATE_SCREENSHOTS_ENV = "XMETRICS_UPDATE_SCREENSHOTS"
"""Set to 1 to rewrite docs/screenshots/history.png (the README's) from this run."""


def test_the_demos_history_page_draws_its_charts_and_downloads_the_growth_csv(
    app_server: AppServer, app_page: RecordedPage, artifacts: Path
):
    world = build_world(seed=7, now=app_server.demo_now, settings=SandboxSettings())
    page = app_page.page
    page.goto(app_server.base_url)
    page.get_by_role("button", name="Connect the Demo account").click()
    page.wait_for_url("**/i/oauth2/authorize?**")
    page.get_by_role("button", name="Authorize app").click()
    expect(page.get_by_text("Connected as @", exact=False).first).to_be_visible()

    page.get_by_role("link", name="History", exact=True).click()
    expect(page.get_by_role("heading", name="History", exact=True)).to_be_visible()
    # the first open waits a few seconds for the Demo's prefill, then reloads itself
    expect(page.get_by_text("Growth since posting").first).to_be_visible(timeout=90_000)
    expect(page.get_by_text("Best time to post").first).to_be_visible()
    # the page streams its sections: wait for the fourth chart (growth, ages, normal, best
    # time) rather than counting while the later ones are still being drawn
    expect(page.locator(".js-plotly-plot").nth(3)).to_be_visible()
    page.locator(".js-plotly-plot .xtick text").first.wait_for()
    page.screenshot(path=str(artifacts / "history.png"), full_page=True)
    if os.environ.get(UPDATE_SCREENSHOTS_ENV) == "1":  # the README's
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(SCREENSHOTS / "history.png"),
            clip={"x": 0, "y": 0, "width": 1400, "height": 1500},
            animations="disabled",
        )

    with page.expect_download() as download:
        page.get_by_role("button", name="Download chart data (CSV)").first.click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    assert len(rows) > 20
    demo_ids = {p.id for p in world.demo_posts}
    assert {row["post_id"] for row in rows} <= demo_ids
    for row in rows[:: max(1, len(rows) // 10)]:
        at = datetime.fromisoformat(row["fetched_at"])
        truth = world.metrics_at(row["post_id"], at)
        assert truth is not None
        group = {"total": "non_public_metrics", "organic": "organic_metrics"}.get(row["context"])
        if group is not None:
            assert int(row["value"]) == truth[group]["impression_count"]
    assert not app_page.foreign_requests()
