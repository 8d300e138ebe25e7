"""The dashboard by keyboard alone (issue 15): connect the Demo account, paste Post IDs, fetch,
open a chart's data, download a CSV and disconnect, pressing only Tab, Shift+Tab, Enter,
Space and the arrows (and typing the IDs), with the focus visible at every stop.

No mouse click and no Playwright ``click``/``fill``/``focus`` is used: every step moves the
focus with Tab or Shift+Tab to the element the user wants and presses Enter or Space.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import AppServer
from playwright.sync_api import Browser, Locator, Page, expect

from xmetrics_core.sandbox.settings import SandboxSettings
from xmetrics_core.sandbox.world import World, build_world

pytestmark = pytest.mark.browser

MAX_TAB_STOPS = 400
"""Bound on the Tab presses that reach one target. Streamlit's tables take one Tab per cell
(the focus walks the cells, then leaves the table), so a wide table costs many stops."""

RING_SETTLE_CHECKS = 20
"""Re-checks, 100 ms apart, of a focus whose ring does not show yet (2 s at most)."""

_FOCUS = """() => {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement)
        return {visible: false, what: 'nothing (body)'};
    if (el.matches('[data-testid=stDataFrame] td, [data-testid=stDataFrame] th'))
        // Streamlit's table (glide-data-grid) moves the focus to an off-screen cell of its
        // accessible copy and draws the focused cell's ring on its canvas
        return {visible: true, what: 'a table cell (ring drawn by the grid)'};
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    const ring = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
    const label = (el.getAttribute('aria-label') || el.innerText || el.value || '')
        .trim().slice(0, 50);
    return {
        visible: ring && box.width > 0 && box.height > 0 && style.visibility !== 'hidden',
        what: `${el.tagName.toLowerCase()} "${label}" outline=${style.outlineStyle} ` +
              `${style.outlineWidth} ${style.outlineColor} box=${Math.round(box.width)}x` +
              `${Math.round(box.height)}`,
    };
}"""


@pytest.fixture(scope="module")
def world(app_server: AppServer) -> World:
    return build_world(seed=7, now=app_server.demo_now, settings=SandboxSettings())


@pytest.fixture
def keyboard_page(chromium_browser: Browser) -> Iterator[Page]:
    context = chromium_browser.new_context(
        accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(30_000)
    try:
        yield context.new_page()
    finally:
        context.close()


class Walker:
    """Moves the focus with Tab / Shift+Tab only, checking at every stop that it shows."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.stops = 0
        self.invisible: list[str] = []

    def _focused(self, target: Locator) -> bool:
        focused: bool = target.evaluate(
            "el => el === document.activeElement || el.contains(document.activeElement)"
        )
        return focused

    def _settled_focus(self) -> dict[str, Any]:
        """The focused element and whether its ring shows, given a moment to show: the page
        CSS that draws the ring (``xmetrics_ui.ui.ACCESSIBLE_STYLE``) is part of each run, so
        a Tab pressed while a rerun is redrawing the page (just after Disconnect) can land
        before it is back. A ring that never shows still fails."""
        focus: dict[str, Any] = self.page.evaluate(_FOCUS)
        for _ in range(RING_SETTLE_CHECKS):
            if focus["visible"] or focus["what"] == "nothing (body)":
                break
            self.page.wait_for_timeout(100)
            focus = self.page.evaluate(_FOCUS)
        return focus

    def to(self, target: Locator, *, backwards: bool = False) -> None:
        """Press Tab (Shift+Tab) until ``target`` (or something inside it) has the focus."""
        expect(target).to_be_attached()
        key = "Shift+Tab" if backwards else "Tab"
        seen: list[str] = []
        for _ in range(MAX_TAB_STOPS):
            self.page.keyboard.press(key)
            self.stops += 1
            focus = self._settled_focus()
            seen.append(str(focus["what"]))
            if not focus["visible"] and focus["what"] != "nothing (body)":
                self.invisible.append(str(focus["what"]))
            if self._focused(target):
                assert focus["visible"], f"focus on the target is not visible: {focus['what']}"
                return
        raise AssertionError(f"{key} never reached {target}; stops: {seen}")


def test_connect_fetch_open_chart_data_download_and_disconnect_by_keyboard_alone(
    keyboard_page: Page, app_server: AppServer, world: World
):
    page = keyboard_page
    walk = Walker(page)
    page.goto(app_server.base_url)
    demo = page.get_by_role("button", name="Connect the Demo account")
    expect(demo).to_be_visible()

    walk.to(demo)
    page.keyboard.press("Enter")
    page.wait_for_url("**/i/oauth2/authorize?**")
    authorize = page.get_by_role("button", name="Authorize app")
    walk.to(page.get_by_label("Sign in as"))  # the account picker: arrows would change it
    walk.to(authorize)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Connected as @", exact=False).first).to_be_visible()

    posts_link = page.get_by_role("link", name="Posts", exact=True)
    walk.to(posts_link)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Posts", exact=True)).to_be_visible()

    now = app_server.demo_now
    recent = [p.id for p in world.demo_posts if p.within_private_window(now)][:3]
    box = page.get_by_role("textbox", name="Post IDs or URLs")
    walk.to(box)
    page.keyboard.insert_text("\n".join(recent))  # what a paste puts in the box
    walk.to(page.get_by_role("button", name="Fetch", exact=True))  # Tab commits the box
    expect(page.get_by_text(f"{len(recent)} Post IDs")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Organic vs promoted")).to_be_visible()
    expect(page.get_by_role("heading", name="Engagement rate")).to_be_visible()

    chart_data = page.locator("summary").filter(has_text="Chart data as a table").first
    walk.to(chart_data)
    page.keyboard.press("Enter")
    expander = page.get_by_test_id("stExpander").filter(has_text="Chart data as a table").first
    expect(expander.get_by_test_id("stDataFrame")).to_be_visible()

    download = page.get_by_role("button", name="Download chart data (CSV)").first
    walk.to(download)
    with page.expect_download() as got:
        page.keyboard.press("Space")
    rows = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text("utf-8-sig"))))
    assert got.value.suggested_filename == "organic_vs_promoted.csv"
    assert rows and {"metric", "context", "value"} <= set(rows[0])

    disconnect = page.get_by_role("button", name="Disconnect")
    walk.to(disconnect, backwards=True)  # the sidebar comes before the page
    page.keyboard.press("Enter")
    expect(page.get_by_text("Not connected.", exact=True)).to_be_visible()

    assert not walk.invisible, "focus not visible at: " + "; ".join(walk.invisible)
    assert walk.stops < 3 * MAX_TAB_STOPS
