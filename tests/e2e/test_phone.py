"""A phone: the dashboard walked in Chromium at 390 × 844 (a touch screen, 2× pixels), in
the light theme and then the dark one, with a reload in the middle of the session.

The page links are at the top of every page, the sidebar stays closed after navigating,
who is connected shows without opening it, a reload keeps the connection and the results,
and nothing leaves 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import AppServer, RecordedPage, click_until_visible
from playwright.sync_api import Browser, Page, expect

from xmetrics_core.sandbox.settings import SandboxSettings
from xmetrics_core.sandbox.world import World, build_world

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(chromium_browser: Browser) -> Iterator[RecordedPage]:
    """A fresh phone-sized touch browser (no cookies), every request recorded."""
    context = chromium_browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    recorded = RecordedPage(page=page)
    context.on("request", lambda request: recorded.requested.append(request.url))
    try:
        yield recorded
    finally:
        context.close()


@pytest.fixture(scope="module")
def world(app_server: AppServer) -> World:
    return build_world(seed=7, now=app_server.demo_now, settings=SandboxSettings())


def _sidebar_closed(page: Page) -> None:
    expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")


def _in_view(page: Page, text: str) -> None:
    """``text`` is on screen, not beyond its right edge."""
    box = page.get_by_text(text, exact=False).first.bounding_box()
    assert box is not None, text
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, (text, box)


def test_a_phone_walk_in_light_and_dark_with_a_reload(
    app_server: AppServer, phone: RecordedPage, world: World, artifacts: Path
):
    page = phone.page
    page.goto(app_server.base_url)
    expect(page.get_by_role("button", name="Connect the Demo account")).to_be_visible()
    _sidebar_closed(page)
    page.get_by_role("button", name="Connect the Demo account").click()
    page.wait_for_url("**/i/oauth2/authorize?**")
    page.get_by_role("button", name="Authorize app").click()
    expect(page.get_by_text("Connected as @", exact=False).first).to_be_visible()
    _in_view(page, "Connected: @")  # who is connected, without opening the sidebar
    page.screenshot(path=str(artifacts / "phone_connected.png"))

    page.get_by_role("link", name="Posts", exact=True).click()
    expect(page.get_by_role("heading", name="Posts", exact=True)).to_be_visible()
    _sidebar_closed(page)  # navigating never leaves a sidebar over the page

    now = app_server.demo_now
    recent = [p.id for p in world.demo_posts if p.within_private_window(now)][:4]
    box = page.get_by_role("textbox", name="Post IDs or URLs")
    box.fill("\n".join([*recent, recent[0], "not-a-post"]))
    box.press("Control+Enter")
    expect(
        page.get_by_text("4 Post IDs · 1 repeated (fetched once) · 1 not a Post")
    ).to_be_visible()
    click_until_visible(
        page.get_by_role("button", name="Fetch", exact=True),
        page.get_by_text("Status of every ID"),
    )
    page.get_by_text("Organic vs promoted").first.scroll_into_view_if_needed()
    page.locator(".js-plotly-plot .main-svg").first.wait_for()
    page.screenshot(path=str(artifacts / "phone_posts.png"))

    page.reload()  # mid-session: still connected, the same results
    expect(page.get_by_text("Connected: @", exact=False)).to_be_visible()
    expect(page.get_by_text("Status of every ID")).to_be_visible()
    _sidebar_closed(page)

    page.emulate_media(color_scheme="dark")
    expect(page.get_by_test_id("stApp")).to_have_css("color-scheme", "dark")
    page.locator(".js-plotly-plot .main-svg").first.wait_for()
    page.get_by_text("Engagement rate").first.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "phone_posts_dark.png"))

    page.get_by_role("link", name="Video", exact=True).click()
    expect(page.get_by_role("heading", name="Video", exact=True)).to_be_visible()
    expect(page.get_by_text("Quartile retention and drop-off")).to_be_visible()
    page.get_by_text("Quartile retention and drop-off").scroll_into_view_if_needed()
    page.locator(".js-plotly-plot .main-svg").first.wait_for()
    _sidebar_closed(page)
    page.screenshot(path=str(artifacts / "phone_video_dark.png"))
    assert phone.foreign_requests() == [], phone.foreign_requests()
