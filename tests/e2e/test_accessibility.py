"""Accessibility in Chromium (issue 15): axe-core on every page, in the light and the dark
theme, on a desktop and a 390-px phone, and the sandbox's sign-in pages.

Each of the four (theme, width) runs walks what a user does: Connect, the Demo account's
consent page, Connect again once connected, Posts with results, then every other page of the
navigation (Video, and any page added since: they are read from ``xmetrics_ui.ui.PAGES``).
On each page axe-core must find no critical or serious violation (nor any moderate or minor
one not accepted in ``axe_helpers.ACCEPTED``), and every text the charts draw must reach
4.5:1 against the page (axe-core does not audit SVG text).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_helpers import failing, low_contrast_chart_texts, run_axe
from browser_helpers import AppServer, click_until_visible
from playwright.sync_api import Browser, Page, expect

from xmetrics_core.sandbox import pages as sandbox_pages
from xmetrics_core.sandbox.settings import SandboxSettings
from xmetrics_core.sandbox.world import World, build_world
from xmetrics_ui.ui import PAGES

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWS = {"desktop": DESKTOP, "phone": PHONE}
THEMES = ("light", "dark")

_SETTLED = """() => {
    if (document.querySelector('[data-testid=stStatusWidget] [data-testid=stStatusWidgetRunningIcon]'))
        return false;
    if (document.querySelector('[data-stale=true]')) return false;
    const charts = document.querySelectorAll('[data-testid=stPlotlyChart]').length;
    return document.querySelectorAll('.js-plotly-plot .main-svg').length >= charts;
}"""


def settle(page: Page) -> None:
    """Wait until Streamlit has finished the run and drawn every chart (an audit during a
    run would see faded, stale elements)."""
    page.wait_for_function(_SETTLED, timeout=30_000)
    page.wait_for_timeout(400)
    page.wait_for_function(_SETTLED, timeout=30_000)


@pytest.fixture(scope="module")
def world(app_server: AppServer) -> World:
    return build_world(seed=7, now=app_server.demo_now, settings=SandboxSettings())


@pytest.fixture
def themed(chromium_browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    theme, view = request.param
    phone = view == "phone"
    context = chromium_browser.new_context(
        viewport=VIEWS[view],
        color_scheme=theme,
        is_mobile=phone,
        has_touch=phone,
        device_scale_factor=2 if phone else 1,
        accept_downloads=True,
    )
    context.set_default_timeout(30_000)
    try:
        yield context.new_page()
    finally:
        context.close()


class Audit:
    """Problems found on every page of one walk, reported together at the end."""

    def __init__(self, page: Page, artifacts: Path, name: str) -> None:
        self.page, self.artifacts, self.name = page, artifacts, name
        self.problems: list[str] = []
        self.audited: list[str] = []

    def check(self, where: str) -> None:
        self.audited.append(where)
        for violation in failing(run_axe(self.page)):
            self.problems.append(f"{where}: {violation}")
        for text, ratio in low_contrast_chart_texts(self.page):
            self.problems.append(f"{where}: chart text {text!r} at {ratio}:1 (needs 4.5:1)")
        slug = where.lower().replace(" ", "_").replace(",", "")
        self.page.screenshot(path=str(self.artifacts / f"a11y_{self.name}_{slug}.png"))


def _recent_posts(world: World, app_server: AppServer) -> list[str]:
    now = app_server.demo_now
    recent = [p for p in world.demo_posts if p.within_private_window(now)]
    with_video = [
        p.id
        for p in recent
        if any((m := world.media_item(k)) is not None and m.type == "video" for k in p.media_keys)
    ]
    promoted = [p.id for p in recent if p.promoted and p.id not in with_video]
    return [*with_video[:2], *promoted[:2]]


@pytest.mark.parametrize(
    "themed",
    [(theme, view) for theme in THEMES for view in VIEWS],
    ids=[f"{theme}-{view}" for theme in THEMES for view in VIEWS],
    indirect=True,
)
def test_every_page_has_no_serious_or_critical_axe_violation(
    themed: Page,
    app_server: AppServer,
    world: World,
    artifacts: Path,
    request: pytest.FixtureRequest,
):
    page = themed
    audit = Audit(page, artifacts, request.node.callspec.id)
    page.goto(app_server.base_url)
    expect(page.get_by_role("button", name="Connect the Demo account")).to_be_visible()
    settle(page)
    audit.check("Connect")

    page.get_by_role("button", name="Connect the Demo account").click()
    page.wait_for_url("**/i/oauth2/authorize?**")
    expect(page.get_by_role("button", name="Authorize app")).to_be_visible()
    audit.check("consent page")
    page.get_by_role("button", name="Authorize app").click()
    expect(page.get_by_text("Connected as @", exact=False).first).to_be_visible()
    settle(page)
    audit.check("Connect, connected")

    page.get_by_role("link", name="Posts", exact=True).click()
    box = page.get_by_role("textbox", name="Post IDs or URLs")
    box.fill("\n".join(_recent_posts(world, app_server)))
    box.press("Control+Enter")
    click_until_visible(
        page.get_by_role("button", name="Fetch", exact=True),
        page.get_by_role("heading", name="Engagement rate"),
    )
    page.mouse.move(0, 0)  # no hover colours: the audit sees the page at rest
    settle(page)
    audit.check("Posts with results")

    for _, title in PAGES:
        if title in ("Connect", "Posts"):
            continue
        page.get_by_role("link", name=title, exact=True).click()
        expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
        settle(page)
        audit.check(title)

    assert "Video" in audit.audited
    assert not audit.problems, "\n".join(audit.problems)


SIGN_IN_PAGES = {
    "oauth1 authorize": sandbox_pages.oauth1_authorize(
        action="/oauth/authorize", fields={"oauth_token": "t"}, users=(), default_user_id=""
    ),
    "oauth1 pin": sandbox_pages.oauth1_pin("1234567"),
    "error": sandbox_pages.error_page("Sign-in refused", "The request token has expired."),
}


def test_the_sandboxs_other_sign_in_pages_are_clean_in_both_themes_and_widths(
    chromium_browser: Browser,
):
    """The OAuth 2.0 consent page is audited live above; the OAuth 1.0a pages and the error
    page are the same HTML the sandbox serves, loaded as they are."""
    problems = []
    for theme in THEMES:
        for view, size in VIEWS.items():
            context = chromium_browser.new_context(viewport=size, color_scheme=theme)
            try:
                page = context.new_page()
                for name, html in SIGN_IN_PAGES.items():
                    page.set_content(html)
                    problems += [f"{theme} {view} {name}: {v}" for v in failing(run_axe(page))]
            finally:
                context.close()
    assert not problems, "\n".join(problems)
